#!/bin/bash
# run.sh: tp-track at scale.  Generates a study of N trials with EVALS
# evaluations each (bench/track/gen.c), ingests it, and times the study
# table cold (index built from every object), warm (index only), the
# 10,000-row trial table in each format, curves and check.  Results:
# bench/track.md.  Not a test (timings vary by machine).  Needs GNU time
# (/usr/bin/time) and bc.
#
#   bash bench/track/run.sh [BUILD] [N] [EVALS]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
n=${2:-10000}
evals=${3:-100}
case $build in /*) ;; *) build=$top/$build ;; esac
work=${TMPDIR:-/tmp}/tp-bench-track.$$
mkdir -p "$work/runs"
trap 'rm -rf "$work"' EXIT

make -C "$top" --no-print-directory BUILD="$build" "$build/bin/tp-track" >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -I"$top/include" -o "$work/gen" \
	"$top/bench/track/gen.c" "$build/libtp.a" \
	$(pkg-config --libs openblas msgpack libzstd libarchive zlib) -lpthread -lm
T=$build/bin/tp-track
export TP_TRACK=$work/store

t() { # label command...: wall and CPU (user + sys) seconds of one run
	local f=$work/time
	/usr/bin/time -o "$f" -f "%e %U %S %M" "${@:2}" >/dev/null || true
	read -r wall user sys rss <"$f"
	printf '%-52s %6.2f s wall %6.2f s cpu %7d KiB\n' "$1" "$wall" \
		"$(echo "$user + $sys" | bc)" "$rss"
}

echo "$n trials x $evals evals, $(nproc) cores, $(uname -sr)," \
	"load $(cut -d' ' -f1 /proc/loadavg), fs $(stat -f -c %T "$work")"
t "generate" "$work/gen" "$work/runs" "$n" "$evals" 1
echo "input: $(du -sh "$work/runs" | cut -f1) in $n files"
"$T" init
t "ingest (one process, fsync per object)" \
	bash -c "ls -d $work/runs/*.tpr | xargs $T ingest -q"
t "ingest again (idempotent, nothing new)" \
	bash -c "ls -d $work/runs/*.tpr | xargs $T ingest -q"
rm -f "$TP_TRACK/index.tpr"
t "study table, cold (parse $n objects, write index)" "$T" table
echo "store: $(du -sh "$TP_TRACK" | cut -f1), index $(wc -c <"$TP_TRACK/index.tpr") bytes"
for i in 1 2 3; do t "study table, warm ($i)" "$T" table; done
t "trial table --study (text, $n rows)" "$T" table --study bench
t "trial table --study -f tsv" "$T" table --study bench -f tsv
t "trial table --study -f jsonl" "$T" table --study bench -f jsonl
t "trial table --study -n 10 -m accuracy" "$T" table --study bench -n 10 -m accuracy
t "compare" "$T" compare
t "curves --study (best 3, sparklines)" "$T" curves --study bench
t "curves --study -o svg" "$T" curves --study bench -o "$work/c.svg"
t "axis --study -p lr -o svg" "$T" axis --study bench -p lr -o "$work/a.svg"
t "export (result records)" "$T" export --study bench
t "check (all checks, reads every object)" bash -c "$T check --study bench || true"
