#!/bin/sh
# run.sh [WORKDIR]: tp's tools serving a trainer tp did not build.
# tp-sample draws the trials, train.py (PyTorch) trains each one and writes
# tp's metrics records, tp-ckpt-select picks the best torch checkpoint,
# train.py --eval tests it, tp-track keeps the study, and tp-sample -m bayes
# proposes the next trials from the same streams.
#
# Settings (environment): TRIALS=4 STEPS (replaces the space's steps)
# JOBS=2 SEED=1 DATA=digits.csv.gz SPACE=torch-mlp.space PYTHON (a python3
# that imports torch and msgpack; default /usr/bin/python3, else python3).
# The tp programs must be on PATH.  Exit 0 on success, 2 usage, 3 when a
# step failed or no python has torch.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-byo-trainer-out}
TRIALS=${TRIALS:-4} STEPS=${STEPS:-} JOBS=${JOBS:-2} SEED=${SEED:-1}
DATA=${DATA:-$here/../../data/digits.csv.gz}
SPACE=${SPACE:-$here/torch-mlp.space}
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac
case $SPACE in /*) ;; *) SPACE=$PWD/$SPACE ;; esac
if [ $# -gt 1 ]; then
	echo "usage: run.sh [WORKDIR]" >&2
	exit 2
fi
die() { echo "run.sh: $*" >&2; exit 3; }
for f in "$DATA" "$SPACE"; do
	[ -r "$f" ] || die "$f: cannot read"
done
# Debian's python3-torch lives in /usr/bin/python3; a pyenv or venv python3
# first on PATH usually lacks it.
if [ -z "${PYTHON:-}" ]; then
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'import torch, msgpack' 2>/dev/null; then
			PYTHON=$p
			break
		fi
	done
fi
[ -n "${PYTHON:-}" ] ||
	die "no python3 imports torch and msgpack (Debian: apt-get install python3-torch python3-msgpack)"
mkdir -p "$work"
cd "$work"
export TP_TRACK="$PWD/track"
tp-data pack --scale minmax -o digits.zst "$DATA"
tp-data split -f 0.6,0.2,0.2 -s "$SEED" -o data digits.zst
if [ -n "$STEPS" ]; then
	sed "s/^fixed[[:space:]]*steps[[:space:]].*/fixed steps $STEPS/" "$SPACE" >torch-mlp.space
else
	cp "$SPACE" torch-mlp.space
fi
study=$(awk '$1 == "study" { print $2 }' torch-mlp.space)
[ -n "$study" ] || die "torch-mlp.space: no study line"

# 1. The trials, then one train.py per trial, JOBS at a time.  A diverged
#    trial (exit 4) is a result.
tp-sample -n "$TRIALS" -s "$SEED" -o trials.tpr torch-mlp.space
echo "training $(tp-cat -t trial -c trials.tpr) trials with train.py (PyTorch)"
# shellcheck disable=SC2016 # expanded by the inner sh
seq 0 $(($(tp-cat -t trial -c trials.tpr) - 1)) | xargs -P "$JOBS" -I{} sh -c '
	# Finished (done or diverged) in an earlier run: a summary record.
	[ "$(tp-cat -t summary -c "runs/{}/metrics.tpr" 2>/dev/null)" = 1 ] && exit 0
	rm -rf "runs/{}"
	"$0" "$1" --trial trials.tpr --trial-index {} -d "runs/{}" \
		--valid data-valid.zst data-train.zst; rc=$?
	[ $rc = 0 ] || [ $rc = 4 ]' "$PYTHON" "$here/train.py" || die "train.py failed"

# 2. The best torch checkpoint of the study, on validation error, and its
#    one evaluation on the test split.
best=$(tp-ckpt-select runs/*) || die "no checkpoint qualifies"
echo "best checkpoint: $best"
"$PYTHON" "$here/train.py" --eval "$best" --data data-test.zst --split test -o test.tpr

# 3. The study spreadsheet, from the same streams as tp-train's.
tp-track init
tp-track study "$study" --config torch-mlp.space \
	--notes "PyTorch MLP trained by train.py" --command "sh run.sh"
tp-track ingest -q runs/* test.tpr

# 4. Exploitation works too: proposals from the torch runs' streams.
#    (Run directories are runs/N: splitting the list is safe.)
# shellcheck disable=SC2046
tp-sample -m bayes -n 2 -s "$SEED" -f tsv -o next.tsv \
	$(for r in runs/*; do echo "-H $r/metrics.tpr"; done) torch-mlp.space

# cols A,B,...: those columns of a TSV, by header name.
cols() {
	awk -F'\t' -v want="$1" 'BEGIN { n = split(want, w, ",") }
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
	{ for (j = 1; j <= n; j++) printf "%s%s", $(c[w[j]]), j < n ? "\t" : "\n" }'
}
# align: TSV as aligned columns.
align() {
	awk -F'\t' '{ for (j = 1; j <= NF; j++) {
		c[NR, j] = $j; if (length($j) > w[j]) w[j] = length($j) }
		if (NF > nf) nf = NF }
	END { for (r = 1; r <= NR; r++) for (j = 1; j <= nf; j++)
		printf "%-*s%s", w[j], c[r, j], j < nf ? "  " : "\n" }'
}

{
	echo "== Studies"
	tp-track table
	echo
	echo "== Trials of $study, best first"
	tp-track table --study "$study" -f tsv |
		cols "trial,status,best valid error,step,checkpoint,lr,beta1" | align
	echo
	echo "== The best checkpoint (validation), on the test split"
	tp-cat -t eval -k study,trial,step,accuracy,error,checkpoint test.tpr
	echo
	echo "== Next trials proposed by tp-sample -m bayes from these runs"
	cut -f1-5 next.tsv | align
} >summary.txt
cat summary.txt
