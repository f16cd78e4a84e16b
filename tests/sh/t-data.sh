# t-data: tp-data end to end: pack (CSV/TSV/IDX, gzip, scaling), info,
# split (stratified, seeded), sample, shard, synth, and every error path
# with its exit code and one-line message.
. "$TP_TOP/tests/lib.sh"

# t_usage REGEX NAME CMD...: a usage error: exit 2, the first stderr line
# matches REGEX and the rest is the usage text.
t_usage() {
	re=$1 name=$2; shift 2
	"$@" >t.out 2>t.err; rc=$?
	if [ "$rc" != 2 ]; then
		not_ok "$name (exit $rc, want 2)"; sed 's/^/#   /' t.err | head -n 3
	elif ! head -n 1 t.err | grep -Eq -- "$re"; then
		not_ok "$name (first line does not match /$re/)"; sed 's/^/#   /' t.err | head -n 3
	elif ! sed -n 2p t.err | grep -q '^usage: tp-data'; then
		not_ok "$name (no usage after the message)"
	else ok "$name"; fi
}

# json KEY FILE...: a value from `tp-data info --json`.
json() {
	k=$1; shift
	tp-data info --json "$@" | sed -n "s/.*\"$k\":\(\[[^]]*\]\|[^,}]*\).*/\1/p"
}

digits=$DATA/digits.csv.gz

# ---- pack and info: the reference data set ----
t_ok "pack digits" tp-data pack -o d.zst "$digits"
tp-data pack "$digits" | tp-data info - >info.txt
t_eq "pipe: count" "$(awk '$1 == "count" { print $2 }' info.txt)" 1797
t_eq "pipe: features" "$(awk '$1 == "features" { print $2 }' info.txt)" 64
t_eq "pipe: classes" "$(awk '$1 == "classes" { print $2 }' info.txt)" 10
# The UCI test part's class counts (sklearn's load_digits).
t_eq "pipe: class counts" \
	"$(awk '/^ +[0-9]+ +[0-9]+ +0\./ { printf "%s ", $2 }' info.txt)" \
	"178 182 177 183 181 182 181 179 174 180 "
t_eq "json class counts" "$(json class_count d.zst)" \
	"[178,182,177,183,181,182,181,179,174,180]"
t_eq "json x range" "$(json x_max d.zst)" 16
t_ok "pack is deterministic" tp-data pack -o d2.zst "$digits"
t_cmp "same input, same bytes" d.zst d2.zst
t_true "output is zstd" sh -c 'head -c 4 d.zst | od -An -tx1 | grep -q "28 b5 2f fd"'
tp-data pack --plain "$digits" >plain.ds
t_true "--plain is not zstd" sh -c '! head -c 4 plain.ds | od -An -tx1 | grep -q "28 b5 2f fd"'
t_eq "--plain reads back" "$(json count plain.ds)" 1797

# Atomic replacement is for regular files: a FIFO (like /dev/null) must
# stay what it is and receive the data.
mkfifo fifo
timeout 20 cat fifo >fromfifo.zst &  # no hang if the FIFO were replaced
t_ok "output to a FIFO" tp-data pack -o fifo "$digits"
wait
t_true "the FIFO is still a FIFO" test -p fifo
t_cmp "and the data went through it" fromfifo.zst d.zst

# ---- CSV dialects ----
printf 'w,h,kind\n1,2,cat\n3,4,dog\n5,6,cat\n' >named.csv
t_ok "header and label names" tp-data pack -o named.zst named.csv
t_eq "label names sorted become classes" "$(json class_count named.zst)" "[2,1]"
tp-data info named.zst >t.info
t_true "info shows label names" grep -Eq '^ +1 +1 +0\.3333 +dog$' t.info
printf 'kind\tw\th\n0\t1\t2\n1\t3\t4\n' >a.tsv
t_ok "TSV, label by name" tp-data pack -l kind -o tsv.zst a.tsv
t_eq "TSV: features" "$(json features tsv.zst)" 2
printf '0\t1\t2\n1\t3\t4\n' >b.tsv
t_ok "label by number" tp-data pack -l 1 -o n1.zst b.tsv
t_eq "label by number: classes" "$(json class_count n1.zst)" "[1,1]"
t_exit 3 "^tp-data: a.tsv: line 1: field 2: 'w' is not a finite number$" \
	"--no-header on a header line" tp-data pack -l 1 --no-header a.tsv
printf '1;2;0\n3;4;1\n' >semi.csv
t_eq "semicolons" "$(tp-data pack semi.csv | tp-data info --json | sed 's/.*"count":\([0-9]*\).*/\1/')" 2
printf '1 2   0\n 3\t4 1\n' >blank.txt
t_eq "blanks" "$(tp-data pack -d space blank.txt | tp-data info --json | sed 's/.*"features":\([0-9]*\).*/\1/')" 2
printf '1,2,0.5\n3,4,1.5\n' >reg.csv
t_ok "regression" tp-data pack -r -o reg.zst reg.csv
t_eq "regression: classes 0" "$(json classes reg.zst)" 0
t_eq "regression: mean target" "$(json y_mean reg.zst)" 1
printf 'a,wt,b,y\n1,0.5,2,0\n3,2,4,1\n' >weighted.csv
t_ok "weight column" tp-data pack -w wt -o wt.zst weighted.csv
t_eq "weights: sum and count" "$(json weight_sum wt.zst) $(json weighted wt.zst) $(json features wt.zst)" "2.5 2 2"
printf '1,-1,2,0\n' >negw.csv
t_exit 3 '^tp-data: negw.csv: line 1: weight -1 is negative$' "negative weight" \
	tp-data pack -w 2 negw.csv
t_exit 3 '^tp-data: negw.csv: --weight: column 4 is the label$' "weight is the label" \
	tp-data pack -w 4 negw.csv
t_usage '^tp-data: --weight: only for CSV input$' "weight with IDX" \
	tp-data pack -w 1 --format idx a b
printf '"1",2,0\n"3,5",4,1\n' >quoted.csv
t_exit 3 '^tp-data: quoted.csv: line 2: field 1: .3,5. is not a finite number$' \
	"quoted delimiter stays in the field" tp-data pack quoted.csv
printf '1,2,0\n3,4,1\n' | gzip >plain.csv.gz
t_eq "gzip CSV from stdin" "$(tp-data pack <plain.csv.gz | tp-data info --json | sed 's/.*"count":\([0-9]*\).*/\1/')" 2

# ---- CSV errors ----
zcat "$digits" | sed '17s/,[0-9]*$//' >bad17.csv
t_exit 3 '^tp-data: bad17.csv: line 17: expected 65 fields, found 64$' \
	"wrong field count names file and line" tp-data pack bad17.csv
printf '1,2,0\n3,x,1\n' >nonnum.csv
t_exit 3 "^tp-data: nonnum.csv: line 2: field 2: 'x' is not a finite number$" \
	"non-numeric field" tp-data pack nonnum.csv
printf '1,2,0\n3,nan,1\n' >nan.csv
t_exit 3 "line 2: field 2: 'nan' is not a finite number$" "NaN refused" tp-data pack nan.csv
printf '1,2,0\n3,4,7\n' >range.csv
t_exit 3 '^tp-data: range.csv: line 2: label 7 out of range \[0, 5\)$' \
	"label out of range of --classes" tp-data pack -k 5 range.csv
printf '1,2,0\n3,4,-1\n' >neg.csv
t_exit 3 'line 2: label -1 out of range' "negative label" tp-data pack neg.csv
printf '1,2,0\n3,4,1.5\n' >frac.csv
t_exit 3 "line 2: label '1.5' is not a class index \(use --regression" \
	"fractional label" tp-data pack frac.csv
printf '1,2,a\n3,4,b\n5,6,c\n' >three.csv
t_exit 3 '3 distinct label names, more than --classes 2' "too many names" \
	tp-data pack -k 2 three.csv
printf '1,"2,0\n' >unterm.csv
t_exit 3 '^tp-data: unterm.csv: line 1: unterminated quoted field$' \
	"unterminated quote" tp-data pack unterm.csv
printf '\n\n' >empty.csv
t_exit 3 '^tp-data: empty.csv: no examples$' "no examples" tp-data pack empty.csv
t_exit 3 "^tp-data: named.csv: --label: no column named 'size'$" \
	"unknown label column" tp-data pack -l size named.csv
t_exit 3 '^tp-data: named.csv: --label: column 4 is not in \[1, 3\]$' \
	"label column out of range" tp-data pack -l 4 named.csv
t_exit 3 '^tp-data: nosuch.csv: No such file or directory$' \
	"missing file" tp-data pack nosuch.csv
printf '1\n2\n' >onecol.csv
t_exit 3 'line 1: found 1 field, need at least 2' "one column" tp-data pack onecol.csv

# ---- IDX ----
# 3 images of 2x2 u8, labels 0 1 2.
printf '\000\000\010\003\000\000\000\003\000\000\000\002\000\000\000\002' >img.idx
printf '\000\001\002\003\004\005\006\007\010\011\012\377' >>img.idx
printf '\000\000\010\001\000\000\000\003\000\001\002' >lab.idx
t_ok "IDX pair" tp-data pack -o idx.zst img.idx lab.idx
t_eq "IDX: features" "$(json features idx.zst)" 4
t_eq "IDX: classes" "$(json class_count idx.zst)" "[1,1,1]"
t_eq "IDX: pixel range" "$(json x_max idx.zst)" 255
gzip -c img.idx >img.idx.gz
t_ok "IDX gzip" tp-data pack --format idx -o idxgz.zst img.idx.gz lab.idx
t_cmp "IDX gzip gives the same dataset" idx.zst idxgz.zst
t_exit 3 '^tp-data: named.csv: not an IDX file \(bad magic 772c682c\)$' \
	"IDX: wrong magic" tp-data pack named.csv lab.idx
head -c 20 img.idx >short.idx
t_exit 3 '^tp-data: short.idx: IDX: header promises 12 bytes of data, found 4 \(truncated\)$' \
	"IDX: truncated" tp-data pack short.idx lab.idx
printf '\000\000\010\001\000\000\000\002\000\001' >lab2.idx
t_exit 3 '^tp-data: lab2.idx: 2 labels for 3 images in img.idx$' \
	"IDX: count mismatch" tp-data pack img.idx lab2.idx
t_exit 3 '^tp-data: lab.idx: item 2: label 2 out of range \[0, 2\)$' \
	"IDX: label out of range" tp-data pack -k 2 img.idx lab.idx

# i16 images (big-endian 0x0102 = 258 and 0xffff = -1), 1 item of 1x2.
printf '\000\000\013\002\000\000\000\001\000\000\000\002\001\002\377\377' >i16.idx
printf '\000\000\010\001\000\000\000\001\000' >lab1.idx
t_eq "IDX: signed 16-bit" "$(tp-data pack i16.idx lab1.idx | tp-data info --json |
	sed 's/.*"x_min":\([^,]*\),"x_max":\([^,]*\),.*/\1 \2/')" "-1 258"
# Debian's dataset-fashion-mnist, when installed (not a build dependency).
fm=/usr/share/datasets/fashion-mnist
if [ -r $fm/t10k-images-idx3-ubyte.gz ]; then
	t_ok "Fashion-MNIST test set" tp-data pack -o fm.zst \
		$fm/t10k-images-idx3-ubyte.gz $fm/t10k-labels-idx1-ubyte.gz
	t_eq "Fashion-MNIST: 10000 x 784, 1000 per class" \
		"$(json count fm.zst) $(json features fm.zst) $(json class_count fm.zst)" \
		"10000 784 [1000,1000,1000,1000,1000,1000,1000,1000,1000,1000]"
fi

# ---- scaling ----
t_ok "minmax" tp-data pack --scale minmax -o mm.zst "$digits"
t_eq "minmax: x in [0, 1]" "$(json x_min mm.zst) $(json x_max mm.zst)" "0 1"
t_eq "minmax recorded" "$(json scaling mm.zst)" '"minmax"'
t_ok "standardize" tp-data pack --scale standardize -o st.zst "$digits"
t_eq "standardize recorded" "$(json scaling st.zst)" '"standardize"'
t_ok "scale-from" tp-data pack --scale-from mm.zst -o mm2.zst "$digits"
t_cmp "scale-from the same data gives the same bytes" mm.zst mm2.zst
t_exit 3 '^tp-data: d.zst: --scale-from: the dataset records no scaling$' \
	"scale-from unscaled" tp-data pack --scale-from d.zst "$digits"
t_exit 3 '^tp-data: idx.zst: --scale-from: 4 features, this data has 64$' \
	"scale-from other width" tp-data pack --scale-from idx.zst "$digits"
t_usage "^tp-data: --scale: 'log' is not minmax or standardize$" \
	"bad --scale" tp-data pack --scale log "$digits"

# ---- split ----
t_ok "split 0.6,0.2,0.2" tp-data split -f 0.6,0.2,0.2 -s 1 -o s d.zst
t_eq "split: counts add up" \
	"$(( $(json count s-train.zst) + $(json count s-valid.zst) + $(json count s-test.zst) ))" 1797
# Every class within one example of its share in every part.
for part in train:0.6 valid:0.2 test:0.2; do
	f=${part#*:} p=${part%:*}
	t_true "split: $p is stratified" awk -v got="$(json class_count "s-$p.zst")" \
		-v all="$(json class_count d.zst)" -v f="$f" 'BEGIN {
		gsub(/[][]/, "", got); gsub(/[][]/, "", all)
		n = split(got, g, ","); split(all, a, ",")
		for (i = 1; i <= n; i++) { d = g[i] - f * a[i]; if (d <= -1 || d >= 1) exit 1 }
		exit n == 10 ? 0 : 1 }'
done
t_ok "split again, same seed" tp-data split -f 0.6,0.2,0.2 -s 1 -o t d.zst
t_cmp "split: same seed, same bytes" s-train.zst t-train.zst
t_ok "split, other seed" tp-data split -f 0.6,0.2,0.2 -s 2 -o u d.zst
t_true "split: other seed, other bytes" sh -c '! cmp -s s-train.zst u-train.zst'
t_eq "split parts are disjoint" "$(tp-data shard -n 1 -o all s-train.zst s-valid.zst s-test.zst &&
	json class_count all-00000-of-00001.zst)" "$(json class_count d.zst)"
t_ok "split into named files" tp-data split -f 0.75,0.25 -o a.zst -o b.zst d.zst
t_eq "named files" "$(json count a.zst) $(json count b.zst)" "1348 449"
t_ok "split --names" tp-data split -f 0.5,0.5 --names x,y -o n d.zst
t_true "split --names files exist" test -s n-x.zst -a -s n-y.zst
t_usage '^tp-data: --fractions: they sum to 0.9, not 1$' "fractions sum" \
	tp-data split -f 0.6,0.3 -o z d.zst
t_usage "^tp-data: --fractions: 'abc' is not a number in \[0, 1\]$" \
	"fraction not a number" tp-data split -f 0.5,abc -o z d.zst
t_usage '^tp-data: --fractions: need at least two parts$' "one fraction" \
	tp-data split -f 1 -o z d.zst
t_usage '^tp-data: --fractions: 0 is not in \(0, 1\)$' "zero fraction" \
	tp-data split -f 0,1 -o z d.zst
t_usage '^tp-data: split: give -o once \(a prefix\) or once per part \(3\)$' \
	"wrong -o count" tp-data split -f 0.6,0.2,0.2 -o a -o b d.zst
t_usage '^tp-data: split: --fractions is required$' "no fractions" \
	tp-data split -o z d.zst
t_true "failed split leaves no file" test ! -e z-train.zst

# ---- sample ----
t_ok "stratified sample" tp-data sample -n 100 -S -s 3 -o smp.zst d.zst
t_eq "sample: count" "$(json count smp.zst)" 100
t_eq "sample: class shares" "$(json class_count smp.zst)" "[10,10,10,10,10,10,10,10,10,10]"
t_eq "sample by fraction" "$(tp-data sample -f 0.1 d.zst | tp-data info --json | sed 's/.*"count":\([0-9]*\).*/\1/')" 180
t_ok "sample again" tp-data sample -n 100 -S -s 3 -o smp2.zst d.zst
t_cmp "sample: same seed, same bytes" smp.zst smp2.zst
t_exit 3 '^tp-data: cannot sample 5000 examples from 1797$' "sample too many" \
	tp-data sample -n 5000 d.zst
t_usage '^tp-data: sample: give one of -n COUNT and -f FRACTION$' \
	"sample needs one size" tp-data sample -n 5 -f 0.5 d.zst

# ---- shard ----
t_ok "shard 4" tp-data shard -n 4 -o sh d.zst
t_eq "shards read as one" "$(json class_count sh-0000[0-3]-of-00004.zst)" "$(json class_count d.zst)"
t_eq "shard sizes" "$(json count sh-00000-of-00004.zst) $(json count sh-00003-of-00004.zst)" "449 450"
tp-data shard -n 1 -o back sh-0000[0-3]-of-00004.zst
t_cmp "shards concatenated give the dataset back" back-00000-of-00001.zst d.zst
t_usage '^tp-data: shard: -n COUNT \(>= 1\) and -o PREFIX are required$' \
	"shard without -n" tp-data shard -o x d.zst
t_exit 3 '^tp-data: idx.zst: not a shard of the same dataset' \
	"shards of different data" tp-data shard -n 1 -o mix d.zst idx.zst

# ---- synth ----
for k in blobs spirals mnist linear; do
	t_ok "synth $k" tp-data synth --kind $k -n 50 -s 4 -o "syn-$k.zst"
	tp-data synth --kind $k -n 50 -s 4 -o "syn2-$k.zst"
	t_cmp "synth $k is seeded" "syn-$k.zst" "syn2-$k.zst"
done
t_eq "synth mnist size" "$(json features syn-mnist.zst) $(json classes syn-mnist.zst)" "784 10"
t_eq "synth linear is regression" "$(json classes syn-linear.zst)" 0
t_eq "synth --features --classes" \
	"$(tp-data synth -n 7 --features 5 -k 4 | tp-data info --json | sed 's/.*"count":\([0-9]*\),"features":\([0-9]*\),"classes":\([0-9]*\).*/\1 \2 \3/')" "7 5 4"
t_usage "^tp-data: --kind: 'moons' is not blobs, spirals, mnist or linear$" \
	"synth bad kind" tp-data synth --kind moons
t_exit 3 '^tp-data: synth spirals: --features must be 2, not 3$' \
	"spirals are 2-D" tp-data synth --kind spirals --features 3

# ---- reading bad datasets ----
n=$(wc -c <plain.ds)
head -c $((n - 100)) plain.ds >cut.ds
t_exit 3 '^tp-data: cut.ds: .*truncated' "truncated plain dataset" tp-data info cut.ds
head -c 50000 d.zst >cut.zst
t_exit 3 '^tp-data: cut.zst: .*truncated' "truncated zstd dataset" tp-data info cut.zst
: >empty.ds
t_exit 3 '^tp-data: empty.ds: empty: not a dataset$' "empty file" tp-data info empty.ds
t_exit 3 '^tp-data: named.csv: ' "CSV is not a dataset" tp-data info named.csv

# ---- flags ----
t_usage "^tp-data: pack: unknown option '--bogus'$" "unknown option" tp-data pack --bogus
t_usage "^tp-data: info: option --stratify does not apply$" \
	"option of another subcommand" tp-data info --stratify d.zst
t_usage "^tp-data: 'frob' is not a subcommand" "unknown subcommand" tp-data frob
t_usage '^tp-data: missing subcommand$' "no subcommand" tp-data
t_usage "^tp-data: --count: '-3' is not an integer" "negative count" tp-data sample -n -3 d.zst
t_usage "^tp-data: split: missing argument for option '-o'$" "missing argument" \
	tp-data split -f 0.5,0.5 -o
t_usage '^tp-data: pack: -o given 2 times; one output$' "two outputs" \
	tp-data pack -o a.zst -o b.zst "$digits"
t_ok "--help" tp-data --help
t_true "--help prints usage to stdout" grep -q '^usage: tp-data pack' t.out
t_ok "subcommand -h" tp-data split -h
t_eq "--version" "$(tp-data --version)" "tp-data (tp) $(sed -n 's/^VERSION *= *//p' "$TOP/config.mk")"

# The man page's SYNOPSIS names every subcommand.
man=$TOP/doc/tp-data.1
for sub in pack split sample shard info synth; do
	t_true "man page documents $sub" grep -q "^\.Cm $sub\$" "$man"
done
# (Every long option of --help is checked by t-docs.)
