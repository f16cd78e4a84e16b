#!/bin/sh
# parallel.sh: run every trial of a study directory (prepare.sh) with GNU
# parallel, on this machine or, with -S, on many machines over ssh.  Each
# job is run-trial.sh, which resumes interrupted trials, counts a diverged
# trial as a result and ingests each run into the tp-track store as soon as
# it ends; so running parallel.sh again is safe and only finishes what is
# missing.
#
#   parallel.sh [-j JOBS] [-S SSHLOGIN]... STUDYDIR [tp-train flags ...]
#
# -j is the number of simultaneous trials per machine (default: the number
# of cores).  -S takes GNU parallel's --sshlogin: `:' is this machine,
# `8/node1' eight jobs on node1, and it may be repeated.  Over ssh, every
# machine must see the study directory and this script at the same absolute
# paths (a shared filesystem), and find the tp tools on its PATH; more
# parallel options can go in the PARALLEL environment variable (e.g.
# PARALLEL="--env TP_TRACK --sshdelay 0.1").  The job log is
# STUDYDIR/parallel.log.
#
# Exit: 0 every trial has a result, 2 usage, 3 some trials failed (the
# message says how many; run again to resume them).
set -eu
me=parallel.sh
usage() {
	echo "usage: $me [-j JOBS] [-S SSHLOGIN]... STUDYDIR [tp-train flags ...]" >&2
	exit 2
}
here=$(cd "$(dirname "$0")" && pwd)
jobs=100%
logins=""
while getopts :j:S:h opt; do
	case $opt in
	j) jobs=$OPTARG ;;
	S) logins="$logins,$OPTARG" ;;
	h) echo "usage: $me [-j JOBS] [-S SSHLOGIN]... STUDYDIR [tp-train flags ...]"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
# moreutils has a parallel(1) of its own, with other options.
parallel --version 2>/dev/null | grep -q 'GNU parallel' ||
	{ echo "$me: GNU parallel is not installed (Debian package parallel)" >&2; exit 3; }
[ -f "$1/trials.tpr" ] || { echo "$me: $1/trials.tpr: no such file (run prepare.sh first)" >&2; exit 3; }
dir=$(cd "$1" && pwd)
shift
total=$(tp-cat -t trial -c "$dir/trials.tpr") || exit 3

# run-trial.sh's own exit status says what failed; GNU parallel's is the
# number of failed jobs.
rc=0
if [ -n "$logins" ]; then
	seq 0 $((total - 1)) | parallel -q -j "$jobs" -S "${logins#,}" \
		--joblog "$dir/parallel.log" sh "$here/run-trial.sh" "$dir" {} "$@" || rc=$?
else
	seq 0 $((total - 1)) | parallel -q -j "$jobs" \
		--joblog "$dir/parallel.log" sh "$here/run-trial.sh" "$dir" {} "$@" || rc=$?
fi
# A job that never ran its command can still be logged as a success (on
# a remote shell that cannot start GNU parallel's worker, for one), so a
# success is only believed once every trial has a result.
if [ "$rc" = 0 ]; then
	missing=0
	for n in $(seq 0 $((total - 1))); do
		sh "$here/run-trial.sh" -c "$dir" "$n" || missing=$((missing + 1))
	done
	if [ "$missing" != 0 ]; then
		echo "$me: $dir: $missing of $total trials have no result although every job reported success (see $dir/parallel.log)" >&2
		exit 3
	fi
fi
case $rc in
0) ;;
101) echo "$me: $dir: more than 100 trials failed (see $dir/parallel.log)" >&2; exit 3 ;;
[1-9] | [1-9][0-9] | 100)
	echo "$me: $dir: $rc of $total trials failed (see $dir/parallel.log)" >&2; exit 3 ;;
*) echo "$me: $dir: GNU parallel failed with status $rc" >&2; exit 3 ;;
esac
