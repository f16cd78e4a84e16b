# t-cat: every tp-cat option, pass-through byte for byte, compressed and
# concatenated input, a live follower, and every error path with its exit
# code and one-line message.
. "$TP_TOP/tests/lib.sh"

# t_usage REGEX NAME CMD...: exit 2, the first stderr line matches REGEX
# and the short usage follows (usage errors print it, by the suite's rule).
t_usage() {
	re=$1 name=$2; shift 2
	"$@" >t.out 2>t.err; rc=$?
	if [ "$rc" != 2 ]; then not_ok "$name (exit $rc, want 2)"
	elif ! head -n 1 t.err | grep -Eq -- "$re"; then
		not_ok "$name (first line does not match /$re/)"; sed 's/^/#   /' t.err | head -n 3
	elif ! grep -q '^usage: tp-cat' t.err; then not_ok "$name (no usage)"
	else ok "$name"; fi
}

cat >in.jsonl <<'EOF'
{"type":"config","study":"s1","trial":3,"params":{"lr":0.1}}
{"type":"train","step":100,"loss":0.5,"time":{"forward":0.25,"data":0.001}}
{"type":"eval","step":100,"split":"valid","error":0.125,"note":"tab\there"}
{"type":"train","step":200,"loss":0.25,"time":{"forward":0.125,"data":0.002}}
{"type":"eval","step":200,"split":"test","error":0.1}
{"x":{"$base64":"AACAPwAAAMA="},"y":1}
EOF

t_ok "JSON Lines to msgpack" tp-cat -j -m -o in.mp in.jsonl
t_ok "msgpack to JSON Lines" sh -c 'tp-cat in.mp > back.jsonl'
t_cmp "JSON -> msgpack -> JSON is the identity" in.jsonl back.jsonl
t_ok "pass-through" sh -c 'tp-cat -m in.mp > pass.mp'
t_cmp "-m without projection copies byte for byte" in.mp pass.mp
t_ok "stdin by default" sh -c 'tp-cat < in.mp > stdin.jsonl'
t_cmp "no operand reads stdin" in.jsonl stdin.jsonl
t_ok "- is stdin" sh -c 'tp-cat - < in.mp > dash.jsonl'
t_cmp "- reads stdin" in.jsonl dash.jsonl
t_ok "-j from stdin" sh -c 'tp-cat -j -m < in.jsonl > stdin.mp'
t_cmp "-j reads stdin" in.mp stdin.mp
t_ok "two files" sh -c 'tp-cat in.mp in.mp > two.jsonl'
t_eq "several files are concatenated" "$(cat in.jsonl in.jsonl)" "$(cat two.jsonl)"

# Compressed input: zstd (several frames), gzip, and a .zst written by us.
zstd -q -c in.mp >a.zst
cat a.zst a.zst >aa.zst
t_eq "zstd input" "$(tp-cat a.zst)" "$(cat in.jsonl)"
t_eq "concatenated zstd frames are all read" "$(tp-cat aa.zst)" "$(cat in.jsonl in.jsonl)"
gzip -c in.mp >a.gz
t_eq "gzip input" "$(tp-cat a.gz)" "$(cat in.jsonl)"
t_ok "-z" sh -c 'tp-cat -z -m in.mp > z.zst'
t_eq "-z writes zstd" "$(zstd -dc z.zst | od -An -tx1)" "$(od -An -tx1 in.mp)"
t_ok "-o FILE.zst" tp-cat -m -o out.zst in.mp
t_eq "-o .zst compresses" "$(zstd -dc out.zst | od -An -tx1)" "$(od -An -tx1 in.mp)"
t_ok "-o FILE plain" tp-cat -o out.jsonl in.mp
t_cmp "-o writes the file" in.jsonl out.jsonl
t_ok "-L 19 -z" sh -c 'tp-cat -L 19 -z in.mp > l19.zst'
t_eq "--level output decodes" "$(zstd -dc l19.zst)" "$(cat in.jsonl)"
t_ok "-z on JSON output" sh -c 'tp-cat --zstd in.mp | zstd -dc > zj.jsonl'
t_cmp "JSON output compressed" in.jsonl zj.jsonl

# Filters.
t_eq "-t" "$(tp-cat -t eval in.mp | wc -l)" 2
t_eq "-t repeated is OR" "$(tp-cat -t eval --type config in.mp | wc -l)" 3
t_eq "-t example is a record without type" "$(tp-cat -t example in.mp)" \
	'{"x":{"$base64":"AACAPwAAAMA="},"y":1}'
t_eq "-w string" "$(tp-cat -w split=valid -k step in.mp)" "$(printf 'step\n100')"
t_eq "-w number" "$(tp-cat -w step=200 -c in.mp)" 2
t_eq "-w number written differently" "$(tp-cat -w step=2e2 -c in.mp)" 2
t_eq "-w float" "$(tp-cat -w loss=0.25 -c in.mp)" 1
t_eq "-w repeated is AND" "$(tp-cat -w step=200 --where type=eval -c in.mp)" 1
t_eq "-w nested key" "$(tp-cat -w time.forward=0.125 -k step -H in.mp)" 200
t_eq "-w on a missing key matches nothing" "$(tp-cat -w nope=1 -c in.mp)" 0
t_eq "-w VALUE may hold =" "$(tp-cat -w 'note=a=b' -c in.mp)" 0
t_eq "-c" "$(tp-cat --count in.mp)" 6
t_eq "-c of an empty stream" "$(tp-cat -c </dev/null)" 0
t_eq "-n" "$(tp-cat -n 2 in.mp in.mp | wc -l)" 2
t_eq "-n counts matching records" "$(tp-cat -t eval --limit 1 -k split -H in.mp)" valid
t_eq "-n 0" "$(tp-cat -n 0 in.mp | wc -c)" 0

# Projection.
t_eq "-k TSV with header" "$(tp-cat -t train -k step,loss,time.forward in.mp)" \
	"$(printf 'step\tloss\ttime.forward\n100\t0.5\t0.25\n200\t0.25\t0.125')"
t_eq "-H drops the header" "$(tp-cat -t train --keys step --no-header in.mp)" \
	"$(printf '100\n200')"
t_eq "-k missing key is empty, tabs escaped" "$(tp-cat -t eval -k note,nope -H in.mp)" \
	"$(printf '%s\t\n\t' 'tab\there')"
t_eq "-k -m projects into maps" "$(tp-cat -t train -k step,time.data -m in.mp | tp-cat)" \
	"$(printf '{"step":100,"time.data":0.001}\n{"step":200,"time.data":0.002}')"

# bin modes.
t_eq "--bin=floats" "$(tp-cat -t example --bin=floats in.mp)" '{"x":[1.0,-2.0],"y":1}'
t_eq "--bin=summary" "$(tp-cat -t example -b summary in.mp)" '{"x":"<bin 8 bytes>","y":1}'
t_eq "--bin=base64" "$(tp-cat -t example --bin base64 in.mp)" \
	'{"x":{"$base64":"AACAPwAAAMA="},"y":1}'

# A live follower: records show up while the writer still holds the pipe
# open, also through a zstd stream that is flushed per record.
mkfifo live.fifo livez.fifo
tp-cat -u <live.fifo >live.jsonl 2>/dev/null &
p1=$!
tp-cat -u -z -m <livez.fifo 2>/dev/null | tp-cat -u >livez.jsonl 2>/dev/null &
p2=$!
exec 3>live.fifo 4>livez.fifo
cat in.mp >&3
cat in.mp >&4
# wait_lines FILE N: up to 10 s for FILE to reach N lines.
wait_lines() {
	for _ in $(seq 50); do
		[ "$(wc -l <"$1")" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_lines live.jsonl 6
t_eq "-u: a follower sees records before the end" "$(wc -l <live.jsonl)" 6
wait_lines livez.jsonl 6
t_eq "-u -z: flushed zstd decodes before the frame ends" "$(wc -l <livez.jsonl)" 6
exec 3>&- 4>&-
wait $p1 $p2
t_cmp "the follower's output is complete" in.jsonl livez.jsonl

# Runtime errors: exit 3, one line, the file named.
t_exit 3 '^tp-cat: nope\.mp: No such file or directory$' "missing file" tp-cat nope.mp
head -c 20 in.mp >trunc.mp
t_exit 3 '^tp-cat: trunc\.mp: byte 0: truncated record$' "truncated record" tp-cat trunc.mp
n=$(tp-cat -t config -m in.mp | wc -c)
{ tp-cat -t config -m in.mp; printf '\x81\xa1a\xc1'; } >inval.mp
t_exit 3 "^tp-cat: inval\.mp: byte $n: invalid msgpack" "invalid msgpack, offset of the record" \
	tp-cat inval.mp
t_eq "records before the error are printed" "$(cat t.out)" "$(head -n 1 in.jsonl)"
printf '\x92\x01\x02' >arr.mp
t_exit 3 '^tp-cat: arr\.mp: byte 0: expected a map, found array$' "non-map" tp-cat arr.mp
printf '\x81\x01\x02' >key.mp
t_exit 3 '^tp-cat: key\.mp: byte 0: map key is not a string' "non-string key" tp-cat key.mp
t_exit 3 '^tp-cat: <stdin>: byte 0: expected a map, found array$' "stdin is named" \
	sh -c 'tp-cat < arr.mp'
head -c $(( $(wc -c <a.zst) - 5 )) a.zst >trunc.zst
t_exit 3 '^tp-cat: trunc\.zst: truncated zstd frame$' "truncated zstd" tp-cat trunc.zst
{ printf '\x28\xb5\x2f\xfd'; head -c 40 in.mp; } >bad.zst
t_exit 3 '^tp-cat: bad\.zst: zstd: ' "corrupt zstd" tp-cat bad.zst
head -c 20 a.gz >trunc.gz
t_exit 3 '^tp-cat: trunc\.gz: truncated gzip member$' "truncated gzip" tp-cat trunc.gz
printf '\357\273\277{"a":1}\n' >bom.jsonl
t_eq "-j skips a UTF-8 byte order mark" "$(tp-cat -j bom.jsonl)" '{"a":1}'
printf '{"a":1}\n{"a" 2}\n' >bad.jsonl
t_exit 3 '^tp-cat: bad\.jsonl: line 2: column 6: expected .:.$' "bad JSON line" \
	tp-cat -j bad.jsonl
t_exit 3 '^tp-cat: in\.mp: line 1: column 1: expected an object$' "-j on msgpack" \
	tp-cat -j in.mp
t_exit 3 '^tp-cat: .*nodir.*No such file or directory$' "unwritable -o" \
	tp-cat -o nodir/x.jsonl in.mp
t_true "-o after an input error leaves no file" test ! -e nodir/x.jsonl
t_exit 3 '^tp-cat: trunc\.mp: byte 0: truncated record$' "-o and bad input" \
	tp-cat -o never.jsonl in.mp trunc.mp
t_true "no partial -o file after bad input" test ! -e never.jsonl
if [ -w /dev/full ]; then
	t_exit 3 '^tp-cat: <stdout>: write error: No space left on device$' "full disk" \
		sh -c 'tp-cat in.mp > /dev/full'
fi

# Usage errors: exit 2 and the short usage.
t_usage 'unrecognized option|invalid option' "unknown option" tp-cat --bogus in.mp
t_usage "^tp-cat: --bin: 'hex' is not base64, summary or floats$" "bad --bin" tp-cat --bin=hex in.mp
t_usage "^tp-cat: --limit: '-1' is not an integer" "negative -n" tp-cat -n -1 in.mp
t_usage "^tp-cat: --limit: 'x' is not an integer" "non-numeric -n" tp-cat -n x in.mp
t_usage "^tp-cat: --level: '99' is not an integer in \[-7, 22\]$" "bad level" tp-cat -L 99 in.mp
t_usage "^tp-cat: --where: 'step' is not KEY=VALUE$" "-w without =" tp-cat -w step in.mp
t_usage "^tp-cat: --where: '=1' is not KEY=VALUE$" "-w without key" tp-cat -w =1 in.mp
t_usage "^tp-cat: -k: 'a,,b': empty key name$" "empty key in -k" tp-cat -k a,,b in.mp
t_usage "^tp-cat: -k: given twice" "-k twice" tp-cat -k a -k b in.mp
t_usage "^tp-cat: -c cannot be combined with -m or -k$" "-c with -m" tp-cat -c -m in.mp
t_usage "requires an argument" "missing argument" tp-cat -t

# Help, version, and the man page agreeing with --help.
t_ok "--help" tp-cat --help
t_true "--help prints the usage on stdout" grep -q '^usage: tp-cat' t.out
t_true "--help writes nothing on stderr" test ! -s t.err
t_ok "-h" tp-cat -h
t_eq "-V" "$(tp-cat -V)" "$(tp-cat --version)"
t_eq "--version" "$(tp-cat --version)" "tp-cat (tp) $(sed -n 's/^VERSION *= *//p' "$TOP/config.mk")"
man=$TOP/doc/tp-cat.1
sed 's/\\-/-/g' "$man" >man.txt
missing=""
for o in $(tp-cat --help | grep -oE -- '--[a-z-]+' | sort -u); do
	grep -q -- "^\.It Fl .*-${o#--}\b" man.txt || missing="$missing $o"
done
t_eq "every --help option is in tp-cat(1)" "$missing" ""
t_eq "the man page SYNOPSIS letters match the usage line" \
	"$(sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/p' "$man" | grep -oE '^\.Op Fl [a-zA-Z]+' | sed 's/.* //' | tr -d '\n' | fold -w1 | sort | tr -d '\n')" \
	"$(tp-cat --help | sed -n '1,2p' | grep -oE '\[-[a-zA-Z]+' | tr -d '[-' | fold -w1 | sort | tr -d '\n')"
if command -v mandoc >/dev/null; then
	t_ok "mandoc -Tlint tp-cat.1" mandoc -Tlint -Wwarning "$man"
	t_ok "mandoc -Tlint tp-records.5" mandoc -Tlint -Wwarning "$TOP/doc/tp-records.5"
fi
