# t-resume: checkpoints, kill -9 at many moments and exact resume, the keep
# policy, warm start, the model artifact and checkpoint errors.
. "$TP_TOP/tests/lib.sh"

tp-data pack --scale minmax "$DATA/digits.csv.gz" -o digits.tpd.zst
tp-data split -f 0.6,0.2,0.2 -s 1 -o digits digits.tpd.zst

# Every piece of state is exercised: Adam moments, batch-norm running
# statistics, dropout's generator, the loader's position in its epoch, and
# a train-record window that a checkpoint cuts in the middle (log_every 7).
# A script that execs tp-train, so that `(cd D && exec sh ../train.sh run) &`
# leaves $! the pid of tp-train itself, a child of this shell.
cat >train.sh <<'SH'
d=$1; shift
exec tp-train -d "$d" --threads 1 --no-timing -q --steps 300 --checkpoint-every 20 \
	--keep-best 2 --keep-latest 2 --norm batch --ghost-batch 32 --dropout 0.1 \
	--batch-size 64 --eval-every 50 --log-every 7 --width 128 \
	--valid ../digits-valid.zst "$@" ../digits-train.zst
SH
train() { sh ../train.sh "$@"; }
start_bg() { # DIR [flags]: start in DIR, pid in $pid
	d=$1; shift
	(cd "$d" && exec sh ../train.sh run "$@") &
	pid=$!
}
records() { tp-cat -t train -c "$1" 2>/dev/null || echo 0; }
params() { tar -xOf "$1" params.f32 | od -An -tx1 | md5sum; }

mkdir ref && (cd ref && train run) 
t_true "reference run completes" test -s ref/run/model.tpm
t_eq "checkpoints kept: 2 latest + 2 best at most" \
	"$(ls ref/run/ckpt | wc -l | awk '$1 >= 2 && $1 <= 4 {print "ok"}')" ok
t_true "no temporary files left" sh -c '! ls -a ref/run/ckpt | grep -q tmp'
t_eq "eval records name their checkpoints" \
	"$(tp-cat -t eval -k checkpoint -H ref/run/metrics.tpr | grep -c step-)" 15

# kill -9 after K train records appeared, for ten values of K, then resume
# until done; the result must equal the uninterrupted run byte for byte.
i=0
for k in 1 3 6 9 14 19 23 28 33 40; do
	i=$((i + 1))
	mkdir k$i
	start_bg k$i
	while [ "$(records k$i/run/metrics.tpr)" -lt $k ] && kill -0 $pid 2>/dev/null; do
		sleep 0.01; done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	(cd k$i && tp-train -d run --resume --threads 1 --no-timing -q) 2>k$i.err
	t_cmp "kill at ~$k train records: metrics identical" ref/run/metrics.tpr k$i/run/metrics.tpr
	t_eq "kill at ~$k train records: final parameters identical" \
		"$(params k$i/run/model.tpm)" "$(params ref/run/model.tpm)"
done

# kill -9 while a checkpoint is being written: as soon as a temporary file
# shows up in ckpt/.  The torn temporary file must never be taken for a
# checkpoint, and the resumed run must still be exact.
mkdir kw && start_bg kw --width 512
n=0
while [ $n -lt 2000 ] && ! ls -a kw/run/ckpt 2>/dev/null | grep -q '\.tmp\.'; do
	sleep 0.002; n=$((n + 1)); done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
mkdir kwref && (cd kwref && train run --width 512)
(cd kw && tp-train -d run --resume --threads 1 --no-timing -q)
t_cmp "kill during a checkpoint write: metrics identical" kwref/run/metrics.tpr kw/run/metrics.tpr
t_eq "kill during a checkpoint write: parameters identical" \
	"$(params kw/run/model.tpm)" "$(params kwref/run/model.tpm)"
t_true "temporary files cleaned on resume" sh -c '! ls -a kw/run/ckpt | grep -q tmp'

# A damaged latest checkpoint is skipped with a warning; the run resumes
# from the one before and still ends identical.
mkdir dmg && (cd dmg && train run --steps 120 --keep-latest 3)
last=$(ls dmg/run/ckpt | tail -n 1)
head -c 5000 "dmg/run/ckpt/$last" >t && cat t >"dmg/run/ckpt/$last"
mkdir dmgref && (cd dmgref && train run --steps 120 --keep-latest 3)
(cd dmg && tp-train -d run --resume --threads 1 --no-timing -q) 2>dmg.err
t_true "damaged checkpoint reported" grep -q "skipped, it does not verify" dmg.err
t_cmp "resume past a damaged checkpoint: metrics identical" dmgref/run/metrics.tpr dmg/run/metrics.tpr

# SIGTERM: a preemption checkpoint, exit 8, then an exact resume.
mkdir term && start_bg term
while [ "$(records term/run/metrics.tpr)" -lt 10 ]; do sleep 0.01; done
kill -TERM $pid; wait $pid; rc=$?
t_eq "SIGTERM exits 8" "$rc" 8
(cd term && tp-train -d run --resume --threads 1 --no-timing -q)
t_cmp "resume after SIGTERM: metrics identical" ref/run/metrics.tpr term/run/metrics.tpr

# Virtual epochs: N checkpoints spread evenly over the steps.
mkdir ve && (cd ve && tp-train -d run --threads 1 -q --steps 100 --checkpoints 4 \
	--keep-latest 10 ../digits-train.zst)
t_eq "--checkpoints 4 over 100 steps" "$(ls ve/run/ckpt | tr '\n' ' ')" \
	"step-000000025.tpc step-000000050.tpc step-000000075.tpc step-000000100.tpc "

# Warm start: parameters from a checkpoint, fresh optimizer and steps.
best=$(ls ref/run/ckpt | tail -n 1)
t_ok "warm start" tp-train --threads 1 --no-timing --steps 5 --norm batch --ghost-batch 32 \
	--width 128 --batch-size 64 --init-from "ref/run/ckpt/$best" -o warm.tpr digits-train.zst
t_eq "init_from recorded" "$(tp-cat -t config -k init_from -H warm.tpr)" "ref/run/ckpt/$best"
t_exit 3 "another architecture|does not match" "warm start refuses another shape" \
	tp-train --width 64 --init-from "ref/run/ckpt/$best" digits-train.zst
t_exit 3 "nope.tpc" "warm start from a missing file" tp-train --init-from nope.tpc digits-train.zst

# Errors.
t_exit 2 "checkpoints need a run directory" "checkpoints without -d" \
	tp-train --checkpoints 3 digits-train.zst
t_exit 2 "give no hyperparameters" "--resume with hyperparameters" \
	tp-train -d ref/run --resume --lr 0.1
t_exit 2 "needs a run directory" "--resume without -d" tp-train --resume
t_exit 3 "nothere/config.tpr" "--resume of a missing run" tp-train -d nothere --resume
t_exit 2 "give checkpoints or checkpoint_every" "both checkpoint flags" \
	tp-train -d x --checkpoints 2 --checkpoint-every 5 digits-train.zst

# Disk full while checkpointing: exit 6, the previous checkpoints intact.
if mkdir small && mount -t tmpfs -o size=1200k tmpfs small 2>/dev/null; then
	tp-train -d small/run --threads 1 -q --steps 200 --checkpoint-every 10 --keep-latest 100 \
		--width 128 digits-train.zst 2>full.err >/dev/null; rc=$?
	t_eq "disk full: exit 6" "$rc" 6
	t_true "disk full: one clear line" grep -q "no safe checkpoint" full.err
	for f in small/run/ckpt/*.tpc; do
		t_ok "disk full: $(basename "$f") still verifies" tp-ckpt verify "$f"
	done
	t_true "disk full: no temporary file left" sh -c '! ls -a small/run/ckpt | grep -q tmp'
	umount small
else
	ok "disk full: skipped (cannot mount a tmpfs here)"
fi
