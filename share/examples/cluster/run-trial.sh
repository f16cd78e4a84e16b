#!/bin/sh
# run-trial.sh: bring trial N of a study directory (prepare.sh) to a
# result and put it in the tp-track store.  It is what every launcher of
# this directory runs, on whatever machine: GNU parallel (parallel.sh),
# make -j (study.mk), by hand.  It can be run any number of times:
#
#   - a trial with a result (finished, or diverged: exit 4 of tp-train is
#     an outcome of the study, not a failure) is only ingested again, which
#     adds nothing to the store;
#   - a trial that was interrupted (preempted, killed, the machine died)
#     resumes from its latest checkpoint with tp-train --resume, and ends
#     with the same result as an uninterrupted run;
#   - a new trial starts.
#
# Two processes never work on the same trial at once: runs/N.lock is held
# with flock(1) while the trial runs (the filesystem must support flock
# across machines; NFSv4 does).
#
#   run-trial.sh STUDYDIR N [tp-train flags ...]
#   run-trial.sh -c STUDYDIR N
#
# The flags (e.g. --checkpoints 10) apply when the trial starts; a resumed
# trial keeps its own configuration.  Threads: TP_THREADS, else
# SLURM_CPUS_PER_TASK, else 1.  The store: TP_TRACK, else STUDYDIR/track.
#
# -c only checks, for launchers that must not trust a job's exit status
# alone: exit 0 if trial N has a result, 1 if not; it trains nothing.
#
# Output: one line, "trial N: trained|resumed|has a result[, diverged]".
# Exit: 0 the trial has a result and is in the store, 1 another process is
# running it, 2 usage, 3 an error, else tp-train's status (8: interrupted,
# run again to resume).
set -eu
me='run-trial.sh'
synopsis="usage: $me STUDYDIR N [tp-train flags ...] | $me -c STUDYDIR N"
usage() {
	echo "$synopsis" >&2
	exit 2
}
[ "${1:-}" = -h ] && { echo "$synopsis"; exit 0; }
check=0
[ "${1:-}" = -c ] && { check=1; shift; }
[ $# -ge 2 ] || usage
[ "$check" = 0 ] || [ $# = 2 ] || usage
dir=$1 n=$2
shift 2
case $n in
'' | *[!0-9]*) echo "$me: trial index '$n' is not a number" >&2; exit 2 ;;
esac
[ -f "$dir/trials.tpr" ] || {
	echo "$me: $dir/trials.tpr: no such file (run prepare.sh first)" >&2
	exit 3
}
# The store is named before the cd: a relative TP_TRACK means from here.
case ${TP_TRACK:-} in
'') store=track ;;
/*) store=$TP_TRACK ;;
*) store=$PWD/$TP_TRACK ;;
esac
threads=${TP_THREADS:-${SLURM_CPUS_PER_TASK:-1}}
cd "$dir"

total=$(tp-cat -t trial -c trials.tpr) || exit 3
if [ "$n" -ge "$total" ]; then
	echo "$me: $dir/trials.tpr: no trial $n (it holds $total, 0 to $((total - 1)))" >&2
	exit 2
fi

run=runs/$n

# A result is a summary record with status done, or a diverged record.
has_result() {
	[ -f "$run/metrics.tpr" ] &&
		tp-cat -t summary -t diverged -k type,status -H "$run/metrics.tpr" 2>/dev/null |
		grep -Eq '^(summary	done|diverged)'
}
if [ "$check" = 1 ]; then
	has_result
	exit
fi

mkdir -p runs
exec 9>>"$run.lock"
rc=0
flock -n -E 75 9 || rc=$?
case $rc in
0) ;;
75) echo "$me: $dir/$run: another process is running this trial" >&2; exit 1 ;;
*) echo "$me: $dir/$run.lock: cannot lock (does the filesystem support flock?)" >&2; exit 3 ;;
esac

# On SIGTERM (a scheduler's notice) tp-train writes a checkpoint and exits
# 8: wait for it instead of dying first, so that the lock is released when
# it is done and the status says what happened.
trap : HUP INT TERM

if has_result; then
	what="has a result"
elif [ -f "$run/config.tpr" ]; then
	what=resumed
	tp-train -q -d "$run" --resume --threads "$threads" || rc=$?
else
	what=trained
	tp-train -q -d "$run" --trial trials.tpr --trial-index "$n" --threads "$threads" \
		--valid data/valid.zst "$@" data/train.zst || rc=$?
fi
case $rc in
0) ;;
4) ;; # diverged: a result like any other
8) echo "$me: $dir/$run: interrupted; run it again to resume" >&2; exit 8 ;;
*) echo "$me: $dir/$run: tp-train exited with status $rc" >&2; exit "$rc" ;;
esac
has_result || { echo "$me: $dir/$run/metrics.tpr: no summary or diverged record" >&2; exit 3; }
if [ "$(tp-cat -t diverged -c "$run/metrics.tpr")" != 0 ]; then
	what="$what, diverged"
fi
tp-track -d "$store" ingest -q "$run" || exit 3
echo "trial $n: $what"
