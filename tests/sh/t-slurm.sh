# t-slurm: share/examples/cluster/trial.sbatch as a Slurm job array on a
# private single-node cluster that this test starts and stops itself: its
# own munged, slurmctld and slurmd, configured in the scratch directory,
# on free loopback ports.  A small study runs as an array, every trial
# reaches the tp-track store once, submitting it again adds nothing, and a
# task requeued in the middle of training (what preemption does) resumes
# from its checkpoint to the same parameters as an uninterrupted run; and
# study.mk launches its trials through srun.
# Needs root and the Debian packages slurmd slurmctld slurm-client munge.
. "$TP_TOP/tests/lib.sh"
EX=$TOP/share/examples/cluster
PATH=$PATH:/usr/sbin:/sbin

skip() { ok "skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "not root (slurmd runs jobs as root here)"
for c in munged slurmctld slurmd sbatch squeue sinfo scontrol scancel; do
	command -v "$c" >/dev/null 2>&1 ||
		skip "no $c (Debian packages slurmd slurmctld slurm-client munge)"
done

# free_port: set port to a TCP port that no socket uses (/proc/net/tcp*)
# and that an earlier call did not pick.
used=" $(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	awk '$2 ~ /:/ { split($2, a, ":"); printf "%s ", a[2] }')"
free_port() {
	while :; do
		port=$((20000 + RANDOM % 30000))
		hex=$(printf '%04X' "$port")
		case "$used" in *" $hex "*) continue ;; esac
		used="$used$hex "
		return
	done
}
free_port; ctld_port=$port
free_port; slurmd_port=$port

host=$(hostname -s)
S=$PWD/slurm
mkdir -p "$S/key" "$S/sock" "$S/state" "$S/spool" "$S/log"
chmod 700 "$S/key"
chmod 755 "$S/sock" # munged insists that everyone may reach its socket
dd if=/dev/urandom of="$S/key/munge.key" bs=1024 count=1 2>/dev/null
chmod 600 "$S/key/munge.key"
cat >"$S/slurm.conf" <<EOF
ClusterName=tptest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$S/sock/munge.socket
CredType=cred/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/log/slurmctld.log
SlurmdLogFile=$S/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=tp Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$S/slurm.conf

# The daemons are children of this shell; they and any job left behind
# are stopped on every way out.
pids="" job=""
cleanup() {
	if [ -n "$job" ]; then
		scancel "$job" 2>/dev/null
		i=0
		while [ $i -lt 50 ] && [ -n "$(squeue -h -j "$job" 2>/dev/null)" ]; do
			sleep 0.2; i=$((i + 1))
		done
	fi
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
diag() { tail -n 5 "$S/log/slurmctld.log" "$S/log/slurmd.log" 2>/dev/null | sed 's/^/#   /'; }

munged -F --key-file="$S/key/munge.key" --socket="$S/sock/munge.socket" \
	--pid-file="$S/munged.pid" --log-file="$S/log/munged.log" \
	--seed-file="$S/munged.seed" >"$S/log/munged.out" 2>&1 &
pids="$pids $!"
i=0
while [ $i -lt 50 ] && [ ! -S "$S/sock/munge.socket" ]; do sleep 0.1; i=$((i + 1)); done
t_true "munged is up" test -S "$S/sock/munge.socket" || { sed 's/^/#   /' "$S/log/munged.out"; exit 1; }

slurmctld -D -f "$S/slurm.conf" >"$S/log/slurmctld.out" 2>&1 &
pids="$pids $!"
slurmd -D -f "$S/slurm.conf" >"$S/log/slurmd.out" 2>&1 &
pids="$pids $!"
state=""
i=0
while [ $i -lt 60 ]; do
	state=$(sinfo -h -N -o %t 2>/dev/null)
	[ "$state" = idle ] && break
	sleep 0.5; i=$((i + 1))
done
t_eq "the node $host is idle" "$state" idle
[ "$state" = idle ] || { diag; exit 1; }

# wait_job JOB SECONDS: until the job has left the queue; 1 on timeout.
wait_job() {
	w=0
	while [ -n "$(squeue -h -j "$1" 2>/dev/null)" ]; do
		[ $w -ge $(($2 * 5)) ] && return 1
		sleep 0.2; w=$((w + 1))
	done
}
# tasks JOB: "T C": the array's tasks, and how many of them completed with
# exit status 0.
tasks() {
	scontrol -o show job "$1" >tasks.txt 2>&1
	echo "$(grep -c 'JobState=' tasks.txt) $(grep -c 'JobState=COMPLETED .*ExitCode=0:0' tasks.txt)"
}
objects() { find store/objects -type f | wc -l; }

tp-data pack --scale minmax -o digits.zst "$DATA/digits.csv.gz"
tp-data split -f 0.8,0.2 -s 1 --names train,valid -o d digits.zst
cat >sl.space <<'EOF'
study sl
scientific optimizer choice adam nesterov
nuisance lr float 1e-3 1e-1 log
fixed steps 100
fixed eval_every 50
fixed width 32
fixed batch_size 32
EOF
export TP_TRACK=$PWD/store
sh "$EX/prepare.sh" -n 2 -s 1 sl.space d-train.zst d-valid.zst sl >/dev/null

# The array: 4 trials (2 studies x 2), as trial.sbatch says to submit it.
n=$(tp-cat -t trial -c sl/trials.tpr)
job=$(cd sl && sbatch --parsable --array=0-$((n - 1)) "$EX/trial.sbatch" --checkpoints 2)
t_true "sbatch --array=0-3 accepted" test -n "$job"
t_true "the array finished within 60 s" wait_job "$job" 60 || diag
t_eq "4 tasks, all completed with exit status 0" "$(tasks "$job")" "4 4"
for i in 0 1 2 3; do
	t_true "task $i put runs/$i in the store" grep -q "^trial.sbatch: runs/$i: in the store$" "sl/runs/$i.log"
	t_true "runs/$i finished" test -s "sl/runs/$i/model.tpm"
done
t_eq "the table: both studies, 2 trials each, all with a value" \
	"$(tp-track table -f tsv | awk -F'\t' 'NR > 1 { print $1, $2, ($5 != "") }' | tr '\n' ,)" \
	"sl/optimizer=adam 2 1,sl/optimizer=nesterov 2 1,"
for s in sl/optimizer=adam sl/optimizer=nesterov; do
	t_eq "$s: trials 0 and 1, once each, with results" \
		"$(tp-track table --study "$s" -f tsv | awk -F'\t' 'NR > 1 && $3 != "" { print $1 }' | sort | tr '\n' ' ')" "0 1 "
done

# The same array again (after a time limit, a cancelled job): nothing is
# trained twice and the store does not change.
n0=$(objects)
job=$(cd sl && sbatch --parsable --array=0-$((n - 1)) "$EX/trial.sbatch")
t_true "the second array finished within 60 s" wait_job "$job" 60 || diag
t_eq "4 tasks, all completed again" "$(tasks "$job")" "4 4"
t_eq "every task found its result" "$(cat sl/runs/?.log | grep -c ': has a result$')" 4
t_eq "the store is unchanged" "$(objects)" "$n0"

# Preemption: requeue a task in the middle of training; Slurm sends
# SIGTERM, tp-train checkpoints and stops, and the requeued task resumes.
sed -e 's/^study .*/study long/' -e 's/^fixed steps .*/fixed steps 60000/' \
	-e 's/^fixed eval_every .*/fixed eval_every 10000/' -e '/^scientific/d' sl.space >long.space
sh "$EX/prepare.sh" -n 1 long.space d-train.zst d-valid.zst long >/dev/null
(cd long && tp-train -q --threads 1 -d ref --trial trials.tpr --valid data/valid.zst data/train.zst)
job=$(cd long && sbatch --parsable --array=0 "$EX/trial.sbatch" --checkpoint-every 2000)
i=0
has_ckpt() { set -- long/runs/0/ckpt/*.tpc; [ -e "$1" ]; }
while [ $i -lt 300 ] && ! has_ckpt; do sleep 0.1; i=$((i + 1)); done
t_ok "scontrol requeue after the first checkpoint" scontrol requeue "${job}_0"
# A requeued job waits for its old credential to expire (2 minutes); the
# test does not.
i=0
while [ $i -lt 100 ] && [ "$(squeue -h -j "$job" -o %t 2>/dev/null)" != PD ]; do sleep 0.2; i=$((i + 1)); done
t_ok "the task is pending again; start it now" scontrol update jobid="${job}_0" StartTime=now
t_true "the requeued task finished within 60 s" wait_job "$job" 60 || diag
t_eq "it completed with exit status 0" "$(tasks "$job")" "1 1"
t_true "the first attempt was interrupted" grep -q 'interrupted at step' long/runs/0.log
t_true "... and its script said so" grep -q '^trial.sbatch: runs/0: interrupted; it resumes' long/runs/0.log
t_true "the second attempt ran" grep -q 'task 0, on .*, restart 1$' long/runs/0.log
params() { tar -xOf "$1" params.f32 | od -An -tx1 | md5sum; }
t_eq "the parameters equal an uninterrupted run's" \
	"$(params long/runs/0/model.tpm)" "$(params long/ref/model.tpm)"
t_eq "the store has its result" \
	"$(tp-track table --study long -f tsv | awk -F'\t' 'NR > 1 && $3 != ""' | wc -l)" 1
job=""

# study.mk with each trial launched through srun (doc/tp-cluster.7):
# make keeps the dependency graph, Slurm places every job.
sed -e 's/^study .*/study sr/' sl.space >sr.space
sh "$EX/prepare.sh" -n 1 -s 2 sr.space d-train.zst d-valid.zst sr >/dev/null
t_ok "make -f study.mk -j2 LAUNCH='srun -N1 -n1 --exclusive'" timeout 120 \
	make -s -f "$EX/study.mk" -j2 STUDY=sr LAUNCH='srun -N1 -n1 --exclusive'
t_eq "srun: Slurm allocated both trials" \
	"$(grep -c '_slurm_rpc_allocate_resources' "$S/log/slurmctld.log")" 2
for i in 0 1; do
	t_true "srun: runs/$i finished" test -s "sr/runs/$i/model.tpm"
done
t_eq "srun: both studies' trials in the store, with results" \
	"$(tp-track table -f tsv | awk -F'\t' 'NR > 1 && $1 ~ /^sr\// { print $1, $2, ($5 != "") }' | tr '\n' ,)" \
	"sr/optimizer=adam 1 1,sr/optimizer=nesterov 1 1,"
