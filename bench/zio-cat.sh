#!/bin/bash
# zio-cat.sh: does the record layer (lib/zio.c + lib/record.c) keep up with
# `zstd -dc`?  Times, interleaved, best of REPS: `zstd -dc FILE`, `tp-cat -c
# FILE` (decompress + find and decode every record) and `tp-cat -m FILE`
# (the same plus a byte-for-byte copy to stdout), on a COUNT x 784 dataset
# from `tp-data synth --kind mnist`.  Wall and CPU (user + sys) seconds.
# Results: bench/zio.md.  Not a test.
#
#   bash bench/zio-cat.sh [BUILD] [COUNT] [REPS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
count=${2:-200000}
reps=${3:-5}
case $build in /*) ;; *) build=$top/$build ;; esac
work=${TMPDIR:-/tmp}/tp-bench-zio.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
make -C "$top" --no-print-directory BUILD="$build" "$build/bin/tp-data" \
	"$build/bin/tp-cat" >/dev/null
f=$work/m.zst
"$build/bin/tp-data" synth --kind mnist -n "$count" -s 1 -o "$f"
echo "file: $count x 784, $(wc -c <"$f") bytes, $(nproc) cores," \
	"load $(cut -d' ' -f1 /proc/loadavg)"
. "$top/bench/timing.sh"
zstd -dc "$f" >/dev/null
for ((i = 0; i < reps; i++)); do
	run zstd zstd -dc "$f"
	run count "$build/bin/tp-cat" -c "$f"
	run copy "$build/bin/tp-cat" -m "$f"
done
zw=$(best zstd 1) zc=$(best zstd 2)
printf '%-12s %8s %8s %10s %10s\n' what wall_s cpu_s wall_ratio cpu_ratio
for n in zstd count copy; do
	w=$(best $n 1) c=$(best $n 2)
	printf '%-12s %8.3f %8.3f %10.2f %10.2f\n' "$n" "$w" "$c" \
		"$(echo "$zw / $w" | bc -l)" "$(echo "$zc / $c" | bc -l)"
done
