#!/bin/sh
# two-rounds.sh [WORKDIR]: the playbook's two rounds of tuning when training
# is compute bound ("Deciding how long to train when training is compute
# bound"), on the bundled digits data, tracked in one tp-track store.
#
#   Round 1: TRIALS short runs (quasi-random lr and beta1, SHORT steps) to
#            find good hyperparameters.
#   Round 2: SEEDS long runs (LONG steps, different seeds) of round 1's best
#            point.  For a cosine schedule the playbook keeps round 1's base
#            learning rate and only extends max_train_steps, so round 2's
#            space is round 1's best trial with every value fixed and only
#            `steps' changed.
#   Then the summary: round 1's best against round 2, validation and test.
#
# Settings (environment): TRIALS=16 SHORT=300 LONG=1500 SEEDS=3 JOBS=2
# SEED=1 DATA=digits.csv.gz SPACE=round1.space.  The tp programs must be on
# PATH.  Exit 0 on success, 2 usage, 3 when a step failed.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-two-rounds-out}
TRIALS=${TRIALS:-16} SHORT=${SHORT:-300} LONG=${LONG:-1500}
SEEDS=${SEEDS:-3} JOBS=${JOBS:-2} SEED=${SEED:-1}
DATA=${DATA:-$here/../../data/digits.csv.gz}
SPACE=${SPACE:-$here/round1.space}
case $DATA in /*) ;; *) DATA=$PWD/$DATA ;; esac
case $SPACE in /*) ;; *) SPACE=$PWD/$SPACE ;; esac
if [ $# -gt 1 ]; then
	echo "usage: two-rounds.sh [WORKDIR]" >&2
	exit 2
fi
die() { echo "two-rounds.sh: $*" >&2; exit 3; }
for f in "$DATA" "$SPACE"; do
	[ -r "$f" ] || die "$f: cannot read"
done
mkdir -p "$work"
cd "$work"
export TP_TRACK="$PWD/track"
# Tiny models wait for data most of the time; that warning is noise here.
train="tp-train -q --threads 1 --input-bound 1"

# train_all TRIALS DIR: one run per trial record, JOBS at a time; a
# diverged trial (exit 4) is a result, anything else stops the script.
train_all() {
	n=$(tp-cat -t trial -c "$1")
	# shellcheck disable=SC2016 # expanded by the inner sh
	seq 0 $((n - 1)) | xargs -P "$JOBS" -I{} sh -c '
		# Finished (done or diverged) in an earlier run: a summary record.
		[ "$(tp-cat -t summary -c "$3/{}/metrics.tpr" 2>/dev/null)" = 1 ] && exit 0
		rm -rf "$3/{}"
		$1 -d "$3/{}" --trial "$2" --trial-index {} \
			--valid data-valid.zst data-train.zst; rc=$?
		[ $rc = 0 ] || [ $rc = 4 ]' sh "$train" "$1" "$2" ||
		die "training $1 failed"
}

# The data: min-max scaled, split 60/20/20 by class with a seed.
tp-data pack --scale minmax -o digits.zst "$DATA"
tp-data split -f 0.6,0.2,0.2 -s "$SEED" -o data digits.zst
tp-track init

# Round 1.  SHORT replaces the space's steps, so the space file kept with
# the study is the one that ran.
sed "s/^fixed[[:space:]]*steps[[:space:]].*/fixed steps $SHORT/" "$SPACE" >round1.space
tp-sample -n "$TRIALS" -s "$SEED" -o round1.tpr round1.space
tp-sample -n "$TRIALS" -s "$SEED" -f tsv -o round1.tsv round1.space
tp-track study round1 --config round1.space \
	--notes "round 1: $TRIALS quasi-random trials x $SHORT steps" \
	--command "TRIALS=$TRIALS SHORT=$SHORT sh two-rounds.sh"
echo "round 1: $TRIALS trials x $SHORT steps"
train_all round1.tpr runs/round1
tp-track ingest -q runs/round1/*

# Round 1's best point, by best validation error at any evaluated step.
best=$(tp-track table --study round1 -f tsv -n 1 | awk -F'\t' 'NR == 2 && $2 == "ok" { print $1 }')
[ -n "$best" ] || die "round 1 has no trial with a validation error"

# Round 2's space: the best trial's values, exactly as tp-sample resolved
# them (tsv prints floats that read back to the same double), all fixed;
# only steps changes.  No seed is fixed: each run gets its own.  Round 2
# makes the final model, so it checkpoints at every evaluation: the
# retrospective selection can then take the best evaluated step itself.
{
	echo "# Round 2: round 1's trial $best, longer (two-rounds.sh)."
	echo "study round2"
	echo "goal \"the final model: round 1's trial $best at $LONG steps, $SEEDS seeds\""
	awk -F'\t' -v t="$best" -v long="$LONG" '
	NR == 1 { for (i = 4; i <= NF; i++) name[i] = $i; next }
	$2 == t {
		every = 100   # tp-train'"'"'s default eval_every
		for (i = 4; i <= NF; i++) {
			v = $i
			if (name[i] == "eval_every" && v != "")
				every = v
			if (v == "" || name[i] == "seed" || name[i] == "data_seed" ||
			    name[i] == "checkpoints" || name[i] == "checkpoint_every")
				continue
			if (name[i] == "steps")
				v = long
			else if (v !~ /^[-+]?[0-9.]/ && v != "true" && v != "false") {
				gsub(/\\/, "\\\\", v); gsub(/"/, "\\\"", v)
				v = "string \"" v "\""
			}
			print "fixed", name[i], v
		}
		print "fixed checkpoint_every", every
	}' round1.tsv
} >round2.space
tp-sample -n "$SEEDS" -s "$((SEED + 1))" -o round2.tpr round2.space
tp-track study round2 --config round2.space \
	--notes "round 2: round 1 trial $best, $SEEDS seeds x $LONG steps, same base lr" \
	--command "SEEDS=$SEEDS LONG=$LONG sh two-rounds.sh"
echo "round 2: trial $best of round 1, $SEEDS seeds x $LONG steps"
train_all round2.tpr runs/round2
tp-track ingest -q runs/round2/*

# The best checkpoint of each round, chosen on validation, tested once.
ck1=$(tp-ckpt-select -q runs/round1/*) || die "round 1: no checkpoint to select"
ck2=$(tp-ckpt-select -q runs/round2/*) || die "round 2: no checkpoint to select"
tp-eval -q -d data-test.zst --split test -o test.tpr "$ck1" "$ck2"
tp-track ingest -q test.tpr

# stats COLUMN: n, mean, sample sd, min and max of a column of table -f tsv.
stats() {
	awk -F'\t' -v c="$1" 'NR > 1 && $c != "-" && $c != "" {
		n++; s += $c; q += $c * $c
		if (n == 1 || $c < lo) lo = $c
		if (n == 1 || $c > hi) hi = $c }
	END { if (!n) { print "no values"; exit }
		m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0; if (v < 0) v = 0
		printf "%d runs: mean %.4f sd %.4f min %.4f max %.4f\n", n, m, sqrt(v), lo, hi }'
}
# pick NAME...: those columns of table -f tsv, by header name, aligned.
pick() {
	awk -F'\t' -v want="$*" 'BEGIN { n = split(want, w, " ") }
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
	{ for (j = 1; j <= n; j++) {
		c[NR, j] = NR == 1 ? w[j] : $(col[w[j]])
		if (length(c[NR, j]) > wd[j]) wd[j] = length(c[NR, j]) } }
	END { for (r = 1; r <= NR; r++) for (j = 1; j <= n; j++)
		printf "%-*s%s", wd[j], c[r, j], j < n ? "  " : "\n" }'
}

# value_col: name the objective's column "value" (its header is the
# objective, "best valid error").
value_col() { awk -F'\t' 'NR == 1 { $3 = "value" } 1' OFS='\t'; }

{
	echo "== Studies (best validation error at any evaluated step)"
	tp-track table -f tsv | pick study trials diverged value trial step
	echo
	echo "== Round 1: the best 5 of $TRIALS trials x $SHORT steps"
	tp-track table --study round1 -f tsv -n 5 |
		value_col | pick trial value step lr beta1
	echo
	echo "== Round 2: trial $best of round 1, $LONG steps, one row per seed"
	tp-track table --study round2 -f tsv |
		value_col | pick trial value step seed lr
	printf 'best validation error:  '
	tp-track table --study round2 -f tsv | stats 3
	printf 'final validation error: '
	tp-track table --study round2 -f tsv --final | stats 3
	echo
	echo "== Round 1's best trial against round 2's, side by side"
	tp-track compare --study round1 --study round2
	echo
	echo "== Test split, best checkpoint of each round (chosen on validation)"
	tp-cat -t eval -k study,trial,step,accuracy,error,checkpoint test.tpr
	echo
	echo "== What check found in round 2"
	found=$(tp-track check --study round2 --per-param 1) || [ $? = 7 ] ||
		die "tp-track check failed"
	echo "${found:-nothing}"
	echo
	echo "The rounds: round1.space, round2.space; the store: $TP_TRACK"
} >summary.txt
cat summary.txt
