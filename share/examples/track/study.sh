#!/bin/sh
# study.sh: one tuning round tracked with tp-track, from data to findings.
# Adam against Nesterov momentum on a synthetic 3-class problem: tp-sample
# draws 8 learning rates per optimizer, tp-train runs the 16 trials 4 at a
# time, and every job ingests its own run directory as soon as it ends (no
# lock: the store is safe under concurrent writers).  Then the spreadsheet,
# the side-by-side comparison, curves, an axis plot and the checks.
#
#   sh share/examples/track/study.sh [WORKDIR]     (tp tools on PATH)
set -eu
work=${1:-tp-track-example}
mkdir -p "$work/runs"
cd "$work"
export TP_TRACK=$PWD/store

tp-data synth --kind spirals -n 3000 -s 1 -o all.zst
tp-data split -f 0.8,0.2 -s 1 --names train,valid -o data all.zst

cat >opt.space <<'SPACE'
study opt
goal "adam or nesterov for the spirals MLP, batch 64"
scientific optimizer choice adam nesterov
nuisance lr float 1e-4 1e-1 log
fixed batch_size 64
fixed steps 600
fixed eval_every 30
fixed checkpoint_every 150
fixed width 64
SPACE
tp-sample -n 8 opt.space -o trials.tpr
tp-track init
tp-track study opt/optimizer=adam --config opt.space --goal "adam arm" \
	--notes "lr only; betas at their defaults" --command "sh study.sh"
tp-track study opt/optimizer=nesterov --config opt.space --goal "nesterov arm" \
	--notes "lr only; momentum 0.9" --command "sh study.sh"

# 16 trials, 4 at a time; each job ingests its run when it ends.
n=$(tp-cat -t trial -c trials.tpr)
seq 0 $((n - 1)) | xargs -P 4 -I{} sh -c '
	tp-train -q --threads 1 --trial trials.tpr --trial-index {} \
		-d runs/{} --valid data-valid.zst data-train.zst >/dev/null 2>&1
	tp-track ingest -q runs/{}'

tp-track table                                  # one row per study
tp-track table --study opt/optimizer=adam -n 5  # its best five trials
tp-track compare                                # adam vs nesterov
tp-track curves --study opt/optimizer=adam -n 3 # sparklines
tp-track curves --study opt/optimizer=adam -o curves.svg
tp-track axis --study opt/optimizer=adam -p lr -o lr.svg
tp-track check --space opt.space || [ $? = 7 ]  # 7: findings were reported
tp-track export -o history.tpr                  # for tp-sample --method bayes
echo "plots: $work/curves.svg $work/lr.svg"
