#!/bin/sh
# prepare.sh: lay out a study directory on the shared filesystem, once,
# for the launchers of this directory (parallel.sh, study.mk, trial.sbatch)
# and run-trial.sh.  Everything a trial needs is inside the directory and
# named relative to it, so any machine that mounts it, at any path, can run
# or resume any trial:
#
#   STUDYDIR/study.space     the search space (tp-space(5)), as given
#   STUDYDIR/trials.tpr      its trials (tp-sample), trial-major
#   STUDYDIR/data/train.zst  the training set
#   STUDYDIR/data/valid.zst  the validation set
#   STUDYDIR/runs/           one run directory per trial: runs/N for trial N
#   STUDYDIR/track/          the tp-track store (unless TP_TRACK says)
#
# Preparing the same directory again with the same inputs changes nothing;
# with different ones it is refused, because finished runs would no longer
# match their trials.
#
#   prepare.sh [-n TRIALS] [-s SEED] SPACE TRAIN VALID STUDYDIR
#
# Exit: 0 ready, 2 usage, 3 an error (a tool's message says which).
set -eu
me=prepare.sh
usage() {
	echo "usage: $me [-n TRIALS] [-s SEED] SPACE TRAIN VALID STUDYDIR" >&2
	exit 2
}
die() { echo "$me: $*" >&2; exit 3; }

trials=16 seed=0
while getopts :n:s:h opt; do
	case $opt in
	n) trials=$OPTARG ;;
	s) seed=$OPTARG ;;
	h) echo "usage: $me [-n TRIALS] [-s SEED] SPACE TRAIN VALID STUDYDIR"; exit 0 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 4 ] || usage
space=$1 train=$2 valid=$3 dir=$4
for f in "$space" "$train" "$valid"; do
	[ -f "$f" ] || die "$f: no such file"
done
command -v tp-sample >/dev/null || die "tp-sample: not on PATH"
mkdir -p "$dir/data" "$dir/runs" || die "$dir: cannot create the study directory"
abs=$(cd "$dir" && pwd)
store=${TP_TRACK:-$dir/track}

# install SRC DST: copy SRC to DST unless DST already holds the same bytes;
# a different DST is an error (never overwrite what runs were trained on).
install_same() { # SRC DST WHAT
	if [ -e "$2" ]; then
		cmp -s "$1" "$2" || die "$2: differs from $3 (prepare a new study directory)"
		return 0
	fi
	if ! { cp "$1" "$2.tmp.$$" && mv "$2.tmp.$$" "$2"; }; then
		rm -f "$2.tmp.$$"
		die "$2: cannot write"
	fi
}

tmp=$dir/.trials.$$.tpr
trap 'rm -f "$tmp"' EXIT HUP INT TERM
tp-sample -q -n "$trials" -s "$seed" -o "$tmp" "$space" || exit 3
new=0
[ -e "$dir/trials.tpr" ] || new=1
install_same "$space" "$dir/study.space" "$space"
install_same "$train" "$dir/data/train.zst" "$train"
install_same "$valid" "$dir/data/valid.zst" "$valid"
install_same "$tmp" "$dir/trials.tpr" "the trials of -n $trials -s $seed"

# Register each study once, and ingest the trials, so that the table shows
# the whole plan (trials without a result yet) from the start.
if [ "$new" = 1 ]; then
	tp-track -d "$store" init
	tp-cat -t trial -k study -H "$dir/trials.tpr" | sort -u | while IFS= read -r s; do
		tp-track -d "$store" study "$s" --config "$abs/study.space" \
			--command "$me -n $trials -s $seed $space $train $valid $dir" ||
			exit 3
	done
fi
tp-track -d "$store" ingest -q "$dir/trials.tpr" || exit 3
echo "$dir: $(tp-cat -t trial -c "$dir/trials.tpr") trials ready"
