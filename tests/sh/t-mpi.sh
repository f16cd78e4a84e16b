# t-mpi: data-parallel tp-train under mpirun (doc/tp-distributed.7): P ranks
# match one rank with the same global batch, P-rank runs are deterministic,
# only rank 0 writes, and a 2-rank run killed with -9 resumes bit for bit.
# Skipped when OpenMPI is not installed; builds the MPI variant of the
# tools in its own directory ($TP_BUILD-mpi) with make MPI=1.
. "$TP_TOP/tests/lib.sh"

# Without MPI support a launcher's environment must be refused, not run as
# P independent copies that all write the same files.
tp-data pack --scale minmax "$DATA/digits.csv.gz" -o digits.tpd.zst
tp-data split -f 0.6,0.2,0.2 -s 1 -o digits digits.tpd.zst
t_exit 2 "started by mpirun with 2 ranks, but built without MPI" \
	"a plain build refuses to run as 2 ranks" \
	env OMPI_COMM_WORLD_SIZE=2 tp-train --steps 1 digits-train.zst
t_ok "a plain build runs as 1 rank of mpirun" \
	env OMPI_COMM_WORLD_SIZE=1 tp-train --steps 1 -o /dev/null digits-train.zst

if ! command -v mpirun >/dev/null 2>&1 || ! command -v mpicc >/dev/null 2>&1; then
	ok "skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"
	exit 0
fi

# The MPI build follows the tested one: sanitizers when it has them.
# Runs that must last long enough to be killed mid-way take half the steps
# there (ASan makes each step several times slower).
san= long=400
if ldd "$TP_BUILD/bin/tp-train" 2>/dev/null | grep -q libasan; then san=SAN=1 long=200; fi
if ! make -C "$TOP" --no-print-directory -j2 MPI=1 $san BUILD="$TP_BUILD-mpi" \
	"$TP_BUILD-mpi/bin/tp-train" "$TP_BUILD-mpi/tests/test-dist" >build.log 2>&1; then
	not_ok "make MPI=1 builds"; tail -n 20 build.log | sed 's/^/#   /'
	exit 1
fi
ok "make MPI=1 builds"
M=$TP_BUILD-mpi/bin

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1
# Under ASan, OpenMPI's own allocations outlive MPI_Finalize: suppress the
# leaks whose stack passes through OpenMPI, nothing else.  Its libraries
# have no frame pointers (full unwinding needed to see them) and unload
# their components (kept loaded, so that stacks name them).  Full unwinding
# makes each MPI start-up take a second, so leaks are checked (leaky, below)
# on the runs that cover the distributed code: the sums on 3 ranks, a 2-rank
# run with evaluation and checkpoints, and a 2-rank resume; the other runs
# keep ASan and UBSan without the leak check.
printf 'leak:libmpi\nleak:libopen-pal\nleak:libopen-rte\nleak:libhwloc\nleak:libevent\nleak:libpmix\nleak:mca_\n' >lsan.supp
export LSAN_OPTIONS="suppressions=$PWD/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0"
export OMPI_MCA_mca_base_component_disable_dlclose=1
leak_opts="${ASAN_OPTIONS:-detect_leaks=1}:detect_leaks=1:fast_unwind_on_malloc=0"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
leaky() { ASAN_OPTIONS=$leak_opts "$@"; }
# The sums themselves: exact rank order, the same bits on every rank, with
# fewer elements than ranks and uneven chunks.
leaky mpirun -np 3 "$TP_BUILD-mpi/tests/test-dist" >sums.out 2>&1; rc=$?
t_eq "test-dist on 3 ranks: exit 0" "$rc" 0
t_eq "test-dist on 3 ranks: no failure" "$(grep -c '^not ok' sums.out)" 0
n1=$(mpirun -np 1 "$TP_BUILD-mpi/tests/test-dist" 2>&1 | grep -c '^ok')
t_eq "test-dist on 3 ranks: every check passed on every rank" \
	"$(grep -c '^ok' sums.out)" $((3 * n1))
mpi() { # NP ARGS...: tp-train (MPI build) on NP ranks
	np=$1; shift
	mpirun -np "$np" "$M/tp-train" "$@"
}
# Batch norm over ghost batches of 32 (each rank of 2 gets 64 rows: the same
# ghost batches as one rank), momentum, 300 steps, checkpoints.
set -- --no-timing -q --steps 300 --batch-size 128 --width 64 --depth 2 \
	--norm batch --ghost-batch 32 --optimizer momentum --lr 0.01 --log-every 5 \
	--eval-every 50 --checkpoint-every 25 --keep-latest 2 --keep-best 0 \
	--valid ../digits-valid.zst ../digits-train.zst
ARGS="$*"
mkdir one two two2
(cd one && "$M/tp-train" --threads 1 -d run $ARGS)
t_ok "2 ranks train" leaky sh -c "cd two && mpirun -np 2 $M/tp-train -d run $ARGS"
(cd two2 && mpi 2 -d run $ARGS)

# Equivalence: the same global batches, sums in another order, so not bit
# for bit.  Tolerance: relative 1e-6 on every logged training loss and
# evaluation loss, 1e-5 absolute on every parameter and running statistic
# (measured here: 1e-7 and 3e-7, float32 rounding of another summation
# order grown over 300 steps).
maxrel() { # FILE1 FILE2 TYPE KEY: max relative difference of a key
	paste <(tp-cat -t "$3" -k "$4" -H "$1") <(tp-cat -t "$3" -k "$4" -H "$2") |
		awk '{ d = $1 - $2; if (d < 0) d = -d; r = d / ($1 < 0 ? -$1 : $1);
		       if (r > m) m = r; n++ } END { printf "%d %.3g\n", n, m }'
}
floats() { tar -xOf "$1" "$2" | od -An -v -tf4 -w4; }
maxabs() { # TPM1 TPM2 MEMBER
	paste <(floats "$1" "$3") <(floats "$2" "$3") |
		awk '{ d = $1 - $2; if (d < 0) d = -d; if (d > m) m = d; n++ }
		     END { printf "%d %.3g\n", n, m }'
}
within() { awk -v s="$1" -v t="$2" 'BEGIN { split(s, a, " "); exit !(a[1] > 0 && a[2] <= t) }'; }
d=$(maxrel one/run/metrics.tpr two/run/metrics.tpr train loss)
t_true "train loss curve: 60 records, relative difference ($d) <= 1e-6" within "$d" 1e-6
t_eq "60 train records" "${d%% *}" 60
d=$(maxrel one/run/metrics.tpr two/run/metrics.tpr eval loss)
t_true "eval loss: relative difference ($d) <= 1e-6" within "$d" 1e-6
t_eq "eval accuracy identical" \
	"$(tp-cat -t eval -k step,accuracy,count -H two/run/metrics.tpr)" \
	"$(tp-cat -t eval -k step,accuracy,count -H one/run/metrics.tpr)"
d=$(maxabs one/run/model.tpm two/run/model.tpm params.f32)
t_true "parameters: max difference ($d) <= 1e-5" within "$d" 1e-5
d=$(maxabs one/run/model.tpm two/run/model.tpm buffers.f32)
t_true "running statistics: max difference ($d) <= 1e-5" within "$d" 1e-5
t_eq "the config records 2 ranks" "$(tp-cat -t config -k ranks -H two/run/metrics.tpr)" 2
t_true "time has a reduce phase" sh -c \
	"mpirun -np 2 $M/tp-train -q --steps 20 --width 16 digits-train.zst 2>/dev/null |
	 tp-cat -t train -n 1 | grep -q reduce"

# Determinism: sums in rank order, so two 2-rank runs agree to the byte.
t_cmp "two 2-rank runs: identical streams" two/run/metrics.tpr two2/run/metrics.tpr
t_cmp "two 2-rank runs: identical models" two/run/model.tpm two2/run/model.tpm

# Only rank 0 writes: one stream with one config and one summary, and the
# run directory holds what a 1-rank run's does.
mpi 2 -q --steps 30 --width 16 --eval-every 10 --valid digits-valid.zst \
	digits-train.zst >so.tpr 2>so.err
t_eq "stdout: one config record" "$(tp-cat -t config -c so.tpr)" 1
t_eq "stdout: one summary record" "$(tp-cat -t summary -c so.tpr)" 1
t_eq "stdout: 3 eval records" "$(tp-cat -t eval -c so.tpr)" 3
t_eq "run directory: the files of a 1-rank run" "$(cd two/run && find . | sort)" \
	"$(cd one/run && find . | sort)"

# Uneven shares: 3 ranks of 128 rows hold 42, 43, 43; weighted sums keep the
# loss the mean over the global batch (no batch norm: ghost batches of
# uneven shares differ from one rank's).
set -- --no-timing -q --steps 100 --batch-size 128 --width 32 --optimizer adam \
	--lr 0.003 --eval-every 50 --valid digits-valid.zst digits-train.zst
"$M/tp-train" --threads 1 "$@" -o u1.tpr
mpi 3 "$@" -o u3.tpr
d=$(maxrel u1.tpr u3.tpr train loss)
t_true "3 uneven ranks: train loss within 1e-6 ($d)" within "$d" 1e-6
d=$(maxrel u1.tpr u3.tpr eval loss)
t_true "3 uneven ranks: eval loss within 1e-6 ($d)" within "$d" 1e-6

# kill -9 of a rank mid-run, then --resume on 2 ranks: the stream and the
# model equal the uninterrupted 2-rank run's, bit for bit.  Wider (so that
# the run lasts long enough to be killed), with dropout (per-step, per-rank
# masks) and Adam.
set -- --no-timing -q --steps $long --batch-size 128 --width 512 --depth 2 \
	--norm batch --ghost-batch 32 --dropout 0.1 --optimizer adam --lr 0.001 \
	--log-every 5 --eval-every 40 --checkpoint-every 20 --keep-latest 2 \
	--valid ../digits-valid.zst ../digits-train.zst
KARGS="$*"
mkdir kref k
(cd kref && mpi 2 -d run $KARGS)
cat >rank.sh <<SH
echo \$\$ >pid.\$OMPI_COMM_WORLD_RANK
exec $M/tp-train "\$@"
SH
# kill_rank1 DIR WHAT ARGS...: a 2-rank run in DIR/run, rank 1 killed
# with -9 once 12 train records are out; the run must be left incomplete.
kill_rank1() {
	kd=$1 what=$2; shift 2
	(cd "$kd" && exec mpirun -np 2 sh ../rank.sh -d run "$@") >/dev/null 2>&1 &
	mp=$!
	n=0
	while [ "$(tp-cat -t train -c "$kd/run/metrics.tpr" 2>/dev/null || echo 0)" -lt 12 ] &&
		[ $n -lt 3000 ] && kill -0 $mp 2>/dev/null; do sleep 0.01; n=$((n + 1)); done
	if [ -f "$kd/pid.1" ] && kill -9 "$(cat "$kd/pid.1")" 2>/dev/null; then
		ok "${what}rank 1 killed with -9 at $(tp-cat -t train -c "$kd/run/metrics.tpr") train records"
	else
		not_ok "${what}rank 1 killed with -9 (the run was over before)"
	fi
	wait $mp 2>/dev/null
	t_true "${what}the killed run is incomplete" test ! -f "$kd/run/model.tpm"
}
# resume_both DIR REF WHAT: DIR/run (killed) resumed on 2 ranks must equal
# REF/run byte for byte; a copy (DIR-p1) resumed on 1 rank must finish with
# the same steps.
resume_both() {
	kd=$1 ref=$2 what=$3
	mkdir "$kd-p1" && cp -r "$kd/run" "$kd-p1/run"
	t_ok "${what}2-rank resume" leaky sh -c "cd $kd && mpirun -np 2 $M/tp-train -d run --resume --no-timing -q"
	t_cmp "${what}kill -9 and resume: identical stream" "$ref/run/metrics.tpr" "$kd/run/metrics.tpr"
	t_cmp "${what}kill -9 and resume: identical model" "$ref/run/model.tpm" "$kd/run/model.tpm"
	t_ok "${what}resume a 2-rank checkpoint on 1 rank" sh -c \
		"cd $kd-p1 && $M/tp-train -d run --resume --threads 1 --no-timing -q"
	t_eq "${what}1-rank continuation: the same steps" \
		"$(tp-cat -t train -k step -H "$kd-p1/run/metrics.tpr" | tr '\n' ' ')" \
		"$(tp-cat -t train -k step -H "$ref/run/metrics.tpr" | tr '\n' ' ')"
	t_true "${what}1-rank continuation: a trained model" test -s "$kd-p1/run/model.tpm"
}
kill_rank1 k "" $KARGS
# Resume on another P: the same checkpoint continued by 1 rank.  The loader
# position is global, so the same batches follow; the summation order and
# the dropout masks change (doc/tp-distributed.7).
resume_both k kref ""

# SIGTERM to mpirun reaches every rank: they agree on the step to stop at,
# rank 0 writes a preemption checkpoint, and a resume is exact (without
# batch norm: averaging its statistics for the preemption checkpoint would
# change their last bits, doc/tp-distributed.7).  The only scheduled
# checkpoint is the last step's, so whenever the signal lands, a checkpoint
# before the end is the preemption one.
tsteps=$((long * 3 / 2))
set -- --no-timing -q --steps $tsteps --batch-size 128 --width 512 --depth 2 \
	--optimizer adam --lr 0.001 --log-every 5 --eval-every 40 \
	--checkpoint-every $tsteps --valid ../digits-valid.zst ../digits-train.zst
TARGS="$*"
mkdir tref term
(cd tref && mpi 2 -d run $TARGS)
(cd term && exec mpirun -np 2 "$M/tp-train" -d run $TARGS) >/dev/null 2>term.err &
mp=$!
n=0
while [ "$(tp-cat -t train -c term/run/metrics.tpr 2>/dev/null || echo 0)" -lt 2 ] &&
	[ $n -lt 3000 ] && kill -0 $mp 2>/dev/null; do sleep 0.01; n=$((n + 1)); done
kill -TERM $mp 2>/dev/null
wait $mp; rc=$?
t_true "SIGTERM: the run stops early (mpirun exit $rc)" test "$rc" != 0 -a ! -f term/run/model.tpm
t_eq "SIGTERM: rank 0 alone reports it" "$(grep -c 'interrupted at step' term.err)" 1
at=$(sed -n 's/.*interrupted at step \([0-9]*\).*/\1/p' term.err)
last=$(ls term/run/ckpt | tail -n 1)
t_eq "SIGTERM: a preemption checkpoint at the step it stopped at" \
	"$last" "$(printf 'step-%09d.tpc' "${at:-0}")"
t_true "SIGTERM: not a scheduled checkpoint ($last)" sh -c "test -n '$last' && ! test -f tref/run/ckpt/$last"
t_ok "SIGTERM: 2-rank resume" sh -c "cd term && mpirun -np 2 $M/tp-train -d run --resume --no-timing -q"
t_cmp "SIGTERM and resume: identical stream" tref/run/metrics.tpr term/run/metrics.tpr
t_cmp "SIGTERM and resume: identical model" tref/run/model.tpm term/run/model.tpm

# Streaming shards (--stream): each rank reads only its own shard files
# with its own data order (seeded by the data seed and the rank), so P
# ranks are not one rank; a P-rank run is still deterministic, keeps every
# rank's loader position in its checkpoints and resumes bit for bit.
tp-data shard -n 3 -o sh digits-train.zst
c0=$(tp-cat -t dataset -k count -H sh-00000-of-00003.zst)
c1=$(tp-cat -t dataset -k count -H sh-00001-of-00003.zst)
c2=$(tp-cat -t dataset -k count -H sh-00002-of-00003.zst)
set -- --no-timing -q --stream --steps $long --batch-size 64 --width 256 --depth 2 \
	--optimizer adam --lr 0.001 --log-every 5 --eval-every 50 --checkpoint-every 20 \
	--keep-latest 2 --valid ../digits-valid.zst \
	../sh-00000-of-00003.zst ../sh-00001-of-00003.zst ../sh-00002-of-00003.zst
SARGS="$*"
mkdir s1 s2 sk
(cd s1 && mpi 2 -d run $SARGS)
t_ok "streaming shards: 2 ranks train" leaky sh -c "cd s2 && mpirun -np 2 $M/tp-train -d run $SARGS"
t_cmp "streaming shards: two 2-rank runs, identical streams" s1/run/metrics.tpr s2/run/metrics.tpr
t_cmp "streaming shards: two 2-rank runs, identical models" s1/run/model.tpm s2/run/model.tpm
t_eq "streaming shards: the config says whole files" \
	"$(tp-cat -t config -k stream,sharding -H s1/run/metrics.tpr)" "$(printf 'true\tfiles')"
# The loader positions in the last checkpoint: rank 0 holds files 0 and 2,
# rank 1 file 1 (examples per shard: bytes 24-31 of the encoded state).
shard_examples() { # CKPT RANK
	tp-ckpt info "$1" | tp-cat -k loaders -H | tr '}' '\n' |
		sed -n "$(($2 + 1))s/.*\"\\\$base64\":\"\([^\"]*\)\".*/\1/p" |
		base64 -d | od -An -tu8 -j24 -N8 | tr -d ' '
}
lastck=s1/run/ckpt/$(ls s1/run/ckpt | tail -n 1)
t_eq "streaming shards: rank 0 reads files 0 and 2" "$(shard_examples $lastck 0)" $((c0 + c2))
t_eq "streaming shards: rank 1 reads file 1" "$(shard_examples $lastck 1)" "$c1"
t_eq "streaming shards: a train record every 5 steps" \
	"$(tp-cat -t train -c s1/run/metrics.tpr)" $((long / 5))
kill_rank1 sk "streaming shards: " $SARGS
# On 1 rank the shards change (one rank reads all three): a fresh pass
# from the checkpoint's step, the same steps, one loader position.
resume_both sk s1 "streaming shards: "
t_eq "streaming shards: 1-rank continuation, one loader position" \
	"$(tp-ckpt info sk-p1/run/ckpt/$(ls sk-p1/run/ckpt | tail -n 1) | tp-cat -k loaders -H)" ""
# Fewer files than ranks: every P-th example of the one stream.
mpi 2 --no-timing -q --stream --steps 10 --batch-size 32 --checkpoint-every 10 \
	-d strided digits-train.zst >/dev/null
t_eq "streaming, one file: the config says examples" \
	"$(tp-cat -t config -k sharding -H strided/metrics.tpr)" examples
n_all=$(tp-cat -t dataset -k count -H digits-train.zst)
t_eq "streaming, one file: ranks hold every other example" \
	"$(shard_examples strided/ckpt/step-000000010.tpc 0) $(shard_examples strided/ckpt/step-000000010.tpc 1)" \
	"$(((n_all + 1) / 2)) $((n_all / 2))"

# Errors: every rank refuses, the job ends with the code (MPI_Abort).
mpi 2 --batch-size 1 --steps 1 digits-train.zst >/dev/null 2>bs.err; rc=$?
t_eq "batch smaller than the ranks: exit 2" "$rc" 2
t_true "batch smaller than the ranks: message" \
	grep -q "batch_size 1 is smaller than the 2 ranks" bs.err
mpi 2 --batch-size 3 --norm batch --ghost-batch 3 --steps 1 digits-train.zst >/dev/null 2>bn.err; rc=$?
t_eq "batch norm with 1 row on a rank: exit 2" "$rc" 2
t_true "batch norm with 1 row on a rank: message" \
	grep -q "batch norm needs batch_size >= 2 per rank (2 ranks)" bn.err
mpi 2 --steps 1 nothere.tpd >/dev/null 2>nf.err; rc=$?
t_eq "missing training set: exit 3" "$rc" 3
t_true "missing training set: message" grep -q "nothere.tpd" nf.err
