# t-ckpt-select: choosing checkpoints after the fact from metrics streams
# made with tp-cat --from-json: every flag, the tie rules, files that are
# missing or damaged (skipped with the reason), other trainers' files,
# --prune dry run and --force, exit codes and the one-line messages.
. "$TP_TOP/tests/lib.sh"

# t_usage REGEX NAME CMD...: exit 2, the message, then the usage.
t_usage() {
	re=$1 name=$2; shift 2
	"$@" >t.out 2>t.err; rc=$?
	if [ "$rc" != 2 ]; then
		not_ok "$name (exit $rc, want 2)"; sed 's/^/#   /' t.err | head -n 5
	elif ! head -n 1 t.err | grep -Eq -- "$re"; then
		not_ok "$name (first line does not match /$re/)"; sed 's/^/#   /' t.err | head -n 5
	elif ! grep -q '^usage: tp-ckpt-select ' t.err; then
		not_ok "$name (no usage)"; sed 's/^/#   /' t.err | head -n 5
	else ok "$name"; fi
}

# mkckpt FILE STEP: a small valid tp checkpoint.
printf 'params' >p.bin
mkckpt() {
	printf '{"kind":"full","step":%s}\n' "$2" | tp-cat -j -m >m.tpr &&
	tp-ckpt create -L 0 -m m.tpr -o "$1" params.f32=p.bin
}
# ev RUN STEP ERROR LOSS ACC: an eval record of the valid split.
ev() {
	printf '{"type":"eval","step":%s,"split":"valid","error":%s,"loss":%s,"accuracy":%s,"checkpoint":"runs/%s/ckpt/step-%09d.tpc"}\n' \
		"$2" "$3" "$4" "$5" "$1" "$2"
}

mkdir -p runs/a/ckpt runs/b/ckpt
for r in a b; do for s in 100 200 300; do
	mkckpt "$(printf 'runs/%s/ckpt/step-%09d.tpc' $r $s)" $s
done; done
{
	echo '{"type":"config","run_dir":"runs/a","params":{"lr":0.1}}'
	echo '{"type":"train","step":50,"loss":2.0}'
	ev a 100 0.30 1.00 0.70
	echo '{"type":"eval","step":100,"split":"train","error":0.01,"loss":0.1,"accuracy":0.99}'
	ev a 200 0.20 0.90 0.80
	ev a 300 0.25 0.80 0.75
	echo '{"type":"summary","steps":300}'
} >a.jsonl
{
	echo '{"type":"config","run_dir":"runs/b"}'
	ev b 100 0.20 1.00 0.80
	ev b 200 0.10 0.70 0.90
	ev b 300 0.15 0.60 0.85
} >b.jsonl
tp-cat -j -m -o runs/a/metrics.tpr a.jsonl
tp-cat -j -m -o runs/b/metrics.tpr b.jsonl
A1=runs/a/ckpt/step-000000100.tpc A2=runs/a/ckpt/step-000000200.tpc
A3=runs/a/ckpt/step-000000300.tpc B1=runs/b/ckpt/step-000000100.tpc
B2=runs/b/ckpt/step-000000200.tpc B3=runs/b/ckpt/step-000000300.tpc

# ---- choosing ----
t_eq "best error of one run" "$(tp-ckpt-select runs/a)" "$A2"
t_eq "best error across runs" "$(tp-ckpt-select runs/a runs/b)" "$B2"
t_eq "run given as its stream" "$(tp-ckpt-select runs/a/metrics.tpr)" "$A2"
t_eq "stream on stdin" "$(tp-ckpt-select <runs/a/metrics.tpr)" "$A2"
t_eq "stream on stdin as -" "$(tp-ckpt-select - <runs/b/metrics.tpr)" "$B2"
t_eq "--metric loss (min)" "$(tp-ckpt-select -m loss runs/a runs/b)" "$B3"
t_eq "accuracy is maximized by default" "$(tp-ckpt-select --metric accuracy runs/a)" "$A2"
t_eq "--min overrides the name" "$(tp-ckpt-select -m accuracy --min runs/a)" "$A1"
t_eq "--max" "$(tp-ckpt-select -m error --max runs/a)" "$A1"
t_eq "--final: the value at the last step" "$(tp-ckpt-select --final runs/a runs/b)" "$B3"
t_eq "--final --metric loss" "$(tp-ckpt-select -f -m loss runs/a)" "$A3"
t_eq "--keep 3 (a tie: the earlier step first)" "$(tp-ckpt-select -n 3 runs/a runs/b | tr '\n' ' ')" "$B2 $B3 $B1 "
t_eq "--keep more than there are" "$(tp-ckpt-select --keep 50 runs/a | wc -l)" 3
t_eq "--per-run" "$(tp-ckpt-select --per-run runs/a runs/b | tr '\n' ' ')" "$A2 $B2 "
t_eq "--per-run --keep 2" "$(tp-ckpt-select -r -n 2 runs/b runs/a | tr '\n' ' ')" "$B2 $B3 $A2 $A3 "
t_eq "--split train (no checkpoint there)" "$(tp-ckpt-select --split train runs/a 2>&1; echo $?)" \
	"tp-ckpt-select: no checkpoint qualifies (split train, metric error)
1"

# The output formats.
tp-ckpt-select -F tsv -n 2 runs/a runs/b >t.tsv
printf 'path\tstep\terror\trun\n%s\t200\t0.1\truns/b\n%s\t300\t0.15\truns/b\n' "$B2" "$B3" >want.tsv
t_cmp "--format tsv" t.tsv want.tsv
tp-ckpt-select --format records runs/a | tp-cat >t.json
echo '{"type":"selection","path":"'$A2'","step":200,"split":"valid","metric":"error","value":0.2,"run":"runs/a","rank":1}' >want.json
t_cmp "--format records" t.json want.json
t_ok "--format path is the default" sh -c "[ \"\$(tp-ckpt-select -F path runs/a)\" = $A2 ]"

# Paths: as written, else relative to the stream, else under the run_dir.
mkdir elsewhere
t_eq "relative to the run directory's stream" "$(cd elsewhere && tp-ckpt-select ../runs/a)" "../runs/a/ckpt/step-000000200.tpc"
t_eq "run_dir prefix replaced" "$(cd runs && tp-ckpt-select a)" "a/ckpt/step-000000200.tpc"
printf '%s\n' '{"type":"eval","step":7,"error":0.5,"checkpoint":"ckpt/step-000000100.tpc"}' |
	tp-cat -j -m -o runs/a/rel.tpr
t_eq "relative to the stream's directory" "$(tp-ckpt-select runs/a/rel.tpr)" "runs/a/ckpt/step-000000100.tpc"

# ---- ties: the earlier step, then the earlier run, then the earlier record ----
mkdir -p tie/ckpt
for s in 1 2 3; do mkckpt tie/ckpt/$s.tpc $s; done
{
	echo '{"type":"eval","step":3,"error":0.5,"checkpoint":"tie/ckpt/3.tpc"}'
	echo '{"type":"eval","step":2,"error":0.5,"checkpoint":"tie/ckpt/2.tpc"}'
	echo '{"type":"eval","step":1,"error":0.6,"checkpoint":"tie/ckpt/1.tpc"}'
} | tp-cat -j -m -o tie1.tpr
t_eq "tie: the earlier step wins" "$(tp-ckpt-select tie1.tpr)" tie/ckpt/2.tpc
echo '{"type":"eval","step":2,"error":0.5,"checkpoint":"tie/ckpt/1.tpc"}' | tp-cat -j -m -o tie2.tpr
t_eq "tie: the earlier run wins" "$(tp-ckpt-select tie2.tpr tie1.tpr)" tie/ckpt/1.tpc
t_eq "tie: the earlier run wins (order swapped)" "$(tp-ckpt-select tie1.tpr tie2.tpr)" tie/ckpt/2.tpc
t_eq "tie: deterministic keep order" "$(tp-ckpt-select -n 3 tie1.tpr | tr '\n' ' ')" "tie/ckpt/2.tpc tie/ckpt/3.tpc tie/ckpt/1.tpc "

# ---- other trainers: minimal schema, non-tp files, checkpoint records ----
mkdir -p other
printf 'torch' >other/e1.pt; printf 'torch' >other/e2.pt
{
	echo '{"type":"trial","study":"s","trial":1}'
	echo '{"type":"eval","step":10,"error":0.4,"checkpoint":"other/e1.pt"}'
	echo '{"type":"eval","step":20,"error":0.3,"checkpoint":"other/e2.pt"}'
	echo '{"type":"eval","step":30,"error":0.1,"checkpoint":"other/e3.pt"}'
} | tp-cat -j -m -o other.tpr
t_exit 0 "skipping other/e3.pt: No such file or directory" \
	"other trainer: missing file skipped with the reason" tp-ckpt-select other.tpr
t_eq "other trainer: best existing file" "$(tp-ckpt-select -q other.tpr)" other/e2.pt
t_eq "-q silences the skip line" "$(tp-ckpt-select -q other.tpr 2>&1 >/dev/null)" ""
{
	echo '{"type":"eval","step":10,"error":0.4}'
	echo '{"type":"checkpoint","step":10,"path":"other/e1.pt"}'
	echo '{"type":"checkpoint","step":20,"path":"other/e2.pt"}'
	echo '{"type":"eval","step":20,"error":0.45}'
} | tp-cat -j -m -o ckrec.tpr
t_eq "checkpoint records joined with evals by step" "$(tp-ckpt-select ckrec.tpr)" other/e1.pt
t_eq "non-numeric metric in another split is ignored" \
	"$(echo '{"type":"eval","step":1,"split":"x","error":"bad","checkpoint":"other/e1.pt"}' | tp-cat -j -m | tp-ckpt-select -q other.tpr -)" other/e2.pt

# ---- damaged tp checkpoints are skipped with the reason ----
# (copies in their own directory: the records' paths must resolve to them)
mkdir D && cp -r runs D/runs && cd D
printf 'X' | dd of=runs/b/ckpt/step-000000200.tpc bs=1 seek=1538 conv=notrunc 2>/dev/null
t_exit 0 "^tp-ckpt-select: skipping runs/b/ckpt/step-000000200.tpc: checksum mismatch in params.f32\$" \
	"corrupted checkpoint skipped with the reason" tp-ckpt-select runs/b
t_eq "next best chosen instead" "$(tp-ckpt-select -q runs/b)" runs/b/ckpt/step-000000300.tpc
head -c 1000 runs/a/ckpt/step-000000200.tpc >t.tpc && mv t.tpc runs/a/ckpt/step-000000200.tpc
t_exit 0 "skipping runs/a/ckpt/step-000000200.tpc: truncated archive" \
	"truncated checkpoint skipped" tp-ckpt-select runs/a
rm runs/a/ckpt/step-000000300.tpc
t_eq "deleted and truncated checkpoints skipped, best of the rest chosen" \
	"$(tp-ckpt-select -m loss runs/a 2>&1)" "tp-ckpt-select: skipping runs/a/ckpt/step-000000300.tpc: No such file or directory
tp-ckpt-select: skipping runs/a/ckpt/step-000000200.tpc: truncated archive
runs/a/ckpt/step-000000100.tpc"
rm runs/a/ckpt/step-000000100.tpc && mkdir runs/a/ckpt/step-000000100.tpc
tp-ckpt-select runs/a >sel.out 2>sel.err; rc=$?
t_eq "nothing left qualifies: exit 1" "$rc" 1
t_eq "nothing left: a line per skipped file and the verdict" "$(wc -l <sel.err)" 4
t_ok "a directory is not a checkpoint" grep -q "step-000000100.tpc: not a regular file" sel.err
cd ..

# ---- --prune ----
mkdir P && cp -r runs P/runs && cd P
t_exit 0 "would delete runs/a/ckpt/step-000000100.tpc" "--prune is a dry run" \
	sh -c 'tp-ckpt-select --prune -m loss runs/a 2>&1 >/dev/null | head -n 1 >&2'
t_eq "dry run deletes nothing" "$(ls runs/a/ckpt | wc -l)" 3
t_eq "dry run lists the others" "$(tp-ckpt-select --prune runs/a runs/b 2>&1 >/dev/null | wc -l)" 5
t_eq "--prune --force keeps the chosen" "$(tp-ckpt-select --prune --force -q -r runs/a runs/b)" "runs/a/ckpt/step-000000200.tpc
runs/b/ckpt/step-000000200.tpc"
t_eq "--prune --force deleted the rest" "$(ls runs/a/ckpt runs/b/ckpt | grep -c tpc)" 2
t_ok "the chosen still verify" tp-ckpt verify runs/a/ckpt/step-000000200.tpc runs/b/ckpt/step-000000200.tpc
t_eq "--prune with nothing selected deletes nothing" \
	"$(tp-ckpt-select --prune --force -q --split nosuch runs/a; echo $?; ls runs/a/ckpt)" "1
step-000000200.tpc"
cd ..

# ---- errors ----
t_usage "^tp-ckpt-select: --keep: '0'" "--keep 0" tp-ckpt-select -n 0 runs/a
t_usage "^tp-ckpt-select: --keep: 'x'" "--keep x" tp-ckpt-select --keep x runs/a
t_usage "^tp-ckpt-select: --format: 'json' is not path, tsv or records" "bad format" tp-ckpt-select -F json runs/a
t_usage "^tp-ckpt-select: --min and --max contradict" "--min --max" tp-ckpt-select --min --max runs/a
t_usage "^tp-ckpt-select: --force only goes with --prune" "--force alone" tp-ckpt-select --force runs/a
t_usage "^tp-ckpt-select: --metric: empty name" "empty metric" tp-ckpt-select -m '' runs/a
t_usage "unrecognized option" "unknown option" tp-ckpt-select --bogus runs/a
t_exit 3 "^tp-ckpt-select: nosuch.tpr: " "missing stream" tp-ckpt-select nosuch.tpr
t_exit 3 "^tp-ckpt-select: nodir/metrics.tpr: " "directory without metrics.tpr" sh -c 'mkdir -p nodir && tp-ckpt-select nodir'
printf 'not msgpack at all\n' >junk.tpr
t_exit 3 "^tp-ckpt-select: junk.tpr: " "not a record stream" tp-ckpt-select junk.tpr
echo '{"type":"eval","error":0.1,"checkpoint":"x"}' | tp-cat -j -m -o nostep.tpr
t_exit 3 "^tp-ckpt-select: nostep.tpr: byte 0: missing key \"step\"" "eval without step" tp-ckpt-select nostep.tpr
echo '{"type":"eval","step":1,"error":"low","checkpoint":"x"}' | tp-cat -j -m -o strm.tpr
t_exit 3 "key \"error\": expected a number, found str" "non-numeric metric" tp-ckpt-select strm.tpr
echo '{"type":"eval","step":1,"error":0.1,"checkpoint":5}' | tp-cat -j -m -o numck.tpr
t_exit 3 "key \"checkpoint\": expected str, found int" "non-string checkpoint" tp-ckpt-select numck.tpr
t_exit 1 "^tp-ckpt-select: no checkpoint qualifies \(split valid, metric mse\)\$" \
	"metric nobody reports: exit 1" tp-ckpt-select -m mse runs/a
echo '{"type":"eval","step":1,"error":NaN,"checkpoint":"other/e1.pt"}' | tp-cat -j -m -o nan.tpr
t_exit 1 "no checkpoint qualifies" "NaN never qualifies" tp-ckpt-select nan.tpr
t_exit 1 "no checkpoint qualifies" "empty input: exit 1" tp-ckpt-select </dev/null

# ---- help and version ----
t_ok "--help exits 0" tp-ckpt-select --help
cp t.out help.out
t_ok "--help starts with the usage" grep -q '^usage: tp-ckpt-select' help.out
t_ok "--version" sh -c 'tp-ckpt-select --version | grep -q "^tp-ckpt-select (tp) "'

# ---- tp-eval output of many trials: each trial is a run ----
{
	echo '{"type":"eval","step":1,"split":"valid","error":0.5,"checkpoint":"tie/ckpt/1.tpc","study":"s","trial":1}'
	echo '{"type":"eval","step":2,"split":"valid","error":0.4,"checkpoint":"tie/ckpt/2.tpc","study":"s","trial":1}'
	echo '{"type":"eval","step":3,"split":"valid","error":0.45,"checkpoint":"tie/ckpt/3.tpc","study":"s","trial":2}'
	echo '{"type":"eval","step":1,"split":"test","error":0.01,"checkpoint":"tie/ckpt/1.tpc","study":"s","trial":2}'
} | tp-cat -j -m -o evals.tpr
t_eq "trials of one stream are runs (--per-run)" "$(tp-ckpt-select -r -F tsv evals.tpr)" "path	step	error	run
tie/ckpt/2.tpc	2	0.4	evals.tpr:s/1
tie/ckpt/3.tpc	3	0.45	evals.tpr:s/2"
t_eq "across trials" "$(tp-ckpt-select evals.tpr)" tie/ckpt/2.tpc
t_eq "a file named twice is printed once" "$(tp-ckpt-select -n 5 tie1.tpr tie2.tpr | sort | uniq -d)" ""
{
	echo '{"type":"config","study":"s","trial":1,"run_dir":"tie"}'
	echo '{"type":"eval","step":1,"error":0.3,"checkpoint":"tie/ckpt/1.tpc","study":"s","trial":1}'
} | tp-cat -j -m -o own.tpr
t_eq "the input's own trial keeps the input's name" "$(tp-ckpt-select -F tsv own.tpr | tail -n 1 | cut -f 4)" own.tpr
