#!/bin/sh
# eval-new-checkpoints.sh RUNS_GLOB DATA LEDGER OUT
#
# Evaluate, on the dataset DATA, every checkpoint of the run directories
# matching RUNS_GLOB that LEDGER does not list as evaluated yet, and append
# the eval records to the stream OUT.  Safe to run from cron while the runs
# are still training and while an earlier invocation is still running:
# tp-eval claims each checkpoint in LEDGER under a file lock (tp-eval(1),
# CRON), and the records reach OUT in one append under flock(1).
#
# Exit: 0 something was evaluated, 5 nothing new, 2 usage, 3 an error
# (the results that were obtained are appended all the same).
set -u
if [ $# -ne 4 ]; then
	echo "usage: eval-new-checkpoints.sh RUNS_GLOB DATA LEDGER OUT" >&2
	exit 2
fi
glob=$1 data=$2 ledger=$3 out=$4
# The glob is expanded here, on purpose (quote it in the crontab).
# shellcheck disable=SC2086
set -- $glob
if [ ! -e "$1" ]; then
	exit 5 # no run yet
fi
tmp=$(mktemp "$out.tmp.XXXXXX") || exit 3
trap 'rm -f "$tmp"' EXIT HUP INT TERM
tp-eval -q -d "$data" -l "$ledger" -o "$tmp" "$@"
rc=$?
if [ -s "$tmp" ]; then
	# shellcheck disable=SC2016
	flock "$out.lock" sh -c 'cat "$1" >>"$2"' sh "$tmp" "$out" || rc=3
fi
exit $rc
