#!/bin/sh
# bench/sample/run.sh [BUILD]: the numbers of bench/sample.md.
#  1. 2^20 points x 10 dims, scrambled Sobol and Halton: tp vs scipy.stats.qmc
#  2. whole-process time of tp-sample for a 64-trial study vs importing optuna
#     (Debian python3-optuna) and scipy.stats
#  3. Bayesian proposals with 100 completed trials in 6 dimensions
#  4. BO vs Sobol at equal budget (tests/unit/test-bo-vs-qmc.c)
# Needs: python3-scipy, python3-optuna (for the comparison only), hyperfine
# is not needed: times are best of N by a small shell loop.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
bin=$build/bin
py=/usr/bin/python3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

best_of() { # N CMD...: best wall time in ms of N runs
	n=$1; shift
	b=""
	for _ in $(seq "$n"); do
		s=$(date +%s%N)
		"$@" >/dev/null 2>&1
		e=$(( ($(date +%s%N) - s) / 1000 ))
		if [ -z "$b" ] || [ "$e" -lt "$b" ]; then b=$e; fi
	done
	echo "$b" | awk '{ printf "%.1f ms\n", $1 / 1000 }'
}

echo "== 1. 2^20 points in 10 dimensions"
cc -std=c11 -O2 -D_GNU_SOURCE -I"$top/include" -o "$tmp/qmc-bench" \
	"$top/bench/sample/qmc-bench.c" "$build/libtp.a" -lm
"$tmp/qmc-bench"
"$py" "$top/bench/sample/scipy-qmc.py"

echo "== 2. whole process, one 64-trial study"
cat >"$tmp/opt.space" <<'SPACE'
study optimizer-comparison
scientific optimizer  choice adam
nuisance   lr         float 1e-4 1e-1 log
nuisance   beta1      float 0.8 0.99 reverse-log
nuisance   width      int 64 1024 log
nuisance   dropout    discrete 0 0.1 0.2
fixed      batch_size 128
SPACE
echo "tp-sample -n 64 (msgpack):     $(best_of 20 "$bin/tp-sample" -n 64 -o "$tmp/t.mp" "$tmp/opt.space")"
echo "tp-sample -n 64 -f json:       $(best_of 20 "$bin/tp-sample" -n 64 -f json -o "$tmp/t.json" "$tmp/opt.space")"
if "$py" -c 'import optuna' 2>/dev/null; then
	echo "python3 -c 'import optuna':    $(best_of 5 "$py" -c 'import optuna')"
else
	echo "python3 -c 'import optuna':    (optuna not installed: apt-get install python3-optuna)"
fi
echo "python3 -c 'import scipy.stats': $(best_of 5 "$py" -c 'import scipy.stats')"
echo "python3 -c 'pass':              $(best_of 5 "$py" -c 'pass')"

echo "== 3. Bayesian proposals, 100 completed trials, 6 dimensions"
printf 'study h6\n' >"$tmp/h6.space"
for j in 0 1 2 3 4 5; do printf 'nuisance x%d float 0 1\n' "$j" >>"$tmp/h6.space"; done
"$bin/tp-sample" -n 100 -f tsv "$tmp/h6.space" | awk -F'\t' 'NR > 1 {
	# Hartmann-6
	split("1.0 1.2 3.0 3.2", a, " ")
	split("10 3 17 3.5 1.7 8 0.05 10 17 0.1 8 14 3 3.5 1.7 10 17 8 17 8 0.05 10 0.1 14", A, " ")
	split(".1312 .1696 .5569 .0124 .8283 .5886 .2329 .4135 .8307 .3736 .1004 .9991 .2348 .1451 .3522 .2883 .3047 .6650 .4047 .8828 .8732 .5743 .1091 .0381", P, " ")
	s = 0
	for (i = 0; i < 4; i++) { e = 0
		for (j = 0; j < 6; j++) { d = $(4 + j) - P[i * 6 + j + 1]; e += A[i * 6 + j + 1] * d * d }
		s += a[i + 1] * exp(-e) }
	printf "{\"type\":\"result\",\"study\":\"h6\",\"trial\":%d,\"params\":{\"x0\":%s,\"x1\":%s,\"x2\":%s,\"x3\":%s,\"x4\":%s,\"x5\":%s},\"objective\":%.17g}\n",
		$2, $4, $5, $6, $7, $8, $9, -s }' >"$tmp/h6.json"
"$bin/tp-cat" -j -m -o "$tmp/h6.mp" "$tmp/h6.json"
for q in 1 4; do
	echo "tp-sample -m bayes, 100 trials, d=6, q=$q: $(OPENBLAS_NUM_THREADS=1 best_of 5 "$bin/tp-sample" -m bayes -H "$tmp/h6.mp" -n $q "$tmp/h6.space")"
done

echo "== 4. Bayesian vs Sobol at equal budget"
if [ -x "$build/tests/test-bo-vs-qmc" ]; then
	"$build/tests/test-bo-vs-qmc" | grep '^#'
fi
