# t-sample.sh: tp-sample end to end: the space format and every one of its
# errors (exit 2, one line with the line number), the four output formats,
# slices, seeds, presets, grid, and Bayesian proposals from histories.
. "$TP_TOP/tests/lib.sh"

cat >opt.space <<'SPACE'
# the playbook's optimizer comparison
study optimizer-comparison
goal "compare adam and nesterov at batch 128"
scientific optimizer  choice adam nesterov
nuisance   lr         float 1e-4 1e-1 log
nuisance   beta1      float 0.8 0.99 reverse-log   if optimizer=adam
nuisance   momentum   float 0.8 0.99 reverse-log   if optimizer=nesterov
nuisance   width      int 64 1024 log
nuisance   dropout    discrete 0 0.1 0.2
fixed      batch_size 128
fixed      schedule   cosine
SPACE

# t_usage REGEX NAME CMD...: a usage error: exit 2, one diagnostic line
# matching REGEX, then the short usage.
t_usage() {
	re=$1 name=$2; shift 2
	"$@" >t.out 2>t.err; rc=$?
	if [ "$rc" != 2 ]; then
		not_ok "$name (exit $rc, want 2)"; sed 's/^/#   /' t.err | head -n 5
	elif ! head -n 1 t.err | grep -Eq -- "$re"; then
		not_ok "$name (first line does not match /$re/)"; sed 's/^/#   /' t.err | head -n 5
	elif [ "$(sed -n 2p t.err | cut -c1-17)" != "usage: tp-sample " ]; then
		not_ok "$name (no usage after the message)"; sed 's/^/#   /' t.err | head -n 5
	else ok "$name"; fi
}

# ---- the command line ----
t_ok "--help exits 0" tp-sample --help
t_true "--help prints the usage on stdout" grep -q '^usage: tp-sample' t.out
t_ok "--version" tp-sample --version
t_true "--version names the suite" grep -q '^tp-sample (tp) ' t.out
t_usage "^tp-sample: --frobnicate: unknown option$" "unknown option" tp-sample --frobnicate opt.space
t_usage "^tp-sample: -x: unknown option$" "unknown short option" tp-sample -x opt.space
t_usage "^tp-sample: --trials: missing argument$" "missing argument" tp-sample opt.space --trials
t_usage "tp-sample: --trials: 'x' is not an integer" "bad -n" tp-sample -n x opt.space
t_usage "tp-sample: --trials: '0' is not an integer" "-n 0" tp-sample -n 0 opt.space
t_usage "tp-sample: --seed: '-1' is not an integer" "negative seed" tp-sample -s -1 opt.space
t_usage "tp-sample: --format: 'yaml': expected msgpack, json, args or tsv" \
	"bad format" tp-sample -f yaml opt.space
t_usage "tp-sample: --method: 'sobbol': expected sobol" "bad method" tp-sample -m sobbol opt.space
t_usage "tp-sample: --preset: 'sgd': the only preset is adam" "bad preset" tp-sample -p sgd
t_usage "tp-sample: one search space at most, 2 given" "two operands" tp-sample opt.space opt.space
t_usage "tp-sample: --history needs --method bayes" "history without bayes" \
	tp-sample -H x opt.space
t_usage "tp-sample: --start: Bayesian proposals are numbered after the history" \
	"start with bayes" tp-sample -m bayes --start 3 opt.space
t_usage "tp-sample: --count: at most 1000 Bayesian proposals" "bayes count" \
	tp-sample -m bayes --count 5000 opt.space
t_usage "tp-sample: --trials: at most 1000 Bayesian proposals" "bayes trials" \
	tp-sample -m bayes -n 5000 opt.space
t_exit 3 "tp-sample: nothere.space: No such file" "missing space file" tp-sample nothere.space
t_exit 2 "tp-sample: --start 4294967295 --count 2: beyond the 4294967296 points" \
	"slice beyond the sequence" tp-sample --start 4294967295 --count 2 opt.space

# ---- the space format: every mistake names its line ----
bad() { # CODE-REGEX NAME TEXT
	printf '%s\n' "$3" >bad.space
	t_exit 2 "^tp-sample: bad.space: $1" "$2" tp-sample bad.space
}
bad "line 2: unknown keyword 'nuisanse'" "unknown keyword" "study s
nuisanse lr float 0 1"
bad "line 1: unknown type 'flaot' \\(expected float, int, discrete or choice\\)" \
	"unknown type" "nuisance lr flaot 0 1"
bad "line 1: nuisance lr: missing type" "missing type" "nuisance lr"
bad "line 1: low 0.1 is not below high 0.01" "low > high" "nuisance lr float 0.1 0.01"
bad "line 1: low 5 is above high 4" "int low > high" "nuisance n int 5 4"
bad "line 3: log scale needs a positive lower bound" "log with 0" "study s

nuisance lr float 0 1 log"
bad "line 1: log scale needs a positive lower bound" "int log with -1" "nuisance w int -1 8 log"
bad "line 1: reverse-log scale needs an upper bound below 1" "reverse-log to 1" \
	"nuisance m float 0.5 1 reverse-log"
bad "line 1: unknown scale 'logg'" "unknown scale" "nuisance lr float 1 2 logg"
bad "line 1: unknown scale 'reverse-log' \\(expected linear, log\\)" "int reverse-log" \
	"nuisance w int 1 2 reverse-log"
bad "line 1: float needs LOW HIGH" "float without bounds" "nuisance lr float 1"
bad "line 1: 'x' is not a number" "bound not a number" "nuisance lr float x 1"
bad "line 1: '1.5' is not an integer" "int bound 1.5" "nuisance w int 1.5 8"
bad "line 2: duplicate parameter 'lr' \\(first on line 1\\)" "duplicate name" \
	"nuisance lr float 1 2
fixed lr 3"
bad "line 1: duplicate value 'adam'" "duplicate value" "scientific o choice adam adam"
bad "line 1: discrete needs at least one value" "empty discrete" "nuisance d discrete"
bad "line 1: 'a' is not a number" "discrete of words" "nuisance d discrete 1 a"
bad "line 2: condition on unknown parameter 'optimiser'" "condition on unknown parameter" \
	"scientific optimizer choice adam sgd
nuisance beta1 float 0.8 0.99 if optimiser=adam"
bad "line 2: condition: 'adamw' is not a value of 'optimizer'" "condition on unknown value" \
	"scientific optimizer choice adam sgd
nuisance beta1 float 0.8 0.99 if optimizer=adamw"
bad "line 2: condition on float parameter 'lr'" "condition on a float" \
	"nuisance lr float 1 2
nuisance x float 1 2 if lr=1"
bad "line 1: condition 'optimizer' is not NAME=VALUE" "condition without =" \
	"nuisance x float 1 2 if optimizer"
bad "line 1: 'if' needs a condition" "dangling if" "nuisance x float 1 2 if"
bad "line 1: fixed value '12.5' is not an int" "fixed of the wrong type" "fixed batch_size int 12.5"
bad "line 1: fixed value 'maybe' is not a bool" "fixed bool" "fixed nesterov bool maybe"
bad "line 1: unknown fixed type 'list'" "unknown fixed type" "fixed x list 1"
bad "line 1: fixed needs NAME \\[TYPE\\] VALUE" "fixed without value" "fixed x"
bad "line 1: scientific parameter 'lr' needs a finite set of values" "scientific float" \
	"scientific lr float 1 2"
bad "line 2: a scientific parameter cannot be conditional" "conditional scientific" \
	"scientific a choice x y
scientific b choice u v if a=x"
bad "line 1: bad parameter name '2lr'" "bad name" "nuisance 2lr float 1 2"
bad "line 1: unterminated quote" "unterminated quote" 'goal "oops'
bad "line 2: a second 'study' line" "two study lines" "study a
study b"
bad "line 1: bad study name 'a/b'" "study name with /" "study a/b"
bad "line 1: unknown preset 'sgd'" "unknown preset" "preset sgd"
bad "line 1: int needs LOW HIGH \\[linear\\|log\\]" "trailing word" "nuisance w int 1 8 log x"
bad "no parameters" "empty space" "# nothing
study s"
printf 'nuisance lr float 1e-3 1 log\000\n' >nul.space
t_exit 2 "nul.space: line 1: NUL byte" "NUL byte" tp-sample nul.space

# ---- trials ----
t_ok "json trials" tp-sample -n 4 -f json opt.space
t_eq "2 studies x 4 trials" "$(wc -l <t.out)" 8
t_true "trial record fields" grep -q '^{"type":"trial","study":"optimizer-comparison/optimizer=adam","trial":0,"scientific":{"optimizer":"adam"},"params":{"optimizer":"adam","lr":' t.out
t_eq "beta1 only for adam" "$(grep -c beta1 t.out)/$(grep beta1 t.out | grep -c nesterov)" "4/0"
t_eq "momentum only for nesterov" "$(grep -c momentum t.out)/$(grep momentum t.out | grep -c '"adam"')" "4/0"
t_true "fixed values as int and string" grep -q '"batch_size":128,"schedule":"cosine"}' t.out
t_true "trial-major order: trial 0 of both studies first" \
	sh -c 'sed -n 2p t.out | grep -q "nesterov\",\"trial\":0"'
t_true "same nuisance point in both studies (common random numbers)" sh -c \
	'[ "$(sed -n 1p t.out | grep -o "\"lr\":[^,]*")" = "$(sed -n 2p t.out | grep -o "\"lr\":[^,]*")" ]'
# values within their ranges, over 256 trials
tp-sample -n 256 -f tsv opt.space >many.tsv
t_eq "tsv: header + 512 rows" "$(wc -l <many.tsv)" 513
t_eq "tsv header" "$(head -n 1 many.tsv)" "$(printf 'study\ttrial\tseed\toptimizer\tlr\tbeta1\tmomentum\twidth\tdropout\tbatch_size\tschedule')"
t_eq "every value within its range" "$(awk -F'\t' 'NR > 1 && ($5 < 1e-4 || $5 > 0.1 ||
	($6 != "" && ($6 < 0.8 || $6 > 0.99)) || ($7 != "" && ($7 < 0.8 || $7 > 0.99)) ||
	$8 < 64 || $8 > 1024 || $8 != int($8) || ($9 != 0 && $9 != 0.1 && $9 != 0.2)) { n++ }
	END { print n + 0 }' many.tsv)" 0
t_eq "log scale: a third of lr per decade" "$(awk -F'\t' 'NR > 1 && $5 < 1e-3 { n++ } END { print n }' many.tsv)" \
	"$(awk -F'\t' 'NR > 1 && $5 >= 1e-2 { n++ } END { print n }' many.tsv)"
t_eq "every dropout level has a third" "$(awk -F'\t' 'NR > 1 && $9 == 0.1 { n++ } END { print n }' many.tsv)" 170
t_eq "inactive parameters are empty in tsv" "$(awk -F'\t' 'NR > 1 && ($6 == "") == ($7 == "") { n++ } END { print n + 0 }' many.tsv)" 0

t_ok "args format" tp-sample -n 2 -f args opt.space
t_true "args: --name=value and the seed" grep -Eq '^--optimizer=adam --lr=[0-9.e-]+ --beta1=[0-9.]+ --width=[0-9]+ --dropout=[0-9.]+ --batch_size=128 --schedule=cosine --seed=[0-9]+$' t.out
printf 'scientific note choice "two words" "it'"'"'s"\nnuisance lr float 0 1\n' >quote.space
t_ok "args quoting" tp-sample -n 1 -f args quote.space
t_eq "args: shell-quoted values" "$(cut -d' ' -f1-2 t.out | head -n 1)" "--note='two words'"
t_eq "args: a quote inside" "$(sed -n 2p t.out | cut -d' ' -f1)" "--note='it'\\''s'"
t_eq "args: xargs reads them back" "$(sed -n 2p t.out | xargs printf '%s|' | cut -d'|' -f1)" "--note=it's"

# determinism, seeds, slices
tp-sample -n 64 opt.space >a.mp
tp-sample -n 64 opt.space >b.mp
tp-sample -n 64 -s 1 opt.space >c.mp
t_cmp "same seed, same bytes" a.mp b.mp
t_true "different seeds differ" sh -c '! cmp -s a.mp c.mp'
for m in sobol halton random grid; do
	tp-sample -m $m -n 40 -f json opt.space >whole.$m
	tp-sample -m $m -n 40 --start 13 --count 20 -f json opt.space >part.$m
	sed -n 27,66p whole.$m >want.$m
	t_cmp "$m: --start 13 --count 20 is exactly that slice of the whole" part.$m want.$m
done
tp-sample -n 40 --start 40 --count 8 -f json opt.space >ext
tp-sample -n 48 -f json opt.space | sed -n 81,96p >ext.want
t_cmp "a study extended later continues the sequence" ext ext.want
t_ok "msgpack output to a .zst file" tp-sample -n 64 -o out.mp.zst opt.space
t_true "the .zst file holds the same records" sh -c 'zstd -dc out.mp.zst | cmp -s - a.mp'
t_exit 3 "tp-sample: " "a full disk fails" tp-sample -n 64 -o /dev/full opt.space
t_ok "stdin is the default operand" sh -c 'tp-sample -n 64 <opt.space >d.mp'
t_cmp "stdin gives the same trials" d.mp a.mp
t_ok "'-' is stdin" sh -c 'tp-sample -n 64 - <opt.space >e.mp'
t_cmp "'-' gives the same trials" e.mp a.mp

# golden: seed 7 of the example space, pinned across versions
t_ok "golden trial" tp-sample -s 7 -n 2 -f tsv opt.space
t_eq "golden: trial 1 of the nesterov study" "$(sed -n 5p t.out)" \
	"$(printf 'optimizer-comparison/optimizer=nesterov\t1\t%s' "$(sed -n 5p t.out | cut -f3-)")"
GOLDEN_ROW=$(printf '1790225814857133\tnesterov\t0.0012413694720119224\t\t0.8907442621092879\t77\t0.1\t128\tcosine')
t_eq "golden: seed-7 values" "$(sed -n 5p t.out | cut -f3-)" "$GOLDEN_ROW"

# describe
t_ok "--describe" tp-sample -d -n 10 opt.space
t_true "describe: counts" grep -q '^# 5 nuisance dimensions, 2 studies, 20 trials$' t.out
t_true "describe: study names" grep -q '^# study optimizer-comparison/optimizer=nesterov$' t.out
grep -v '^#' t.out >resolved.space
tp-sample -n 64 resolved.space >f.mp
t_cmp "the described space reads back to the same trials" f.mp a.mp

# the Adam preset follows the playbook's budget rules
for nb in "5 lr" "10 lr,beta1" "25 lr,beta1,epsilon" "50 lr,beta1,epsilon,beta2"; do
	set -- $nb
	got=$(tp-sample -p adam -n $1 -f tsv | head -n 1 | cut -f5- | tr '\t' ,)
	t_eq "preset adam, $1 trials: tunes $2" "$got" "$2"
done
t_ok "preset adam fixes the optimizer" tp-sample -p adam -n 5 -f json
t_true "optimizer adam" grep -q '"params":{"optimizer":"adam","lr":' t.out
printf 'scientific optimizer choice adam nesterov\nnuisance lr float 1e-3 1 log\nnuisance momentum float 0.8 0.99 if optimizer=nesterov\npreset adam if optimizer=adam\n' >pre.space
t_ok "conditional preset in a space" tp-sample -n 12 -d pre.space
t_true "beta1 for adam only, the user's lr kept" grep -q '^nuisance   beta1 float 0.8 0.99 reverse-log if optimizer=adam   # preset adam$' t.out
t_true "lr range kept" grep -q '^nuisance   lr float 0.001 1.0 log$' t.out

# grid
printf 'nuisance a float 0 1\nnuisance b int 1 100\nnuisance c choice x y\n' >grid.space
t_ok "grid" tp-sample -m grid -n 32 -f tsv grid.space
t_eq "grid: 4 x 4 x 2 distinct points" "$(tail -n +2 t.out | cut -f4- | sort -u | wc -l)" 32
t_eq "grid: midpoints of a" "$(tail -n +2 t.out | cut -f4 | sort -u | tr '\n' ' ')" "0.125 0.375 0.625 0.875 "
tp-sample -m grid -n 40 -f tsv grid.space >t.out 2>t.err
t_eq "grid: a larger -n prints the grid and warns" "$(tail -n +2 t.out | wc -l)/$(cat t.err)" \
	"32/tp-sample: warning: the grid has 32 points: printing 32 trials per study"

# the map form
cat >space.json <<'JSON'
{"type":"space","study":"optimizer-comparison","goal":"compare adam and nesterov at batch 128","params":[{"role":"scientific","name":"optimizer","type":"choice","values":["adam","nesterov"]},{"role":"nuisance","name":"lr","type":"float","min":1e-4,"max":0.1,"scale":"log"},{"role":"nuisance","name":"beta1","type":"float","min":0.8,"max":0.99,"scale":"reverse-log","if":{"optimizer":"adam"}},{"role":"nuisance","name":"momentum","type":"float","min":0.8,"max":0.99,"scale":"reverse-log","if":{"optimizer":["nesterov"]}},{"role":"nuisance","name":"width","type":"int","min":64,"max":1024,"scale":"log"},{"role":"nuisance","name":"dropout","type":"discrete","values":[0,0.1,0.2]},{"role":"fixed","name":"batch_size","value":128},{"role":"fixed","name":"schedule","value":"cosine"}]}
JSON
t_ok "JSON to a msgpack space" tp-cat -j -m -o space.mp space.json
t_ok "the map form" sh -c 'tp-sample -n 64 space.mp >g.mp'
t_cmp "map form and text form give the same trials" g.mp a.mp
echo '{"type":"space","params":[{"role":"nuisance","name":"lr","type":"float","min":1,"max":0.5}]}' |
	tp-cat -j -m -o badmap.mp
t_exit 2 "^tp-sample: badmap.mp: params\\[0\\]: low 1 is not below high 0.5$" \
	"map form errors name the parameter" tp-sample badmap.mp
echo '{"type":"space","params":[{"role":"nuisance","type":"float","min":1,"max":2}]}' |
	tp-cat -j -m -o badmap2.mp
t_exit 2 "badmap2.mp: params\\[0\\]: \"name\": missing or not a string" \
	"map form: missing name" tp-sample badmap2.mp
echo '{"type":"trial"}' | tp-cat -j -m -o notspace.mp
t_exit 2 "notspace.mp: not a space record" "map form: not a space" tp-sample notspace.mp

# ---- Bayesian proposals ----
printf 'study valley\nnuisance lr float 1e-5 1 log\nnuisance wd float 1e-6 1e-1 log\n' >bo.space
# results of 12 quasi-random trials on a valley around lr=10^-2.5, wd=10^-4;
# lr above 0.3 diverged
tp-sample -n 12 -f tsv bo.space | awk -F'\t' 'NR > 1 {
	x = log($4) / log(10) + 2.5; y = log($5) / log(10) + 4
	printf "{\"type\":\"result\",\"study\":\"%s\",\"trial\":%d,\"params\":{\"lr\":%s,\"wd\":%s},\"objective\":%.17g,\"diverged\":%s}\n",
		$1, $2, $4, $5, x * x + 0.3 * y * y, ($4 > 0.3 ? "true" : "false") }' >hist.json
tp-cat -j -m -o hist.mp hist.json
t_ok "bayes from result records" tp-sample -m bayes -H hist.mp -n 4 -f tsv bo.space
t_eq "4 proposals numbered after the history" "$(tail -n +2 t.out | cut -f2 | tr '\n' ' ')" "12 13 14 15 "
best=$(awk -F'\t' 'NR > 1 { x = log($4) / log(10) + 2.5; y = log($5) / log(10) + 4
	v = x * x + 0.3 * y * y; if (b == "" || v < b) b = v } END { print b }' t.out)
hbest=$(grep -o '"objective":[^,]*' hist.json | cut -d: -f2 | sort -g | head -n 1)
t_true "a proposal beats the best of the 12 quasi-random trials ($best < $hbest)" \
	awk -v a="$best" -v b="$hbest" 'BEGIN { exit !(a < b) }'
tp-sample -m bayes -H hist.mp -n 4 -f tsv bo.space >again
t_cmp "bayes: same seed, same proposals" t.out again
# tp-train metrics streams: config, eval, diverged
cat >runs.json <<'JSON'
{"type":"config","study":"valley","trial":0,"params":{"lr":0.003,"wd":0.0001},"seed":1}
{"type":"train","step":10,"loss":1.5}
{"type":"eval","step":10,"split":"valid","error":0.30,"accuracy":0.70}
{"type":"eval","step":10,"split":"train","error":0.01}
{"type":"eval","step":20,"split":"valid","error":0.20,"accuracy":0.80}
{"type":"config","study":"valley","trial":7,"params":{"lr":0.9,"wd":0.01},"seed":1}
{"type":"diverged","step":3,"reason":"loss is NaN"}
{"type":"config","study":"valley","trial":3,"params":{"lr":0.00001,"wd":0.1},"seed":1}
{"type":"eval","step":20,"split":"valid","error":0.9}
{"type":"config","study":"valley","trial":5,"params":{"lr":5.0,"wd":0.001},"seed":1}
{"type":"eval","step":20,"split":"valid","error":0.5}
{"type":"config","study":"valley","trial":4,"params":{"lr":0.001,"wd":0.001},"seed":1}
JSON
tp-cat -j -m -o runs.mp runs.json
tp-sample -m bayes -H runs.mp -n 2 -f tsv bo.space >t.out 2>t.err
t_eq "metrics streams: proposals after trial 7" "$(tail -n +2 t.out | cut -f2 | tr '\n' ' ')" "8 9 "
t_true "a run without evals is left out with a warning" grep -q 'warning: runs.mp: byte [0-9]*: no "error" on split "valid" yet: run left out' t.err
t_true "a run outside the space is left out with a warning" grep -q 'warning: runs.mp: byte [0-9]*: lr=5.0 is outside the space: trial left out' t.err
t_eq "two warnings" "$(wc -l <t.err)" 2
t_ok "-q silences them" tp-sample -q -m bayes -H runs.mp -n 2 bo.space
t_eq "-q: nothing on stderr" "$(cat t.err)" ""
t_ok "--max accuracy" tp-sample -m bayes -H runs.mp -H hist.mp --metric accuracy --max -n 2 bo.space
echo '{"type":"result","study":"valley","trial":0,"params":{"lr":0.01,"wd":0.001}}' | tp-cat -j -m -o nores.mp
t_exit 3 "^tp-sample: nores.mp: byte 0: result record without a numeric \"objective\"" \
	"result without objective" tp-sample -m bayes -H nores.mp bo.space
echo '{"type":"result","trial":0,"objective":1}' | tp-cat -j -m -o noparams.mp
t_exit 3 "noparams.mp: byte 0: result record without a \"params\" map" \
	"result without params" tp-sample -m bayes -H noparams.mp bo.space
t_exit 3 "^tp-sample: nohist.mp: " "missing history" tp-sample -m bayes -H nohist.mp bo.space
tp-sample -n 20 bo.space >launched.mp
t_ok "launched trials count for numbering" tp-sample -m bayes -H hist.mp -H launched.mp -n 2 -f tsv bo.space
t_eq "proposals after the launched trial 19" "$(tail -n +2 t.out | cut -f2 | tr '\n' ' ')" "20 21 "
t_ok "bayes with no history: space-filling proposals" tp-sample -m bayes -n 3 -f tsv bo.space
t_eq "3 proposals from trial 0" "$(tail -n +2 t.out | cut -f2 | tr '\n' ' ')" "0 1 2 "
t_ok "bayes over two studies with conditions" tp-sample -m bayes -n 2 -f json opt.space
t_eq "2 proposals per study" "$(grep -c '"trial"' t.out)" 4

# ---- the pipeline: tp-sample -> tp-train -> tp-sample -m bayes ----
tp-data synth -n 300 --classes 3 --features 6 -s 1 -o all.tpd
tp-data split -f 0.8,0.2 -o part all.tpd
printf 'study e2e\nnuisance lr float 1e-4 1e-1 log\nnuisance width int 8 32 log\nfixed steps 40\nfixed eval_every 20\nfixed depth 1\n' >e2e.space
tp-sample -n 3 e2e.space >e2e.trials
for i in 0 1 2; do
	tp-train -q --no-timing --trial e2e.trials --trial-index $i --valid part-valid.zst \
		part-train.zst >e2e-run$i.tpm
done
cat e2e-run0.tpm e2e-run1.tpm e2e-run2.tpm >e2e.history
t_ok "bayes reads tp-train's metrics streams" tp-sample -m bayes -H e2e.history -n 2 -f tsv e2e.space
t_eq "proposals numbered after the 3 runs, no warning" \
	"$(tail -n +2 t.out | cut -f2 | tr '\n' ' ')$(cat t.err)" "3 4 "
