#!/bin/bash
# bench-reader.sh: is the dataset batch loader as fast as decompression?
# Decodes a COUNT x 784 (MNIST-sized) dataset through the loader
# (bench/reader.c) and compares its examples/s with `zstd -dc FILE >
# /dev/null` on the same file, in one run, runs interleaved, best of REPS.
# Both wall time and CPU time (user + sys) are reported: on a shared
# machine wall time mostly measures the neighbours.  Results:
# bench/reader.md.  Not a test (timings vary by machine).
#
#   bash bench/bench-reader.sh [BUILD] [COUNT] [REPS]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
count=${2:-200000}
reps=${3:-5}
case $build in /*) ;; *) build=$top/$build ;; esac
work=${TMPDIR:-/tmp}/tp-bench-reader.$$
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT

make -C "$top" --no-print-directory BUILD="$build" "$build/bin/tp-data" >/dev/null
# shellcheck disable=SC2046
cc -std=c11 -O2 -D_GNU_SOURCE -I"$top/include" -o "$work/reader" \
	"$top/bench/reader.c" "$build/libtp.a" \
	$(pkg-config --libs openblas msgpack libzstd libarchive zlib) -lpthread -lm

f=$work/mnist.zst
"$build/bin/tp-data" synth --kind mnist -n "$count" -s 1 -o "$f"
echo "file: $count x 784 float32, $(wc -c <"$f") bytes zstd," \
	"$(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"

. "$top/bench/timing.sh"
zstd -dc "$f" >/dev/null # warm the page cache
for ((i = 0; i < reps; i++)); do
	run zstd zstd -dc "$f"
	for mode in eval train memory; do
		run "$mode" "$work/reader" "$f" "$mode" 256
	done
done
zw=$(best zstd 1) zc=$(best zstd 2)
printf '%-16s %8s %12s %8s %12s %7s %7s\n' what wall_s ex/s cpu_s ex/cpu_s \
	ratio cpu_ratio
printf '%-16s %8.3f %12.0f %8.3f %12.0f\n' "zstd -dc" "$zw" \
	"$(echo "$count / $zw" | bc -l)" "$zc" "$(echo "$count / $zc" | bc -l)"
for mode in eval train memory; do
	w=$(best $mode 1) c=$(best $mode 2)
	printf '%-16s %8.3f %12.0f %8.3f %12.0f %7.2f %7.2f\n' "loader $mode" \
		"$w" "$(echo "$count / $w" | bc -l)" "$c" "$(echo "$count / $c" | bc -l)" \
		"$(echo "$zw / $w" | bc -l)" "$(echo "$zc / $c" | bc -l)"
done
