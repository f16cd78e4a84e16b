# t-examples: the runnable examples of share/examples, shortened (few
# trials, few steps): two rounds (short runs, then long runs of the best
# point with the same base learning rate), exploration then exploitation
# (Sobol, then Bayesian batches), and a PyTorch trainer speaking tp's
# records (run when python3-torch is importable).
. "$TP_TOP/tests/lib.sh"
EX=$TOP/share/examples

# col FILE NAME: the values of a TSV column, by header name.
col() { awk -F'\t' -v n="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == n) c = i; next }
	{ print $c }' "$1"; }

# --- two rounds -----------------------------------------------------------
tworounds() { TRIALS=4 SHORT=60 LONG=150 SEEDS=2 JOBS=2 sh "$EX/two-rounds/two-rounds.sh" "$@"; }
t_ok "two-rounds: runs" tworounds tr
t_true "two-rounds: summary printed" grep -q "== Round 2" t.out
export TP_TRACK=$PWD/tr/track
tp-track table -f tsv >tr.tsv
t_eq "two-rounds: two studies in one store" "$(col tr.tsv study | tr '\n' ' ')" "round1 round2 "
t_eq "two-rounds: trials per study" "$(col tr.tsv trials | tr '\n' ' ')" "4 2 "
best=$(tp-track table --study round1 -f tsv -n 1 | awk -F'\t' 'NR == 2 { print $1 }')
t_true "two-rounds: round 1 has a best trial" test -n "$best"
lr1=$(awk -F'\t' -v t="$best" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "lr") c = i }
	NR > 1 && $2 == t { print $c }' tr/round1.tsv)
t_eq "two-rounds: round 2 keeps round 1's base lr exactly" \
	"$(tp-cat -t trial -H -k params.lr tr/round2.tpr | sort -u)" "$lr1"
t_eq "two-rounds: round 2 changes only the steps and the seed" \
	"$(tp-cat -t trial -H -k params.beta1,params.steps,params.schedule tr/round2.tpr | sort -u)" \
	"$(awk -F'\t' -v t="$best" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i }
		NR > 1 && $2 == t { print $(c["beta1"]) "\t150\t" $(c["schedule"]) }' tr/round1.tsv)"
t_eq "two-rounds: round 2 runs have distinct seeds" \
	"$(cat tr/runs/round2/*/metrics.tpr | tp-cat -t config -H -k seed | sort -u | wc -l)" 2
t_eq "two-rounds: round 1 ran SHORT steps" \
	"$(cat tr/runs/round1/*/metrics.tpr | tp-cat -t summary -H -k steps | sort -u)" 60
t_eq "two-rounds: round 2 ran LONG steps" \
	"$(cat tr/runs/round2/*/metrics.tpr | tp-cat -t summary -H -k steps | sort -u)" 150
# The cosine schedule of round 2 peaks at round 1's base lr (after warmup).
t_true "two-rounds: round 2's schedule reaches the base lr" sh -c \
	"tp-cat -t train -H -k lr tr/runs/round2/0/metrics.tpr | awk -v lr=$lr1 '\$1 > m { m = \$1 }
		END { exit !(m > 0.99 * lr && m <= lr) }'"
t_eq "two-rounds: round 2 checkpoints at every evaluation" \
	"$(tp-cat -t eval -w split=valid -H -k checkpoint tr/runs/round2/0/metrics.tpr | grep -c '^$')" 0
t_eq "two-rounds: each round's best checkpoint tested" \
	"$(tp-cat -t eval -w split=test -H -k study tr/test.tpr | tr '\n' ' ')" "round1 round2 "
t_true "two-rounds: seed spread noted" grep -q "note: seeds: round2" tr/summary.txt
cp tr/summary.txt summary1.txt
cksum tr/runs/round1/0/metrics.tpr >ck1
rm -rf tr/runs/round2/1
t_ok "two-rounds: rerun" tworounds tr
t_true "two-rounds: finished runs are not retrained" sh -c 'cksum tr/runs/round1/0/metrics.tpr | cmp -s - ck1'
t_true "two-rounds: the removed run is retrained" test -f tr/runs/round2/1/model.tpm
t_cmp "two-rounds: same summary after the rerun" summary1.txt tr/summary.txt
t_exit 2 '^usage: two-rounds.sh' "two-rounds: two operands" tworounds a b
t_exit 3 '^two-rounds.sh: .*nope.csv: cannot read$' "two-rounds: missing data" \
	env DATA=nope.csv sh "$EX/two-rounds/two-rounds.sh" tr-bad
# A round 1 where every trial diverges has no best point.
printf 'study round1\nnuisance lr float 1e4 1e6 log\nfixed optimizer sgd\nfixed steps 20\n' >diverge.space
# tp-train says "diverged" on stderr for each run; the script's own line is last.
SPACE=diverge.space TRIALS=2 sh "$EX/two-rounds/two-rounds.sh" tr-div >/dev/null 2>div.err
t_eq "two-rounds: no best point: exit 3" "$?" 3
t_eq "two-rounds: no best point: the message" "$(tail -n 1 div.err)" \
	"two-rounds.sh: round 1 has no trial with a validation error"

# --- exploration, then exploitation ----------------------------------------
ee() { EXPLORE=4 BATCHES=2 BATCH=2 STEPS=60 JOBS=2 sh "$EX/explore-exploit/explore-exploit.sh" "$@"; }
t_ok "explore-exploit: runs" ee ee
t_true "explore-exploit: both phases in the summary" sh -c \
	'grep -q "^explore *4 " ee/summary.txt && grep -q "^exploit *4 " ee/summary.txt'
t_eq "explore-exploit: Bayesian trials continue the numbering" \
	"$(tp-cat -t trial -H -k trial ee/exploit-1.tpr ee/exploit-2.tpr | tr '\n' ' ')" "4 5 6 7 "
export TP_TRACK=$PWD/ee/track
t_eq "explore-exploit: one study of 8 trials" \
	"$(tp-track table -f tsv | col /dev/stdin trials)" 8
t_eq "explore-exploit: batch 2 learned from 6 results" \
	"$(tp-cat -t result -c ee/history-2.tpr)" 6
# The same history as the runs' own metrics streams (in trial order: the
# surrogate's sums depend on the order) proposes the same trials.
# shellcheck disable=SC2046
tp-sample -m bayes -n 2 -s 1 -f tsv $(for i in 0 1 2 3 4 5; do echo "-H ee/runs/$i/metrics.tpr"; done) \
	ee/digits.space >from-metrics.tsv 2>/dev/null
tp-sample -m bayes -n 2 -s 1 -f tsv -H ee/history-2.tpr ee/digits.space >from-export.tsv
t_cmp "explore-exploit: metrics streams and tp-track export propose alike" from-metrics.tsv from-export.tsv
t_eq "explore-exploit: the proposals are the ones that ran" \
	"$(col from-export.tsv lr | tr '\n' ' ')" "$(tp-cat -t trial -H -k params.lr ee/exploit-2.tpr | tr '\n' ' ')"
for f in axis-lr curves; do
	t_ok "explore-exploit: $f.svg is well-formed" xmllint --noout ee/$f.svg
done
t_eq "explore-exploit: each phase's best tested" "$(tp-cat -t eval -c ee/test.tpr)" 2
t_exit 3 '^explore-exploit.sh: .*nope.space: cannot read$' "explore-exploit: missing space" \
	env SPACE=nope.space sh "$EX/explore-exploit/explore-exploit.sh" ee-bad
t_exit 2 '^usage: explore-exploit.sh' "explore-exploit: two operands" ee a b

# --- bring your own trainer -------------------------------------------------
PY=""
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import torch, msgpack' 2>/dev/null; then PY=$p; break; fi
done
if [ -z "$PY" ]; then
	ok "skipped: no python3-torch"
	exit 0
fi
TRAIN="$EX/byo-trainer/train.py"
t_ok "byo: runs" env PYTHON="$PY" TRIALS=2 STEPS=40 sh "$EX/byo-trainer/run.sh" byo
best=$(sed -n 's/^best checkpoint: //p' t.out)
t_true "byo: tp-ckpt-select picked a torch checkpoint" sh -c "case '$best' in *.pt) test -f byo/$best ;; *) false ;; esac"
t_eq "byo: it is the best of the records" "$(cd byo && tp-ckpt-select runs/*)" "$best"
export TP_TRACK=$PWD/byo/track
t_eq "byo: tp-track lists the trials" "$(tp-track table --study torch-mlp -f tsv | col /dev/stdin trial | sort | tr '\n' ' ')" "0 1 "
t_eq "byo: the test evaluation joined its trial" \
	"$(tp-cat -t eval -w split=test -H -k study,step byo/test.tpr)" \
	"$(printf 'torch-mlp\t40')"
t_eq "byo: tp-sample -m bayes numbers after the torch runs" "$(col byo/next.tsv trial | tr '\n' ' ')" "2 3 "
cd byo || { not_ok "byo: cd byo"; exit 1; }
# The same trial twice: the same records (paths aside).
t_ok "byo: rerun trial 1 elsewhere" "$PY" "$TRAIN" --trial trials.tpr --trial-index 1 -d again \
	--valid data-valid.zst data-train.zst
t_eq "byo: same trial, same records" \
	"$(tp-cat -t train -t eval -H -k step,loss,error again/metrics.tpr | md5sum)" \
	"$(tp-cat -t train -t eval -H -k step,loss,error runs/1/metrics.tpr | md5sum)"
t_exit 2 '^train.py: need --trial' "byo: no arguments" "$PY" "$TRAIN"
t_exit 2 '^train.py: trials.tpr: no trial record 9 \(2 trials\)$' "byo: no such trial" \
	"$PY" "$TRAIN" --trial trials.tpr --trial-index 9 -d x --valid data-valid.zst data-train.zst
echo '{"type":"trial","study":"s","trial":0,"params":{"lr":0.1,"norm":"batch"}}' | tp-cat -j -m >bad.tpr
t_exit 2 "^train.py: bad.tpr: trial 0: unknown hyperparameter 'norm'$" "byo: unknown hyperparameter" \
	"$PY" "$TRAIN" --trial bad.tpr -d x --valid data-valid.zst data-train.zst
t_exit 3 '^train.py: nope.zst: No such file or directory$' "byo: missing dataset" \
	"$PY" "$TRAIN" --trial trials.tpr -d x --valid data-valid.zst nope.zst
t_exit 3 '^train.py: trials.tpr: not a dataset' "byo: not a dataset" \
	"$PY" "$TRAIN" --trial trials.tpr -d x --valid data-valid.zst trials.tpr
t_exit 3 '^train.py: trials.tpr: not a train.py checkpoint' "byo: --eval of a non-checkpoint" \
	"$PY" "$TRAIN" --eval trials.tpr --data data-test.zst
echo '{"type":"trial","study":"s","trial":0,"seed":1,"params":{"lr":1e30,"optimizer":"sgd","steps":50}}' |
	tp-cat -j -m >div.tpr
t_exit 4 '^train.py: div: diverged at step [0-9]+: loss is not finite$' "byo: a diverged run exits 4" \
	"$PY" "$TRAIN" --trial div.tpr -d div --valid data-valid.zst data-train.zst
t_eq "byo: and says so in a diverged record" "$(tp-cat -t diverged -c div/metrics.tpr)" 1
