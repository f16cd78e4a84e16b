# t-demo: the playbook round of share/examples/demo.mk, shortened (few
# trials, few steps): every output exists and parses, a second make does
# nothing, and an interrupted make picks up where it stopped.
. "$TP_TOP/tests/lib.sh"

demo() { make --no-print-directory -f "$TOP/share/examples/demo.mk" TOP="$TOP" \
	BIN="$TP_BUILD/bin" OUT=out TRIALS=2 STEPS=150 CHECKPOINTS=3 "$@"; }

t_ok "make demo (shortened)" demo -j2
t_true "summary printed" grep -q "== Studies" t.out
for f in data/digits-train.zst data/digits-valid.zst data/digits-test.zst overfit.txt \
	trials.tpr trials.tsv best.tsv test.tpr table.txt compare.txt check.txt summary.txt; do
	t_true "out/$f exists" test -s "out/$f"
done
t_eq "four runs (2 studies x 2 trials)" "$(ls out/runs | wc -l)" 4
for r in out/runs/*; do
	t_ok "$r/model.tpm verifies" tp-ckpt verify "$r/model.tpm"
	t_ok "$r/metrics.tpr parses" tp-cat -c "$r/metrics.tpr"
done
t_eq "trials.tpr holds 4 trials" "$(tp-cat -t trial -c out/trials.tpr)" 4
t_eq "one test evaluation per study" "$(tp-cat -t eval -c out/test.tpr)" 2
t_eq "both studies in the table" "$(grep -c 'optimizer-comparison/optimizer=' out/table.txt)" 2
n=0
for f in out/plots/*.svg; do
	n=$((n + 1))
	t_ok "$(basename "$f") is well-formed XML" xmllint --noout "$f"
done
t_eq "curves and axis plot per study" "$n" 4
t_true "the sanity check passed" grep -q "verdict: overfit" out/overfit.txt

# Make's dependencies: nothing left to do.
t_ok "second make is up to date" demo -q out/summary.txt

# An interrupted round picks up where it stopped: remove one finished run's
# artifact and cut another mid-way (its checkpoints remain).
rm out/runs/1/model.tpm out/summary.txt
t_ok "make after removing outputs" demo
t_true "only the missing run was redone" sh -c "grep -q 'runs/1 --resume' t.out && ! grep -q 'tp-train -d out/runs/0' t.out"
t_ok "run 1 complete again" tp-ckpt verify out/runs/1/model.tpm
