# tp-track: ingest, the spreadsheet in five formats, curves and axis plots,
# the playbook checks (each fires on a constructed study and stays silent
# on a clean one), leakage, export, concurrency and every error path.
# Runs are generated as JSON Lines by awk and packed to msgpack (pack).
. "$TP_TOP/tests/lib.sh"
export TP_TRACK=store
PY="" PYMP=""
for p in python3 /usr/bin/python3; do
	command -v "$p" >/dev/null 2>&1 || continue
	[ -z "$PY" ] && PY=$p
	if [ -z "$PYMP" ] && "$p" -c 'import msgpack' 2>/dev/null; then PYMP=$p; fi
done

# pack OUT: JSON Lines on stdin to a record stream, with python3-msgpack
# (a declared dependency) when there, else with tp-cat.
pack() {
	if [ -n "$PYMP" ]; then
		"$PYMP" -c '
import json, sys, msgpack
with open(sys.argv[1], "wb") as f:
	for line in sys.stdin:
		f.write(msgpack.packb(json.loads(line), use_bin_type=True))' "$1"
	else
		tp-cat -j -m -o "$1"
	fi
}

# mkrun FILE STUDY TRIAL SHAPE LR [OPT [SEED [DIVERGE_STEP [STEPS]]]]
# SHAPE of the validation error: dec (still improving), sat (flat from
# step 300), v (overfits after step 400), noisy, periodic (50-step cycle).
mkrun() {
	awk -v study="$2" -v trial="$3" -v shape="$4" -v lr="$5" -v opt="${6:-adam}" \
	    -v seed="${7:-$3}" -v div="${8:--1}" -v steps="${9:-1000}" 'BEGIN {
		printf "{\"type\":\"trial\",\"study\":\"%s\",\"trial\":%d,\"scientific\":{\"optimizer\":\"%s\"},\"params\":{\"lr\":%s,\"optimizer\":\"%s\",\"batch_size\":32},\"seed\":%d}\n", study, trial, opt, lr, opt, seed
		printf "{\"type\":\"config\",\"version\":\"0.1.0\",\"study\":\"%s\",\"trial\":%d,\"params\":{\"lr\":%s,\"optimizer\":\"%s\",\"batch_size\":32},\"seed\":%d,\"run_dir\":\"runs/%s-%d\",\"train_examples\":1600,\"command\":\"tp-train --lr %s\"}\n", study, trial, lr, opt, seed, study, trial, lr
		q = (log(lr) / log(10) + 2.5); if (q < 0) q = -q
		for (s = 0; s <= steps; s += 10) {
			if (div >= 0 && s >= div) {
				printf "{\"type\":\"train\",\"step\":%d,\"loss\":NaN}\n", s
				printf "{\"type\":\"diverged\",\"step\":%d,\"reason\":\"loss is NaN\"}\n", s
				exit
			}
			tl = 0.05 + 1 / (1 + s / 50)
			printf "{\"type\":\"train\",\"step\":%d,\"loss\":%.6f,\"lr\":%s,\"grad_norm\":%.4f}\n", s, tl, lr, 1 + (s % 7) / 10
			if (shape == "periodic" || (s % 100 == 0 && s > 0)) {
				if (s == 0) continue
				if (shape == "dec") v = 0.05 + q / 10 + 1 / (1 + s / 100)
				else if (shape == "sat") v = (s < 300 ? 0.5 - s / 1000 : 0.2) + q / 10
				else if (shape == "v") v = 0.1 + (s > 400 ? s - 400 : 400 - s) / 1000
				else if (shape == "noisy") v = 0.2 + ((s / 100) % 2 ? 0.05 : -0.05)
				else v = 0.2 + 0.3 / (1 + s / 100) + 0.02 * sin(2 * 3.14159265 * s / 50)
				printf "{\"type\":\"eval\",\"step\":%d,\"split\":\"valid\",\"loss\":%.6f,\"error\":%.6f,\"accuracy\":%.6f,\"count\":500}\n", s, 2 * v, v, 1 - v
				if (s % 100 == 0)
					printf "{\"type\":\"checkpoint\",\"step\":%d,\"path\":\"runs/%s-%d/ckpt/step-%06d.tpc\"}\n", s, study, trial, s
			}
		}
		printf "{\"type\":\"summary\",\"steps\":%d,\"seconds\":1.5}\n", steps
	}' | pack "$1"
}

# --- usage, help, version ---
t_ok "--help exits 0" tp-track --help
t_true "--help is on stdout" grep -q '^usage: tp-track' t.out
t_ok "--version exits 0" tp-track --version
t_ok "table --help" tp-track table --help
t_exit 2 "no command given" "no command" tp-track
t_exit 2 "unknown command 'frob'" "unknown command" tp-track frob
t_exit 2 "unknown option '--bogus'" "unknown long option" tp-track table --bogus
t_exit 2 "option '--study' needs a value" "missing option value" tp-track table --study
t_exit 2 "option --param does not apply" "option of another command" tp-track table -p lr
t_exit 2 "--count: 'x' is not an integer" "bad number" tp-track table -n x
t_exit 2 "--format: 'xml' is not" "bad format" tp-track table -f xml
t_exit 2 "study: one study NAME expected" "study without a name" tp-track study
t_exit 2 "curves: --study NAME is required" "curves without --study" tp-track curves
t_exit 2 "axis: give either --param NAME or --all" "axis without a parameter" \
	tp-track axis --study a
t_exit 2 "--bound: 'lr' is not PARAM=LO:HI" "bad bound" tp-track check --bound lr
t_exit 2 "--bound: 'lr=1:inf' is not" "infinite bound" tp-track check --bound lr=1:inf
t_exit 2 "--bound: 'lr=0:1:log' is not" "log bound at 0" tp-track check --bound lr=0:1:log
t_exit 2 "leak: TRAIN and at least one HELDOUT" "leak with one operand" tp-track leak a

# --- the man page: lint, and its SYNOPSIS agrees with --help ---
man=$TOP/doc/tp-track.1
man_flags() { sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/p' "$man" | grep -oE 'Fl (\\-)?[a-zA-Z][-a-z]*' |
	sed 's/^Fl //; s/^\\-/--/; s/^\([a-zA-Z]\)/-\1/' | sort -u | tr '\n' ' '; }
help_flags() { tp-track --help | sed -n '/^usage:/,/^OBJECTIVE/p' |
	grep -oE '[[(|] ?--?[a-zA-Z][-a-z]*' | sed 's/^[[(|] \{0,1\}//' | sort -u | tr '\n' ' '; }
man_cmds() { sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/p' "$man" | grep -E '^\.Cm ' | awk '{print $2}' |
	sort -u | tr '\n' ' '; }
help_cmds() { tp-track --help | sed -n '/^usage:/,/^OBJECTIVE/p' |
	grep -oE 'tp-track (\[-d DIR\] )?[a-z]+' | awk '{print $NF}' | sort -u | tr '\n' ' '; }
t_eq "SYNOPSIS and --help: the same options" "$(man_flags)" "$(help_flags)"
t_eq "SYNOPSIS and --help: the same commands" "$(man_cmds)" "$(help_cmds)"
t_eq "ten commands" "$(man_cmds | wc -w)" 10
t_eq "26 options" "$(man_flags | wc -w)" 26
if command -v mandoc >/dev/null 2>&1; then
	t_ok "mandoc -Tlint tp-track.1" mandoc -Tlint -Wwarning "$man"
fi

# --- missing store, corrupt input ---
t_exit 3 "^tp-track: store: not a tp-track store" "missing store" tp-track table
t_exit 3 "^tp-track: nostore: not a tp-track store" "missing store given by -d" \
	tp-track -d nostore table
t_ok "init" tp-track init
t_ok "init twice" tp-track init
printf '\201\244type\244eva' >corrupt.tpr
t_exit 3 "^tp-track: corrupt.tpr: " "corrupt record file" tp-track ingest corrupt.tpr
t_exit 3 "^tp-track: missing.tpr: " "missing record file" tp-track ingest missing.tpr
printf '{"type":"eval","step":5,"error":0.5}\n' | pack anon.tpr
t_exit 3 "anon.tpr: .*names no study and trial" "stream without a trial" \
	tp-track ingest anon.tpr
t_eq "nothing was stored" "$(ls store/objects | wc -l)" 0
mkdir emptyrun
t_exit 3 "emptyrun: no record files" "run directory without records" \
	tp-track ingest emptyrun
t_ok "ingest an unnamed stream with --study/--trial" \
	tp-track ingest --study anon --trial 3 anon.tpr
printf '{"type":"eval","study":"anon","step":7,"error":0.4}\n' | pack half.tpr
t_ok "--trial alone, the study from the records" tp-track ingest --trial 4 half.tpr
t_eq "trials 3 and 4 of anon" "$(tp-track table --study anon -f tsv | cut -f1 | sort | tr '\n' ' ')" "3 4 trial "

# --- a study: adam vs nesterov, 12 trials, one diverged ---
mkdir -p runs/opt-0
i=0
for lr in 0.0001 0.0003 0.001 0.002 0.003 0.005 0.01 0.02 0.03 0.05 0.1 0.3; do
	opt=adam; [ $((i % 2)) = 1 ] && opt=nesterov
	d=-1; [ $i = 11 ] && d=30
	mkdir -p runs/opt-$i
	mkrun runs/opt-$i/metrics.tpr opt $i dec $lr $opt $i $d
	i=$((i + 1))
done
pack runs/opt-0/config.tpr <<'EOF'
{"type":"config","study":"opt","trial":0,"params":{"lr":0.0001,"optimizer":"adam","batch_size":32},"seed":0}
EOF
echo "lr: log 1e-4 1e-1" >opt.space
t_exit 3 "^tp-track: nope.space: No such file" "study with a missing config" \
	tp-track study opt --config nope.space
t_ok "register a study" tp-track study opt --config opt.space \
	--notes "adam vs nesterov" --command "make study-opt" --goal "pick the optimizer"
t_ok "ingest run directories" tp-track ingest runs/opt-*
t_eq "13 new objects" "$(cat t.out)" "13 new objects"
t_ok "re-ingest" tp-track ingest runs/opt-*
t_eq "re-ingest adds nothing" "$(cat t.out)" "0 new objects"
t_ok "ingest from stdin" sh -c 'tp-track ingest <runs/opt-3/metrics.tpr'
t_eq "stdin re-ingest adds nothing" "$(cat t.out)" "0 new objects"
zstd -q runs/opt-4/metrics.tpr -o opt4.tpr.zst
t_ok "ingest a zstd stream" tp-track ingest opt4.tpr.zst
t_eq "same records, zstd or not: nothing new" "$(cat t.out)" "0 new objects"

t_ok "study table" tp-track table
t_true "study row: 12 trials, 1 diverged" grep -Eq '^opt +12 +1 ' t.out
t_true "best trial 4 (lr 0.003) and its checkpoint" \
	grep -q 'runs/opt-4/ckpt/step-001000.tpc' t.out
t_true "the registered command" grep -q 'make study-opt' t.out
sha=$(sha256sum opt.space | cut -c1-64)
t_true "config checksum" grep -q "$sha" t.out

t_ok "trial table" tp-track table --study opt
t_eq "trial table: header + 12 rows" "$(wc -l <t.out)" 13
t_eq "best first" "$(sed -n 2p t.out | awk '{print $1}')" 4
t_true "diverged trial listed" grep -Eq '^ +11 +diverged@30' t.out
t_ok "trial table, accuracy" tp-track table --study opt -m accuracy -n 1
t_true "accuracy is maximised" grep -q 'best valid accuracy (max)' t.out
t_ok "trial table --final --min" tp-track table --study opt -m accuracy --min --final -n 2
t_eq "final accuracy, minimised: the worst first" "$(sed -n 2p t.out | awk '{print $1}')" 0

# tp-train's checkpoint files are found in RUN/ckpt when no record names them
mkdir -p ckrun/ckpt
pack ckrun/metrics.tpr <<'EOF'
{"type":"config","study":"ck","trial":0,"params":{"lr":0.1},"seed":1}
{"type":"eval","step":100,"split":"valid","error":0.3}
{"type":"eval","step":200,"split":"valid","error":0.2}
{"type":"eval","step":300,"split":"valid","error":0.25}
EOF
: >ckrun/ckpt/step-000000200.tpc
: >ckrun/ckpt/step-000000300.tpc
: >ckrun/ckpt/notackpt.txt
t_ok "ingest a run with checkpoint files" tp-track ingest ckrun
t_eq "records and checkpoints: 2 objects" "$(cat t.out)" "2 new objects"
tp-track table --study ck -f tsv >ck.tsv
t_eq "the checkpoint of the best step, from ckpt/" "$(sed -n 2p ck.tsv | cut -f1,3,4,5)" \
	"$(printf '0\t0.2\t200\tckrun/ckpt/step-000000200.tpc')"

# --- formats ---
t_ok "csv" tp-track table --study opt -f csv -o t.csv
t_ok "tsv" tp-track table --study opt -f tsv -o t.tsv
t_ok "jsonl" tp-track table --study opt -f jsonl -o t.jsonl
t_ok "markdown" tp-track table -f markdown -o t.md
t_eq "tsv: every line has the header's columns" \
	"$(awk -F'\t' '{print NF}' t.tsv | sort -u | wc -l)" 1
t_eq "markdown: header, rule, a row per study" "$(wc -l <t.md)" 5
if [ -n "$PY" ]; then
	t_ok "csv parses with python csv" "$PY" -c '
import csv, sys
rows = list(csv.reader(open("t.csv", newline="")))
assert len(rows) == 13 and all(len(r) == len(rows[0]) for r in rows), rows
assert rows[1][0] == "4"'
	t_ok "jsonl parses with python json" "$PY" -c '
import json
rows = [json.loads(l) for l in open("t.jsonl")]
assert len(rows) == 12 and rows[0]["trial"] == 4, rows[0]
assert isinstance(rows[0]["best valid error"], float)'
	tp-track table -f jsonl >s.jsonl
	tp-track study quoting --notes 'a, "quoted" note' --command 'x | y' --goal 'line
break'
	tp-track table -f csv >q.csv
	t_ok "csv: commas, quotes and newlines survive" "$PY" -c '
import csv
rows = list(csv.DictReader(open("q.csv", newline="")))
r = [x for x in rows if x["study"] == "quoting"][0]
assert r["notes"] == "a, \"quoted\" note" and r["goal"] == "line\nbreak", r'
	tp-track table -f tsv >q.tsv
	t_eq "tsv: a newline in a cell does not split the row" \
		"$(awk -F'\t' '{print NF}' q.tsv | sort -u | tr '\n' ' ')" "14 "
	t_ok "study jsonl: notes survive" "$PY" -c '
import json
r = [json.loads(l) for l in open("s.jsonl")]
r = [x for x in r if x["study"] == "opt"][0]
assert r["notes"] == "adam vs nesterov" and r["trials"] == 12, r'
else
	not_ok "python3 is needed to parse CSV and JSON"
fi

# --- compare ---
t_ok "compare" tp-track compare --study opt -f tsv
t_eq "compare: adam and nesterov side by side" \
	"$(head -n 1 t.out)" "$(printf 'field\topt optimizer=adam\topt optimizer=nesterov')"
t_true "compare: best nesterov is trial 3 (ties with 5: lower id)" grep -Eq "^trial	4	3$" t.out

# --- curves and axis ---
t_ok "curves as sparklines" tp-track curves --study opt -n 2
t_true "sparklines drawn" grep -q '▁' t.out
t_eq "two trials, two curves each" "$(grep -c 'valid error\|step loss' t.out)" 4
t_ok "curves as SVG" tp-track curves --study opt -o curves.svg
t_ok "curves SVG is well-formed XML" xmllint --noout curves.svg
t_ok "chosen trials" tp-track curves --study opt --trial 11 --trial 0 -o c2.svg
t_ok "axis plot" tp-track axis --study opt -p lr -o axis.svg
t_ok "axis SVG is well-formed XML" xmllint --noout axis.svg
t_true "axis: log scale chosen for lr" grep -q 'lr (log scale)' axis.svg
t_true "axis: diverged trials marked" grep -q 'diverged / no value' axis.svg
t_ok "axis --all" tp-track axis --study opt --all -o ax
t_eq "axis --all: one plot (lr)" "$(cat t.out)" "ax-lr.svg"
t_ok "axis --linear" tp-track axis --study opt -p lr --linear -o lin.svg
t_true "linear axis" sh -c '! grep -q "log scale" lin.svg'
t_exit 2 "no trial of study 'opt' has a numeric parameter 'momentum'" \
	"axis: unknown parameter" tp-track axis --study opt -p momentum
t_exit 2 "study 'opt' has no trial 99" "curves: unknown trial" \
	tp-track curves --study opt --trial 99
tp-track curves --study opt -o again.svg
t_cmp "SVG is deterministic" curves.svg again.svg
tp-track table --study opt >a1; tp-track table --study opt >a2
t_cmp "table is deterministic" a1 a2
if command -v chromium >/dev/null 2>&1; then
	chromium --headless --no-sandbox --disable-gpu --screenshot="$PWD/shot.png" \
		--window-size=720,420 "file://$PWD/curves.svg" >/dev/null 2>&1
	t_true "chromium renders the SVG" test -s shot.png
	if [ -n "$PY" ]; then
		t_ok "the rendering is not blank" "$PY" -c '
import zlib, struct
d = open("shot.png", "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n"
i, idat = 8, b""
while i < len(d):
	n, = struct.unpack(">I", d[i:i+4]); t = d[i+4:i+8]
	if t == b"IDAT": idat += d[i+8:i+8+n]
	i += 12 + n
raw = zlib.decompress(idat)
assert len(set(raw[1000:len(raw):97])) > 2, "blank"'
	fi
else
	ok "# skip chromium rendering (chromium not installed)"
fi

# --- unknown study ---
t_exit 2 "no study 'nope' in this store" "unknown study" tp-track table --study nope
t_exit 2 "no study 'nope' in this store" "unknown study in check" tp-track check --study nope

# --- export for tp-sample --history ---
t_ok "export" tp-track export --study opt -o results.tpr
t_eq "export: one result per trial" "$(tp-cat -t result -c results.tpr)" 12
t_eq "export: the diverged trial is marked" \
	"$(tp-cat -t result -w diverged=true -k trial results.tpr | tail -n 1)" 11

# --- checks: each fires on its case and stays silent on a clean one ---
# The clean study: 25 trials of one lr grid, saturating curves not too
# early, no repeats; epoch length given so periodicity is checked.
check_study() { # NAME: run tp-track check on it only
	tp-track check --study "$1" --epoch-steps 50 >check.out 2>check.err
	echo $? >check.rc
}
fired() { grep -q "^finding: $1: $2" check.out; }

for i in $(seq 0 19); do
	lr=$(awk -v i=$i 'BEGIN { printf "%.6g", 10 ^ (-3.5 + 2.5 * i / 19) }')
	mkrun clean$i.tpr clean $i sat $lr adam $i -1 500
done
tp-track ingest -q clean*.tpr
check_study clean
t_eq "clean study: exit 0" "$(cat check.rc)" 0
t_eq "clean study: no finding" "$(grep -c '^finding' check.out)" 0
sed 's/^/#   /' check.out | head -n 5

t_eq "check on the opt study exits 7" \
	"$(tp-track check --study opt >/dev/null 2>&1; echo $?)" 7
t_ok "check -q prints nothing" sh -c 'tp-track check -q --study opt; [ $? = 7 ]'
t_eq "check -q output" "$(cat t.out)" ""

# boundary: best at the largest lr of the study; and not with the space given
for i in 0 1 2 3 4; do
	lr=$(awk -v i=$i 'BEGIN { printf "%.6g", 10 ^ (-4 + 0.375 * i) }')
	mkrun bnd$i.tpr bnd $i sat $lr
done
tp-track ingest -q bnd*.tpr
check_study bnd
t_true "boundary fires: extend lr" fired boundary "bnd trial 4: .*lr=0.00316228.*extend the search above"
t_true "budget fires: 5 trials for 1 nuisance parameter" fired budget "bnd: .*5 completed trials"
tp-track check --study bnd --bound lr=1e-5:1:log --per-param 5 >check.out
t_true "boundary silent inside the given space" sh -c '! grep -q "^finding: boundary" check.out'
t_true "budget silent with --per-param 5" sh -c '! grep -q "^finding: budget" check.out'
printf 'study bnd\nnuisance lr float 1e-5 1 log\n' >bnd.space
tp-track check --study bnd --space bnd.space >check.out
t_true "boundary silent inside the space file's range" sh -c '! grep -q "^finding: boundary" check.out'
printf 'study bnd\nnuisance lr float 1e-5 3.2e-3 log\n' >bnd2.space
tp-track check --study bnd --space bnd2.space >check.out
t_true "boundary fires at the space file's upper bound" \
	grep -q "^finding: boundary: bnd trial 4: .*(search space, log scale)" check.out
printf 'study bnd\nnuisance lr float 1 0.1 log\n' >bad.space
t_exit 2 "^tp-track: bad.space: line 2: " "bad space file" tp-track check --study bnd --space bad.space

# overfit, longer, shorter, noise, periodic: the best trial's curves
for shape in v dec sat noisy periodic; do
	mkrun c-$shape.tpr c-$shape 0 $shape 0.003
done
tp-track ingest -q c-*.tpr
check_study c-v
t_true "overfit fires with the steps" fired overfit "c-v trial 0: valid error was best at step 400"
check_study c-dec
t_true "train longer fires" fired longer "c-dec trial 0: valid error still improving at the last step 1000"
t_true "longer is not shorter" sh -c '! grep -q "^finding: shorter" check.out'
check_study c-sat
t_true "train shorter fires" fired shorter "c-sat trial 0: .*at step 300 of 1000"
check_study c-noisy
t_true "late noise fires" fired noise "c-noisy trial 0"
check_study c-periodic
t_true "periodicity at the epoch length fires" fired periodic "c-periodic trial 0: .*epoch length (50 steps)"
tp-track check --study c-periodic >check.out
t_true "epoch length from the config: 1600 examples / batch 32" \
	grep -q "^finding: periodic: c-periodic trial 0: .*epoch length (50 steps)" check.out
tp-track check --study c-periodic --epoch-steps 70 >check.out
t_true "no periodicity at another epoch length" sh -c '! grep -q "^finding: periodic" check.out'
for s in v dec sat noisy; do
	check_study c-$s
	grep -q '^finding: periodic' check.out && not_ok "periodic fires on c-$s"
done
ok "periodicity silent on the non-periodic curves"

# instability: early divergence -> warmup; mid-training -> clipping
mkrun u0.tpr unst 0 sat 0.003 adam 0
mkrun u1.tpr unst 1 sat 0.01 adam 1 40
mkrun u2.tpr unst 2 sat 0.03 adam 2 600
tp-track ingest -q u*.tpr
check_study unst
t_true "early divergence suggests warmup" fired unstable "unst trial 1: diverged at step 40 of 1000.*warmup"
t_true "mid-training divergence suggests clipping" fired unstable "unst trial 2: diverged at step 600 of 1000.*apply gradient clipping"
t_eq "the stable trial is not flagged" "$(grep -c 'unstable: unst trial 0' check.out)" 0

# repeated seeds: three seeds of one config, a runner-up config close by
mkrun r0.tpr rep 0 sat 0.003 adam 11
mkrun r1.tpr rep 1 noisy 0.003 adam 12
mkrun r2.tpr rep 2 dec 0.003 adam 13
mkrun r3.tpr rep 3 sat 0.0031 adam 14
tp-track ingest -q r*.tpr
check_study rep
t_true "seed variance fires when it can reorder the best two" \
	fired seeds "rep: 3 trials (0, 1, 2) differ only in their seeds"
check_study clean
t_true "no seed finding without repeats" sh -c '! grep -q "seeds" check.out'

# --- leakage ---
printf 'a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n' >train.csv
printf 'a,b,label\n5,6,0\n9,9,1\n' >valid.csv
printf 'a,b,label\n10,11,0\n' >test.csv
mkds() {
	awk -F, -v n="$(($(wc -l <"$1") - 1))" 'NR == 1 {
		printf "{\"type\":\"dataset\",\"version\":1,\"features\":2,\"classes\":2,\"count\":%d}\n", n; next }
		{ printf "{\"x\":[%s,%s],\"y\":%d}\n", $1, $2, $3 }' "$1" | pack "$2"
}
mkds train.csv train.tpr; mkds valid.csv valid.tpr; mkds test.csv test.tpr
tp-track leak train.tpr valid.tpr test.tpr >leak.out 2>leak.err
t_eq "leak found: exit 7, nothing on stderr" "$?,$(cat leak.err)" "7,"
t_true "leak: 1 of 2 validation examples" grep -q '^finding: leak: valid.tpr: 1 of 2 examples (50.0%)' leak.out
t_true "leak: test set clean" grep -q '^note: leak: test.tpr: none of 1' leak.out
t_ok "no leak: exit 0" tp-track leak train.tpr test.tpr
t_exit 3 "^tp-track: nothere.tpr: " "leak: missing dataset" tp-track leak nothere.tpr test.tpr
t_exit 3 "^tp-track: results.tpr: " "leak: not a dataset" tp-track leak results.tpr test.tpr
t_exit 3 "^tp-track: train.tpr: .*a dataset, not a record stream of runs" \
	"ingest refuses a dataset" tp-track ingest train.tpr

# --- concurrency: 16 writers at once, with readers, nothing lost ---
mkdir conc
for w in $(seq 0 15); do
	for k in 0 1 2; do
		mkrun conc/w$w-$k.tpr conc $((w * 3 + k)) sat 0.003 adam $((w * 3 + k)) -1 200
	done
done
for w in $(seq 0 15); do
	# each writer also ingests two files another writer ingests
	o=$(((w + 1) % 16))
	tp-track -d cstore ingest -q conc/w$w-*.tpr conc/w$o-0.tpr conc/w$o-1.tpr &
done
for r in 1 2 3; do tp-track -d cstore table >/dev/null 2>&1 & done
wait
t_eq "16 writers: 48 objects, no temporaries left" \
	"$(ls -A cstore/objects | grep -c '^[0-9a-f]\{64\}\.tpr$'),$(ls -A cstore/objects | grep -vc '^[0-9a-f]\{64\}\.tpr$')" "48,0"
t_ok "concurrent store reads" tp-track -d cstore table --study conc -f tsv
t_eq "every trial present once" "$(tail -n +2 t.out | cut -f1 | sort -n | uniq | wc -l),$(tail -n +2 t.out | wc -l)" "48,48"
tp-track -d cstore curves --study conc --trial 17 -f tsv >curve.tsv
t_eq "no record duplicated or lost: 2 evals, 21 steps" \
	"$(cut -f2,8 curve.tsv | tail -n +2 | tr '\t\n' ' ')" "valid error 200 step loss 200 "
t_ok "re-ingest everything" tp-track -d cstore ingest conc/*.tpr
t_eq "idempotent" "$(cat t.out)" "0 new objects"
t_eq "the index is up to date" "$(ls cstore/index.tpr)" "cstore/index.tpr"

# --- a corrupt object in the store ---
obj=$(ls store/objects | head -n 1)
printf '\222' >"store/objects/$obj"
t_exit 3 "^tp-track: store/objects/$obj: " "corrupt object named" tp-track table
