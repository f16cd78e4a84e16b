# t-cluster: the study launchers of share/examples/cluster on this machine:
# prepare.sh, run-trial.sh (resume, divergence, the per-trial lock), GNU
# parallel (parallel.sh, local and through `-S :', GNU parallel's own
# "host"), and make -j (study.mk), both feeding one tp-track store.  Every
# trial runs once, the store holds it once, and running again changes
# nothing.  --sshlogin to other machines runs through a stand-in for ssh
# that runs the command here.
. "$TP_TOP/tests/lib.sh"
EX=$TOP/share/examples/cluster
export TP_TRACK=$PWD/store
# GNU parallel keeps state in ~/.parallel (and warns without a HOME).
mkdir home
export HOME=$PWD/home

tp-data pack --scale minmax -o digits.zst "$DATA/digits.csv.gz"
tp-data split -f 0.8,0.2 -s 1 --names train,valid -o d digits.zst
space() { # NAME: two studies (adam, nesterov) of a tiny model
	cat <<EOF
study $1
scientific optimizer choice adam nesterov
nuisance lr float 1e-3 1e-1 log
fixed steps 100
fixed eval_every 50
fixed width 32
fixed batch_size 32
fixed checkpoints 2
EOF
}
space par >par.space
space mk >mk.space
have_parallel=0
parallel --version 2>/dev/null | grep -q 'GNU parallel' && have_parallel=1
objects() { find store/objects -type f | wc -l; }
# rows STUDY: the trial ids of the study's table, one per line, sorted.
rows() { tp-track table --study "$1" -f tsv | tail -n +2 | cut -f1 | sort; }
# results STUDY: how many of its trials have a value.
results() { tp-track table --study "$1" -f tsv | awk -F'\t' 'NR > 1 && $3 != ""' | wc -l; }

for s in prepare.sh run-trial.sh parallel.sh; do
	t_ok "$s -h" sh "$EX/$s" -h
	t_true "... prints its usage to stdout" grep -q "^usage: $s " t.out
done

# prepare.sh: the layout, idempotence, and its errors.
t_ok "prepare.sh" sh "$EX/prepare.sh" -n 2 -s 1 par.space d-train.zst d-valid.zst par
t_true "it says how many trials" grep -qx "par: 4 trials ready" t.out
for f in study.space trials.tpr data/train.zst data/valid.zst; do
	t_true "par/$f exists" test -s "par/$f"
done
t_cmp "the training set is a copy" d-train.zst par/data/train.zst
t_eq "both studies registered, with every trial planned" \
	"$(tp-track table -f tsv | awk -F'\t' 'NR > 1 { print $1, $2 }' | tr '\n' ,)" \
	"par/optimizer=adam 2,par/optimizer=nesterov 2,"
n0=$(objects)
t_ok "prepare.sh again, same inputs" sh "$EX/prepare.sh" -n 2 -s 1 par.space d-train.zst d-valid.zst par
t_eq "... adds nothing to the store" "$(objects)" "$n0"
t_exit 3 '^prepare.sh: par/trials.tpr: differs from the trials of -n 3 -s 1 \(prepare a new study directory\)$' \
	"prepare.sh refuses other trials in a prepared directory" \
	sh "$EX/prepare.sh" -n 3 -s 1 par.space d-train.zst d-valid.zst par
t_exit 3 '^prepare.sh: par/data/valid.zst: differs from d-train.zst ' \
	"prepare.sh refuses other data in a prepared directory" \
	sh "$EX/prepare.sh" -n 2 -s 1 par.space d-train.zst d-train.zst par
t_exit 2 '^usage: prepare.sh ' "prepare.sh: missing operands" sh "$EX/prepare.sh" par.space
t_exit 2 '^usage: prepare.sh ' "prepare.sh: unknown option" sh "$EX/prepare.sh" -x a b c d
t_exit 3 '^prepare.sh: nope.space: no such file$' "prepare.sh: missing space" \
	sh "$EX/prepare.sh" nope.space d-train.zst d-valid.zst x
t_true "... and no directory was made" test ! -e x

# run-trial.sh's errors, before any trial ran.
t_exit 2 '^usage: run-trial.sh STUDYDIR N' "run-trial.sh: missing N" sh "$EX/run-trial.sh" par
t_exit 2 "^run-trial.sh: trial index 'x1' is not a number$" "run-trial.sh: N not a number" \
	sh "$EX/run-trial.sh" par x1
t_exit 2 '^run-trial.sh: par/trials.tpr: no trial 4 \(it holds 4, 0 to 3\)$' \
	"run-trial.sh: N out of range" sh "$EX/run-trial.sh" par 4
t_exit 3 '^run-trial.sh: nope/trials.tpr: no such file \(run prepare.sh first\)$' \
	"run-trial.sh: not a study directory" sh "$EX/run-trial.sh" nope 0
t_exit 1 '^run-trial.sh: par/runs/0: another process is running this trial$' \
	"run-trial.sh: a trial is run by one process at a time" \
	flock par/runs/0.lock sh "$EX/run-trial.sh" par 0
t_true "... which left it alone" test ! -e par/runs/0

# GNU parallel: through -S : (GNU parallel's name for this machine), then
# the local form again, which must find everything done.
if [ "$have_parallel" = 1 ]; then
	t_ok "parallel.sh -S : (4 trials, 2 at a time)" sh "$EX/parallel.sh" -j 2 -S : par
	t_eq "every trial trained once" "$(grep -c '^trial [0-3]: trained$' t.out)" 4
	t_eq "joblog: 4 jobs, all exit 0" \
		"$(awk -F'\t' 'NR > 1 { print $7 }' par/parallel.log | tr -d '\n')" 0000
	for s in par/optimizer=adam par/optimizer=nesterov; do
		t_eq "$s: trials 0 and 1 in the store, once each" "$(rows "$s" | tr '\n' ' ')" "0 1 "
		t_eq "$s: both have a result" "$(results "$s")" 2
	done
	for i in 0 1 2 3; do
		t_true "runs/$i finished" test -s "par/runs/$i/model.tpm"
		t_eq "runs/$i: one config record (one run)" \
			"$(tp-cat -t config -c "par/runs/$i/metrics.tpr")" 1
	done
	n1=$(objects)
	t_ok "parallel.sh again, local form" sh "$EX/parallel.sh" -j 2 par
	t_eq "nothing trained again" "$(grep -c 'trained' t.out)" 0
	t_eq "every trial has its result" "$(grep -c '^trial [0-3]: has a result$' t.out)" 4
	t_eq "the store is unchanged" "$(objects)" "$n1"
	t_eq "still one row per trial" "$(rows par/optimizer=adam | tr '\n' ' ')" "0 1 "

	# -S to other machines: GNU parallel's ssh replaced by a stand-in that
	# logs the host and runs the command here (the same quoting and the
	# same remote wrapper GNU parallel sends over a real ssh).
	cat >fake-ssh <<'SH'
#!/bin/sh
while [ $# -gt 0 ]; do
	case $1 in
	-[bcDEeFIiJLlmOopQRSWw]) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
echo "$1" >>"$SSH_LOG"
shift
[ "$1" = -- ] && shift
# The remote side of a real ssh is a login, with SHELL from the password
# file; GNU parallel's worker runs its job with $SHELL.
SHELL=${SHELL:-/bin/sh}
export SHELL
# ssh joins the words with spaces for the remote shell.
exec sh -c "$*"
SH
	chmod +x fake-ssh
	space ssh >ssh.space
	sh "$EX/prepare.sh" -n 2 -s 1 ssh.space d-train.zst d-valid.zst ssh >/dev/null
	t_ok "parallel.sh -S 1/nodeA -S 1/nodeB (through ssh)" env SSH_LOG="$PWD/ssh.log" \
		PARALLEL="--ssh $PWD/fake-ssh" sh "$EX/parallel.sh" -S 1/nodeA -S 1/nodeB ssh
	t_eq "... every trial trained once" "$(grep -c '^trial [0-3]: trained$' t.out)" 4
	t_eq "... both hosts ran trials" \
		"$(awk -F'\t' 'NR > 1 { print $2 }' ssh/parallel.log | sort -u | tr '\n' ' ')" "nodeA nodeB "
	t_eq "... all exit 0" "$(awk -F'\t' 'NR > 1 { print $7 }' ssh/parallel.log | tr -d '\n')" 0000
	t_eq "... the store has both studies' trials" \
		"$(rows ssh/optimizer=adam | tr '\n' ' ')$(rows ssh/optimizer=nesterov | tr '\n' ' ')" "0 1 0 1 "

	t_ok "run-trial.sh -c: a trial with a result" sh "$EX/run-trial.sh" -c ssh 3
	t_exit 2 '^usage: run-trial.sh ' "run-trial.sh -c takes no tp-train flags" \
		sh "$EX/run-trial.sh" -c ssh 3 --steps 5

	# A remote side that logs success without running the job (GNU
	# parallel's worker cannot start: no usable SHELL there) is caught by
	# the check of every trial's result.
	printf '#!/bin/sh\nexit 0\n' >null-ssh
	chmod +x null-ssh
	space null >null.space
	export TP_TRACK=$PWD/nullstore
	sh "$EX/prepare.sh" -n 1 -s 1 null.space d-train.zst d-valid.zst null >/dev/null
	t_exit 1 '^run-trial.sh' "run-trial.sh -c: a trial without a result" \
		sh -c "sh '$EX/run-trial.sh' -c null 0 || { echo 'run-trial.sh -c: exit' \$? >&2; exit 1; }"
	t_exit 3 "^parallel.sh: $PWD/null: 2 of 2 trials have no result although every job reported success \\(see $PWD/null/parallel.log\\)\$" \
		"parallel.sh: jobs logged as successes without results are caught" \
		env PARALLEL="--ssh $PWD/null-ssh" sh "$EX/parallel.sh" -S 1/nodeA null
	export TP_TRACK=$PWD/store

	# A trial that fails is reported, with the count.
	space bad >bad.space
	export TP_TRACK=$PWD/badstore
	sh "$EX/prepare.sh" -n 1 bad.space d-train.zst d-valid.zst bad >/dev/null
	sh "$EX/parallel.sh" -j 2 bad --no-such-flag 1 >t.out 2>t.err
	t_eq "parallel.sh: failing trials exit 3" "$?" 3
	export TP_TRACK=$PWD/store
	t_eq "... and says how many" "$(tail -n 1 t.err)" \
		"parallel.sh: $PWD/bad: 2 of 2 trials failed (see $PWD/bad/parallel.log)"
else
	ok "skipped: no GNU parallel"
fi
t_exit 2 '^usage: parallel.sh ' "parallel.sh: no study" sh "$EX/parallel.sh"
t_exit 2 '^usage: parallel.sh ' "parallel.sh: unknown option" sh "$EX/parallel.sh" -x par
mkdir fakebin
printf '#!/bin/sh\necho "parallel (moreutils)"\n' >fakebin/parallel
chmod +x fakebin/parallel
t_exit 3 '^parallel.sh: GNU parallel is not installed \(Debian package parallel\)$' \
	"parallel.sh: another parallel(1) is refused" env PATH="$PWD/fakebin:$PATH" sh "$EX/parallel.sh" par
if [ "$have_parallel" = 1 ]; then
	t_exit 3 '^parallel.sh: nope/trials.tpr: no such file' "parallel.sh: not a study directory" \
		sh "$EX/parallel.sh" nope
fi

# make -j, into the same store.
mk() { make --no-print-directory -f "$EX/study.mk" "$@"; }
sh "$EX/prepare.sh" -n 2 -s 1 mk.space d-train.zst d-valid.zst mk >/dev/null
t_ok "make -j2 -f study.mk" mk -j2 STUDY=mk
t_eq "every trial trained once" "$(grep -c '^trial [0-3]: trained$' t.out)" 4
for s in mk/optimizer=adam mk/optimizer=nesterov; do
	t_eq "$s: trials 0 and 1 in the store, once each" "$(rows "$s" | tr '\n' ' ')" "0 1 "
	t_eq "$s: both have a result" "$(results "$s")" 2
done
n2=$(objects)
t_ok "make -q: the study is complete" mk -q STUDY=mk
t_ok "make again" mk -j2 STUDY=mk
t_eq "... runs nothing" "$(grep -c 'run-trial' t.out)" 0
rm mk/runs/2.done
t_ok "make after losing a stamp" mk -j2 STUDY=mk
t_eq "... only ingests that trial again" "$(grep '^trial' t.out)" "trial 2: has a result"
t_eq "the store is unchanged" "$(objects)" "$n2"
t_exit 2 'usage: make -f study.mk' "study.mk: no STUDY" mk
t_exit 2 'nope/trials.tpr: no such file' "study.mk: not a study directory" mk STUDY=nope

if [ "$have_parallel" = 1 ]; then
	t_eq "one store: the table lists all six studies, 2 trials each" \
		"$(tp-track table -f tsv | awk -F'\t' 'NR > 1 { print $1, $2 }' | tr '\n' ,)" \
		"mk/optimizer=adam 2,mk/optimizer=nesterov 2,par/optimizer=adam 2,par/optimizer=nesterov 2,ssh/optimizer=adam 2,ssh/optimizer=nesterov 2,"
fi

# A diverged trial is a result, not a failure.
cat >div.space <<'EOF'
study div
fixed optimizer sgd
fixed lr 1e6
fixed steps 100
EOF
# Without TP_TRACK, the store is the study directory's own.
unset TP_TRACK
sh "$EX/prepare.sh" -n 1 div.space d-train.zst d-valid.zst div >/dev/null
t_ok "run-trial.sh: a diverging trial succeeds" sh "$EX/run-trial.sh" div 0
t_eq "... reported as diverged" "$(cat t.out)" "trial 0: trained, diverged"
t_ok "run-trial.sh again" sh "$EX/run-trial.sh" div 0
t_eq "... does not train it again" "$(cat t.out)" "trial 0: has a result, diverged"
t_eq "div/track counts it as diverged" \
	"$(tp-track -d div/track table -f tsv | awk -F'\t' '$1 == "div" { print $2, $3 }')" "1 1"
export TP_TRACK=$PWD/store

# An interrupted (preempted) trial resumes where it stopped and ends as if
# never interrupted.  timeout signals the whole process group: the script
# and tp-train, as a scheduler does.
sed -e 's/^study .*/study long/' -e 's/^fixed steps .*/fixed steps 60000/' \
	-e 's/^fixed checkpoints .*/fixed checkpoint_every 2000/' -e '/^scientific/d' \
	-e 's/^fixed eval_every .*/fixed eval_every 10000/' par.space >long.space
sh "$EX/prepare.sh" -n 1 long.space d-train.zst d-valid.zst long >/dev/null
(cd long && tp-train -q --threads 1 -d ref --trial trials.tpr --valid data/valid.zst data/train.zst)
timeout -s TERM 1 sh "$EX/run-trial.sh" long 0 >t.out 2>t.err
t_eq "run-trial.sh interrupted by SIGTERM" "$?" 124
t_eq "... waited for tp-train and said so" "$(tail -n 1 t.err)" \
	"run-trial.sh: long/runs/0: interrupted; run it again to resume"
t_true "... tp-train left a checkpoint" sh -c 'ls long/runs/0/ckpt | grep -q tpc'
t_true "... and no result" test ! -e long/runs/0/model.tpm
t_ok "run-trial.sh again" sh "$EX/run-trial.sh" long 0
t_eq "... resumes it" "$(cat t.out)" "trial 0: resumed"
params() { tar -xOf "$1" params.f32 | od -An -tx1 | md5sum; }
t_eq "the parameters equal an uninterrupted run's" \
	"$(params long/runs/0/model.tpm)" "$(params long/ref/model.tpm)"
t_eq "the store has its result" "$(results long)" 1
