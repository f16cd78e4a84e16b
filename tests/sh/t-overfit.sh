# t-overfit: tp-overfit-batch overfits a digits batch (exit 0) and fails
# with exit 1 and the right reason on broken set-ups: learning rate 0, a
# linear model on randomly relabelled data, divergence; the initial-loss
# check; determinism; the record; every error path.
. "$TP_TOP/tests/lib.sh"

tp-data pack --scale minmax "$DATA/digits.csv.gz" -o digits.zst
tp-data split -f 0.6,0.2,0.2 -s 1 -o digits digits.zst
T=digits-train.zst

t_ok "a digits batch is overfit (exit 0)" tp-overfit-batch --threads 1 "$T"
cp t.out ok.txt
t_true "verdict line" grep -q '^verdict: overfit: the loss fell below 0.01 in [0-9]* steps$' ok.txt
t_true "batch line" grep -qx 'batch: 128 examples, 64 features, 10 classes' ok.txt
t_true "the initial loss is ok and near ln 10" sh -c \
	"grep '^initial loss:' ok.txt | grep -q '(ln 10 = 2.3026): ok$'"
t_ok "-j prints one JSON record" tp-overfit-batch -j --threads 1 "$T"
cp t.out ok.json
t_eq "one line" "$(wc -l <ok.json | tr -d ' ')" 1
t_eq "record fields" "$(tp-cat -j -k type,overfit,verdict,examples,classes,threshold -H ok.json)" \
	"$(printf 'overfit\ttrue\toverfit\t128\t10\t0.01')"
t_true "final loss below the threshold, after at least one step" sh -c \
	"tp-cat -j -k final_loss,threshold,steps -H ok.json | awk '{ exit !(\$1 < \$2 && \$3 > 0) }'"
t_true "initial loss within 0.3 of ln 10 and of its expected value" sh -c \
	"tp-cat -j -k init_loss,expected_init_loss,ln_k -H ok.json |
	 awk '{ a = \$1 - \$3; b = \$1 - \$2; exit !(a < 0.3 && a > -0.3 && b < 0.3 && b > -0.3) }'"
t_eq "text and JSON agree on the steps" \
	"$(sed -n 's/^steps: \([0-9]*\),.*/\1/p' ok.txt)" "$(tp-cat -j -k steps -H ok.json)"
t_ok "-o writes an overfit record" tp-overfit-batch -q -o res.tpr --threads 1 "$T"
t_eq "-q prints nothing" "$(cat t.out)" ""
t_eq "the record" "$(tp-cat -k type,verdict -H res.tpr)" "$(printf 'overfit\toverfit')"
tp-overfit-batch -j --threads 1 "$T" >again.json
t_cmp "same seed, same result" ok.json again.json
tp-overfit-batch -j --threads 1 --seed 7 "$T" >seed7.json
t_true "another seed, another batch and init" sh -c '! cmp -s ok.json seed7.json'
t_ok "--examples 16 with batch norm and gelu" tp-overfit-batch -n 16 --norm batch --ghost-batch 16 \
	--activation gelu --threads 1 "$T"
t_ok "a trial record's hyperparameters" sh -c \
	"echo '{\"type\":\"trial\",\"study\":\"s\",\"trial\":0,\"params\":{\"depth\":1,\"width\":64,\"lr\":0.01},\"seed\":3}' |
	 tp-cat -j -m | tp-overfit-batch -q -o trial.tpr --trial - --threads 1 $T"
t_eq "are used" "$(tp-cat -k lr,verdict -H trial.tpr)" "$(printf '0.01\toverfit')"

# Broken set-ups: exit 1 and the reason.
t_exit 1 '' "learning rate 0: exit 1" sh -c "tp-overfit-batch --lr 0 --max-steps 50 --threads 1 $T >lr0.txt; r=\$?; echo >&2; exit \$r"
t_true "says the loss did not move because the learning rate is 0" \
	grep -q '^verdict: NOT overfit: the loss did not move (.*): the learning rate is 0$' lr0.txt
t_true "and spent the whole budget" grep -q '^steps: 50,' lr0.txt
t_true "a tiny learning rate is also stuck" sh -c \
	"tp-overfit-batch -q -o tiny.tpr --lr 1e-9 --max-steps 50 --threads 1 $T; tp-cat -k verdict -H tiny.tpr | grep -qx stuck"
t_true "a linear model cannot fit 256 randomly relabelled examples (exit 1)" sh -c \
	"tp-overfit-batch -q -o lin.tpr --depth 0 -n 256 --shuffle-labels --threads 1 $T; test \$? = 1"
t_eq "it moved, but too little: slow" "$(tp-cat -k verdict,overfit -H lin.tpr)" "$(printf 'slow\tfalse')"
t_true "the reason names model size" sh -c "tp-cat -k reason -H lin.tpr | grep -q 'too small'"
t_ok "the default 2x256 model does fit the same random labels (the control)" \
	tp-overfit-batch --max-steps 2000 -n 256 --shuffle-labels --threads 1 "$T"
t_true "a huge learning rate diverges (exit 1)" sh -c \
	"tp-overfit-batch -q -o div.tpr --optimizer sgd --lr 1e6 --threads 1 $T; test \$? = 1"
t_true "reported as diverged" sh -c "tp-cat -k verdict,reason -H div.tpr | grep -q '^diverged	diverged at step'"

# Inputs that are all zero: every ReLU unit is inactive on the whole batch.
awk -F, 'BEGIN { OFS = "," } { for (i = 1; i < NF; i++) $i = 0; print }' \
	"$(gzip -dc "$DATA/digits.csv.gz" >digits.csv && echo digits.csv)" >zero.csv
tp-data pack --no-header zero.csv -o zero.zst
t_true "zero inputs: exit 1" sh -c "tp-overfit-batch --max-steps 100 --threads 1 zero.zst >zero.txt; test \$? = 1"
t_true "the reason names the dead units" \
	grep -q '512 of 512 ReLU units are inactive on the whole batch (dead units' zero.txt

# The initial-loss check: unscaled inputs make large logits.
tp-data pack "$DATA/digits.csv.gz" -o raw.zst
t_ok "unscaled inputs" tp-overfit-batch --threads 1 raw.zst
t_true "the initial loss is flagged as far off" grep -q '^initial loss: .*: FAR OFF$' t.out
t_true "with the likely cause" grep -q 'outputs at initialization are large' t.out

# Regression: threshold relative to the target variance.
tp-data synth --kind linear -n 200 -s 3 -o lin.zst
t_ok "regression batch" tp-overfit-batch -q -o reg.tpr --threads 1 lin.zst
t_true "regression result" sh -c "tp-cat -k classes,verdict -H reg.tpr | grep -qx '0	overfit'"

# Errors.
t_exit 2 'no training set given' "no operand" tp-overfit-batch
t_exit 2 "unknown option '--bogus'" "unknown option" tp-overfit-batch --bogus "$T"
t_exit 2 "option '--lr' needs a value" "missing value" tp-overfit-batch "$T" --lr
t_exit 2 "^tp-overfit-batch: --threads: '2000' is not an integer in \\[1, 1024\\]$" "bad thread count" \
	tp-overfit-batch --threads 2000 "$T"
t_exit 2 "--examples: '0' is not an integer" "examples 0" tp-overfit-batch -n 0 "$T"
t_exit 2 "--threshold: 'x'" "bad threshold" tp-overfit-batch --threshold x "$T"
t_exit 2 "--max-steps: '-1'" "negative budget" tp-overfit-batch --max-steps -1 "$T"
t_exit 2 'lr must be in' "negative learning rate" tp-overfit-batch --lr -1 "$T"
t_exit 2 "activation must be one of" "bad activation" tp-overfit-batch --activation foo "$T"
t_exit 2 "residual" "residual with depth 1" tp-overfit-batch --depth 1 --residual 1 "$T"
t_exit 2 'no trial record number 4' "missing trial" sh -c \
	"echo '{\"type\":\"trial\",\"params\":{}}' | tp-cat -j -m | tp-overfit-batch --trial - --trial-index 4 $T"
t_exit 3 'missing.zst' "missing training set" tp-overfit-batch missing.zst
printf 'garbage' >bad.zst
t_exit 3 'bad.zst' "corrupt training set" tp-overfit-batch bad.zst
t_ok "--help" tp-overfit-batch --help
t_true "--help lists the hyperparameters" grep -q -- '--weight-decay' t.out
