# t-eval: tp-eval on checkpoints of a digits run: records like tp-train's,
# batch-size invariance, predictions, the skew report, the cron ledger
# (idempotence, concurrency, stale claims, incomplete checkpoints), the
# example cron script, and every error path.
. "$TP_TOP/tests/lib.sh"

tp-data pack --scale minmax "$DATA/digits.csv.gz" -o digits.zst
tp-data split -f 0.6,0.2,0.2 -s 1 -o digits digits.zst
T=digits-train.zst V=digits-valid.zst E=digits-test.zst
NE=$(tp-data info -j "$E" | tp-cat -j -k count -H)

# 20 checkpoints of a small model, all kept.
t_ok "train a run with 20 checkpoints" tp-train --threads 1 --no-timing -q -d run \
	--depth 1 --width 32 --steps 200 --checkpoints 20 --keep-latest 20 --keep-best 0 \
	--valid "$V" "$T"
t_eq "20 checkpoints on disk" "$(ls run/ckpt | wc -l | tr -d ' ')" 20

# ---- records ----
t_ok "evaluate a run directory" tp-eval -d "$E" -o all.tpr run
t_eq "stdout is empty with -o" "$(wc -c <t.out | tr -d ' ')" 0
t_eq "one eval record per checkpoint" "$(tp-cat -t eval -c all.tpr)" 20
t_eq "in step order" "$(tp-cat -k step -H all.tpr | tr '\n' ' ')" \
	"$(seq 10 10 200 | tr '\n' ' ')"
t_eq "record names split, checkpoint and dataset" \
	"$(tp-cat -n 1 -k type,step,split,checkpoint,dataset,count -H all.tpr)" \
	"$(printf 'eval\t10\ttest\trun/ckpt/step-000000010.tpc\t%s\t%s' "$E" "$NE")"
t_eq "class counts sum to the test size" \
	"$(tp-cat -n 1 -k class_count -H all.tpr | tr -d '[]' | tr , '\n' | awk '{s+=$1} END {print s}')" "$NE"
t_true "accuracy + error = 1" sh -c "tp-cat -k accuracy,error -H all.tpr |
	awk '{ d = \$1 + \$2 - 1; if (d < -1e-12 || d > 1e-12) exit 1 }'"

# tp-eval reproduces tp-train's own evaluation of the same checkpoint.
K=loss,error,accuracy,count,class_count,class_correct
t_ok "evaluate the last checkpoint on the validation set" \
	tp-eval -d "$V" --split valid -o v200.tpr run/ckpt/step-000000200.tpc
t_eq "same metrics as tp-train's eval record at step 200" \
	"$(tp-cat -k $K -H v200.tpr)" \
	"$(tp-cat -t eval -w step=200 -k $K -H run/metrics.tpr)"
t_eq "split, checkpoint, examples and epoch as tp-train writes them" \
	"$(tp-cat -k split,step,checkpoint,examples,epoch -H v200.tpr)" \
	"$(tp-cat -t eval -w step=200 -k split,step,checkpoint,examples,epoch -H run/metrics.tpr)"

# A run directory without checkpoints stands for its model.tpm.
tp-train --threads 1 --no-timing -q -d plain --depth 1 --width 16 --steps 30 "$T"
t_ok "a run without checkpoints" tp-eval -d "$E" plain
t_eq "evaluates model.tpm" "$(tp-cat -k step,checkpoint -H t.out)" "$(printf '30\tplain/model.tpm')"

# Study and trial come from the checkpoint's configuration.
echo '{"type":"trial","study":"st","trial":3,"params":{"depth":1,"width":16,"steps":20},"seed":2}' |
	tp-cat -j -m >trial.tpr
tp-train --threads 1 --no-timing -q --trial trial.tpr -d tr --checkpoints 1 "$T"
t_ok "checkpoint of a trial" tp-eval -d "$E" tr/ckpt/step-000000020.tpc
t_eq "study and trial copied" "$(tp-cat -k study,trial -H t.out)" "$(printf 'st\t3')"

# Top-k and the confusion matrix on request.
t_ok "--top-k 3 --confusion" tp-eval -k 3 --confusion -d "$E" run/ckpt/step-000000200.tpc
cp t.out tk.tpr
t_true "top3_accuracy >= accuracy" sh -c "tp-cat -k top3_accuracy,accuracy -H tk.tpr |
	awk '{ exit !(\$1 >= \$2 && \$1 <= 1) }'"
t_eq "confusion matrix sums to the count" \
	"$(tp-cat -k confusion -H tk.tpr | tr -d '[]' | tr , '\n' | awk '{s+=$1} END {print s}')" "$NE"
t_eq "its diagonal is class_correct" \
	"$(tp-cat -k confusion -H tk.tpr | sed 's/\],\[/\n/g' | tr -d '[]' |
	   awk -F, '{ printf "%s%s", (NR > 1 ? "," : ""), $NR }')" \
	"$(tp-cat -k class_correct -H tk.tpr | tr -d '[]')"

# ---- batch-size invariance ----
# Padding weighs zero and sums run in example order, so every count is
# identical at every batch size.  The loss is identical up to float32
# rounding: OpenBLAS's sgemm picks other kernels for small matrices, whose
# last bit differs (measured: 2e-7 relative), so it is checked to 1e-6.
for b in 1 7 64 1000; do
	tp-eval -b $b -d "$E" -o b$b.tpr run/ckpt/step-000000100.tpc run/ckpt/step-000000200.tpc
done
for b in 1 7 64; do
	t_eq "batch $b: identical counts and accuracy as batch 1000 (> $NE)" \
		"$(tp-cat -k step,count,accuracy,class_count,class_correct -H b$b.tpr)" \
		"$(tp-cat -k step,count,accuracy,class_count,class_correct -H b1000.tpr)"
	t_true "batch $b: loss within 1e-6 relative of batch 1000" sh -c \
		"tp-cat -k loss -H b$b.tpr >b$b.loss;
		 tp-cat -k loss -H b1000.tpr >b1000.loss;
		 paste b$b.loss b1000.loss | awk '{ d = \$1 - \$2; if (d < 0) d = -d;
		   if (d > 1e-6 * \$2) exit 1 }'"
done
tp-eval -b 256 -d "$E" -o b256.tpr run/ckpt/step-000000100.tpc run/ckpt/step-000000200.tpc
t_cmp "batch 256 (two batches, one padded) and 1000 give identical bytes" b256.tpr b1000.tpr
# One process reuses a model for the next checkpoint of the same shape:
# nothing of the previous checkpoint may leak into the next one's numbers,
# nor across a model of another shape (plain: width 16).
tp-eval -d "$E" -o alone.tpr run/ckpt/step-000000200.tpc
tp-eval -d "$E" -o after.tpr run/ckpt/step-000000100.tpc plain/model.tpm run/ckpt/step-000000100.tpc \
	run/ckpt/step-000000200.tpc
t_eq "a checkpoint evaluated after others: the numbers it has alone" \
	"$(tp-cat -n 4 -k checkpoint,loss,accuracy,class_correct -H after.tpr | tail -n 1)" \
	"$(tp-cat -k checkpoint,loss,accuracy,class_correct -H alone.tpr)"
t_eq "... and the same checkpoint twice, the same numbers" \
	"$(tp-cat -k loss,class_correct -H after.tpr | sed -n 1p)" \
	"$(tp-cat -k loss,class_correct -H after.tpr | sed -n 3p)"
# Determinism is per thread count (OpenBLAS splits the work by threads).
tp-eval --threads 2 -d "$E" -o th2a.tpr run/ckpt/step-000000100.tpc run/ckpt/step-000000200.tpc
tp-eval --threads 2 -d "$E" -o th2b.tpr run/ckpt/step-000000100.tpc run/ckpt/step-000000200.tpc
t_cmp "two runs with --threads 2 give identical bytes" th2a.tpr th2b.tpr

# ---- predictions ----
t_ok "--predictions" tp-eval -d "$E" -p pred.tpr.zst run/ckpt/step-000000200.tpc
t_eq "one prediction per example" "$(tp-cat -t prediction -c pred.tpr.zst)" "$NE"
t_eq "indices in file order" "$(tp-cat -k index -H pred.tpr.zst | awk '$1 != NR - 1' | wc -l | tr -d ' ')" 0
t_eq "fraction predicted == label is the accuracy" \
	"$(tp-cat -k label,predicted -H pred.tpr.zst | awk '{ c += $1 == $2 } END { printf "%.12f", c / NR }')" \
	"$(tp-cat -k accuracy -H t.out | awk '{ printf "%.12f", $1 }')"
t_true "probabilities sum to 1" sh -c "tp-cat -k probs -H pred.tpr.zst | tr -d '[]' |
	awk -F, '{ s = 0; for (i = 1; i <= NF; i++) s += \$i; if (s < 0.9999 || s > 1.0001) exit 1 }'"
t_eq "mean of per-example losses is the loss" \
	"$(tp-cat -k loss -H pred.tpr.zst | awk '{ s += $1 } END { printf "%.5f", s / NR }')" \
	"$(tp-cat -k loss -H t.out | awk '{ printf "%.5f", $1 }')"

# ---- sampled evaluation and the skew report ----
C=run/ckpt/step-000000200.tpc
t_ok "--sample 200" tp-eval -d "$E" -n 200 -s 1 -o s1.tpr $C
t_eq "eval, eval of the sample, skew" "$(tp-cat -k type,split -H s1.tpr | tr '\t\n' ': ')" \
	"eval:test eval:test-sample skew:test "
t_eq "the sample has 200 examples" "$(tp-cat -t eval -w split=test-sample -k count -H s1.tpr)" 200
t_eq "a random sample is representative" "$(tp-cat -t skew -k verdict -H s1.tpr)" representative
t_true "diff is sample minus full" sh -c "tp-cat -t skew -k loss_sample,loss_full,loss_diff -H s1.tpr |
	awk '{ d = \$1 - \$2 - \$3; exit !(d < 1e-12 && d > -1e-12) }'"
t_true "its standard errors are positive and finite" sh -c \
	"tp-cat -t skew -k loss_se,accuracy_se -H s1.tpr | awk '{ exit !(\$1 > 0 && \$2 > 0 && \$1 < 1 && \$2 < 1) }'"
# SE of accuracy = sqrt(p(1-p)/n * (N-n)/(N-1)) with p the full accuracy.
t_true "accuracy SE is sqrt(p(1-p)/n) with the finite population correction" sh -c \
	"tp-cat -t skew -k accuracy_full,accuracy_se -H s1.tpr | awk -v N=$NE '{ p = \$1;
	 d = sqrt(p * (1 - p) / 200 * (N - 200) / (N - 1)) - \$2; exit !(d < 1e-12 && d > -1e-12) }'"
tp-eval -d "$E" -n 200 -s 1 -o s1b.tpr $C
t_cmp "the same seed draws the same sample" s1.tpr s1b.tpr
tp-eval -d "$E" -n 200 -s 2 -o s2.tpr $C
t_true "another seed draws another sample" sh -c '! cmp -s s1.tpr s2.tpr'
t_ok "a sample of everything" tp-eval -d "$E" -n "$NE" $C
t_eq "matches exactly, SE 0" "$(tp-cat -t skew -k loss_diff,accuracy_diff,loss_se,verdict -H t.out)" \
	"$(printf '0.0\t0.0\t0.0\trepresentative')"
# A stratified sample keeps the class proportions, and its standard error
# is the smaller one of stratified sampling.
t_ok "--sample 100 --stratify" tp-eval -d "$E" -n 100 -S -s 1 -o st.tpr $C
tp-cat -t eval -w split=test -k class_count -H st.tpr | tr -d '[]' | tr , '\n' >full.cc
tp-cat -t eval -w split=test-sample -k class_count -H st.tpr | tr -d '[]' | tr , '\n' >sample.cc
t_true "each class gets its share, within 1" sh -c \
	"paste full.cc sample.cc | awk -v N=$NE '{ d = \$2 - 100 * \$1 / N;
	 if (d <= -1 || d >= 1) exit 1; s += \$2 } END { exit s != 100 }'"
t_eq "marked stratified" "$(tp-cat -t skew -k stratified,verdict -H st.tpr)" "$(printf 'true\trepresentative')"
tp-eval -d "$E" -n 100 -s 1 -o srs.tpr $C
t_true "its accuracy SE is below the simple random sample's" awk -v a="$(tp-cat -t skew \
	-k accuracy_se -H st.tpr)" -v b="$(tp-cat -t skew -k accuracy_se -H srs.tpr)" \
	'BEGIN { exit !(a > 0 && a < b) }'

# A skewed "sample": the training set of a model that has fit it, compared
# with the test set (as when training data leaks into the periodic
# evaluation sample).
tp-train --threads 1 --no-timing -q -d fit --depth 1 --width 64 --lr 0.01 --steps 600 "$T"
t_ok "--sample-file of training data" tp-eval -d "$E" --sample-file "$T" fit
t_eq "is reported as skewed" "$(tp-cat -t skew -k verdict,sample -H t.out)" "$(printf 'skewed\t%s' "$T")"
t_true "loss and accuracy both off by more than 4 standard errors" sh -c \
	"tp-cat -t skew -k loss_diff,loss_se,accuracy_diff,accuracy_se -H t.out |
	 awk '{ a = \$1 < 0 ? -\$1 : \$1; b = \$3 < 0 ? -\$3 : \$3; exit !(a > 4 * \$2 && b > 4 * \$4) }'"
t_ok "--sample-file of test data: the same set" tp-eval -d "$E" --sample-file "$E" fit
t_eq "is representative, diff 0, no finite population correction" \
	"$(tp-cat -t skew -k loss_diff,accuracy_diff,verdict -H t.out)" "$(printf '0.0\t0.0\trepresentative')"

# Regression: mse and mae, and the skew report on mae.
tp-data synth --kind linear -n 400 -s 3 -o lin.zst
tp-data split -f 0.5,0.5 -s 1 --names train,test -o lin lin.zst
tp-train --threads 1 --no-timing -q -d rrun --depth 1 --width 16 --steps 50 lin-train.zst
t_ok "regression" tp-eval -d lin-test.zst -n 100 rrun
t_eq "mse and mae, no accuracy" "$(tp-cat -t eval -n 1 -k type,accuracy -H t.out | cut -f1)" eval
t_true "mse equals the loss (to float32 rounding)" sh -c "tp-cat -t eval -n 1 -k loss,mse -H t.out |
	awk '{ d = \$1 - \$2; exit !(\$1 > 0 && d < 1e-6 * \$1 && d > -1e-6 * \$1) }'"
t_true "skew compares mae" sh -c "tp-cat -t skew -k mae_sample,mae_full,mae_se -H t.out | awk '{ exit !(\$3 > 0) }'"

# ---- the ledger ----
t_ok "first run with a ledger" tp-eval -d "$E" -l L -o l1.tpr run
t_eq "evaluates all 20" "$(tp-cat -t eval -c l1.tpr)" 20
t_cmp "with the same records as without a ledger" l1.tpr all.tpr
t_true "second run exits 5" sh -c "tp-eval -d $E -l L -o l2.tpr run; test \$? = 5"
t_eq "and writes no record" "$(wc -c <l2.tpr | tr -d ' ')" 0
t_eq "the ledger: 20 claims and 20 done" \
	"$(tp-cat -k type -H L | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 20 claim; 20 done;"
t_true "-v says why it skips, one line per checkpoint" sh -c \
	"tp-eval -v -d $E -l L run 2>&1 | grep -c '^tp-eval: run/ckpt/step-0000000[0-9]0.tpc: skipped, already evaluated on this dataset' | grep -qx 9"
# Another dataset (its checksum differs) is new work.
t_true "the same checkpoints on another dataset are new" sh -c \
	"tp-eval -d $V -l L run/ckpt/step-000000010.tpc | tp-cat -k dataset -H | grep -qx $V"
# A checkpoint rewritten in place (new checksum) is evaluated again.
cp run/ckpt/step-000000020.tpc run/ckpt/step-000000020.tpc.bak
cp run/ckpt/step-000000030.tpc run/ckpt/step-000000020.tpc
t_eq "a changed checkpoint under the same name is evaluated again" \
	"$(tp-eval -d "$E" -l L run | tp-cat -k checkpoint,step -H)" \
	"$(printf 'run/ckpt/step-000000020.tpc\t30')"
mv run/ckpt/step-000000020.tpc.bak run/ckpt/step-000000020.tpc

# Concurrency: two tp-eval started together on 20 checkpoints, and again
# with four: each checkpoint evaluated exactly once, the ledger intact.
for n in 2 4; do
	rm -f C.ledger C.ledger.lock c*.tpr
	i=0
	while [ $i -lt $n ]; do
		tp-eval -d "$E" -l C.ledger -o c$i.tpr run 2>c$i.err &
		i=$((i + 1))
	done
	wait
	cat c*.tpr >call.tpr
	t_eq "$n at once: 20 eval records in all" "$(tp-cat -t eval -c call.tpr)" 20
	t_eq "$n at once: each checkpoint exactly once" \
		"$(tp-cat -k checkpoint -H call.tpr | sort -u | wc -l | tr -d ' ')" 20
	t_eq "$n at once: the ledger reads cleanly, 20 claims and 20 done" \
		"$(tp-cat -k type -H C.ledger | sort | uniq -c | tr -s ' ' | tr '\n' ';')" " 20 claim; 20 done;"
	t_eq "$n at once: no error" "$(cat c*.err)" ""
done

# Claims: a dead process's claim is stale; a live one is respected until
# the timeout.
C10=run/ckpt/step-000000010.tpc
sha=$(sha256sum $C10 | cut -d' ' -f1)
dsha=$(sha256sum "$E" | cut -d' ' -f1)
now=$(date +%s)
claim() { # PID TIME
	printf '{"type":"claim","checkpoint":"%s","sha256":"%s","dataset":"%s","dataset_sha256":"%s","pid":%s,"host":"%s","time":%s}\n' \
		$C10 "$sha" "$E" "$dsha" "$1" "$(hostname)" "$2" | tp-cat -j -m
}
sleep 300 &
live=$!
claim $live $now >live.ledger
t_true "a live claim is respected (exit 5)" sh -c "tp-eval -d $E -l live.ledger $C10 >/dev/null; test \$? = 5"
t_eq "and reported with -v" "$(tp-eval -v -d "$E" -l live.ledger $C10 2>&1 >/dev/null)" \
	"tp-eval: $C10: skipped, being evaluated by another tp-eval"
claim $live $((now - 100)) >old.ledger
t_true "a live claim younger than --claim-timeout holds" sh -c \
	"tp-eval --claim-timeout 1000 -d $E -l old.ledger $C10 >/dev/null; test \$? = 5"
t_ok "a live claim older than --claim-timeout is stale" \
	tp-eval --claim-timeout 50 -d "$E" -l old.ledger $C10
kill $live
wait $live 2>/dev/null
claim 2147483646 $now >dead.ledger
t_ok "a dead process's claim is taken over" tp-eval -d "$E" -l dead.ledger $C10
t_eq "and evaluated" "$(tp-cat -k step -H t.out)" 10

# A checkpoint that does not verify (still being copied, damaged) is
# skipped with a note, not recorded, and retried by the next run; hidden
# temporary files are never taken.
mkdir -p part/ckpt
head -c 5000 run/ckpt/step-000000050.tpc >part/ckpt/step-000000050.tpc
cp run/ckpt/step-000000060.tpc part/ckpt/.step-000000060.tpc.tmp.123.0
t_exit 5 'part/ckpt/step-000000050.tpc: skipped for now, it does not verify' \
	"an incomplete checkpoint is skipped (exit 5)" tp-eval -d "$E" -l P part
t_eq "it is not recorded as done" "$(tp-cat -t done -c P)" 0
cp run/ckpt/step-000000050.tpc part/ckpt/step-000000050.tpc
t_ok "once complete, the next run evaluates it" tp-eval -d "$E" -l P part
t_eq "only it" "$(tp-cat -k checkpoint -H t.out)" part/ckpt/step-000000050.tpc
t_true "then nothing is new" sh -c "tp-eval -d $E -l P part >/dev/null; test \$? = 5"
mkdir empty
t_true "a run without any checkpoint yet is nothing new with a ledger" \
	sh -c "tp-eval -d $E -l P empty >/dev/null; test \$? = 5"

# ---- the cron example ----
S=$TOP/share/examples/cron/eval-new-checkpoints.sh
mkdir runs && cp -R run runs/a && cp -R plain runs/b
t_ok "cron script, first run" sh "$S" 'runs/*' "$E" runs.ledger out.tpr
t_eq "appends 21 records" "$(tp-cat -t eval -c out.tpr)" 21
cp out.tpr out1.tpr
t_true "second run: exit 5" sh -c "sh $S 'runs/*' $E runs.ledger out.tpr; test \$? = 5"
t_cmp "second run: nothing appended" out.tpr out1.tpr
cp -R tr runs/c
t_ok "a new run appears" sh "$S" 'runs/*' "$E" runs.ledger out.tpr
t_eq "its checkpoint is appended" "$(tp-cat -t eval -c out.tpr)" 22
t_true "no glob match: exit 5" sh -c "sh $S 'none/*' $E runs.ledger out.tpr; test \$? = 5"
t_exit 2 'usage: eval-new-checkpoints.sh' "script usage" sh "$S" 'runs/*'
t_true "the crontab line calls the script" grep -q 'eval-new-checkpoints.sh' "$TOP/share/examples/cron/crontab"

# ---- errors ----
tp-data synth -n 50 --features 10 -o other.zst
printf 'not a checkpoint' >bad.tpc
cp run/ckpt/step-000000010.tpc flip.tpc
printf 'X' | dd of=flip.tpc bs=1 seek=3000 conv=notrunc 2>/dev/null
t_exit 3 'missing.tpc: No such file or directory' "missing checkpoint" tp-eval -d "$E" missing.tpc
t_exit 3 'bad.tpc: not a tp checkpoint' "not a checkpoint" tp-eval -d "$E" bad.tpc
t_exit 3 'flip.tpc: .*(checksum|corrupt|damaged|mismatch)' "corrupt checkpoint" tp-eval -d "$E" flip.tpc
t_exit 3 "step-000000010.tpc: the model takes 64 features and 10 classes, but other.zst has 10 and" \
	"dataset of another shape" tp-eval -d other.zst $C10
t_exit 3 'nodata.zst' "missing dataset" tp-eval -d nodata.zst $C10
t_exit 3 'empty: no checkpoint' "a run directory without checkpoints" tp-eval -d "$E" empty
t_true "the others are still evaluated when one fails" sh -c \
	"tp-eval -d $E missing.tpc $C10 2>/dev/null | tp-cat -c | grep -qx 1"
t_exit 2 'no dataset given' "no --data" tp-eval $C10
t_exit 2 'no checkpoint given' "no operand" tp-eval -d "$E"
t_exit 2 "^tp-eval: --threads: '0' is not an integer in \\[1, 1024\\]$" "bad thread count" \
	tp-eval --threads 0 -d "$E" $C10
t_exit 2 "unknown option '--bogus'" "unknown option" tp-eval --bogus -d "$E" $C10
t_exit 2 "option '--data' needs a value" "missing value" tp-eval $C10 --data
t_exit 2 "--batch-size: '0' is not an integer" "batch size 0" tp-eval -b 0 -d "$E" $C10
t_exit 2 "--top-k: 'x' is not an integer" "bad top-k" tp-eval -k x -d "$E" $C10
t_exit 2 "--sample: '0' is not an integer" "sample 0" tp-eval -n 0 -d "$E" $C10
t_exit 2 "--sample 1000: .* has only $NE examples" "sample larger than the set" \
	tp-eval -n 1000 -d "$E" $C10
t_exit 2 'exclude each other' "--sample and --sample-file" tp-eval -n 5 --sample-file "$T" -d "$E" $C10
t_exit 2 'stratify needs --sample N' "--stratify alone" tp-eval -S -d "$E" $C10
t_exit 2 'stratify: lin-test.zst has no classes' "--stratify on regression" tp-eval -S -n 5 -d lin-test.zst rrun
t_exit 3 'other.zst: 10 features and 3 classes, but digits-test.zst has 64 and 10' "sample file of another shape" \
	tp-eval --sample-file other.zst -d "$E" $C10
t_exit 2 "--claim-timeout: 'soon'" "bad claim timeout" tp-eval --claim-timeout soon -l L -d "$E" $C10
t_exit 3 'nodir/L.lock' "ledger in a missing directory" tp-eval -l nodir/L -d "$E" $C10
printf 'garbage' >bad.ledger
t_exit 3 'bad.ledger' "a corrupt ledger is an error, not rewritten" tp-eval -l bad.ledger -d "$E" $C10
t_eq "the corrupt ledger is left alone" "$(cat bad.ledger)" garbage
# A ledger cut by a crash mid-append: refused with the offset to cut at.
tp-eval -d "$E" -l cut.ledger $C10 >/dev/null
size=$(wc -c <cut.ledger | tr -d ' ')
head -c 40 cut.ledger >>cut.ledger
t_exit 3 "cut.ledger: byte $size: truncated" "a cut ledger names the offset" \
	tp-eval -d "$E" -l cut.ledger run/ckpt/step-000000020.tpc
truncate -s "$size" cut.ledger
t_ok "truncating it there repairs it" tp-eval -d "$E" -l cut.ledger run/ckpt/step-000000020.tpc
t_ok "--help" tp-eval --help
t_true "--help on stdout" grep -q 'usage: tp-eval' t.out
