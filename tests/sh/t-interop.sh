# t-interop: record streams are plain msgpack.  A stream written by tp-cat
# is read by Python's msgpack.Unpacker, one written by Python is read by
# tp-cat, and both encode the same records to the same bytes.
. "$TP_TOP/tests/lib.sh"

py=""
for p in python3 /usr/bin/python3; do
	if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import msgpack' 2>/dev/null; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	ok "skipped: no python3-msgpack"
	exit 0
fi

cat >in.jsonl <<'EOF'
{"type":"eval","step":300,"split":"valid","error":0.125,"ok":true,"none":null}
{"type":"train","step":-1,"big":18446744073709551615,"neg":-9223372036854775808,"time":{"forward":0.25},"a":[1,2.5,"s",[]]}
{"x":{"$base64":"AACAPwAAAMA="},"y":1,"s":"café 😀"}
EOF
t_ok "tp-cat writes msgpack" tp-cat -j -m -o tp.mp in.jsonl

cat >read.py <<'EOF'
import struct, sys, msgpack
for r in msgpack.Unpacker(open(sys.argv[1], "rb"), raw=False):
    if "x" in r:
        r["x"] = list(struct.unpack("<%df" % (len(r["x"]) // 4), r["x"]))
    print(sorted(r.items()))
EOF
t_ok "Python reads tp's stream" "$py" read.py tp.mp
cp t.out py-read.txt
t_eq "Python sees the values" "$(cat py-read.txt)" "$(cat <<'EOF'
[('error', 0.125), ('none', None), ('ok', True), ('split', 'valid'), ('step', 300), ('type', 'eval')]
[('a', [1, 2.5, 's', []]), ('big', 18446744073709551615), ('neg', -9223372036854775808), ('step', -1), ('time', {'forward': 0.25}), ('type', 'train')]
[('s', 'café 😀'), ('x', [1.0, -2.0]), ('y', 1)]
EOF
)"

cat >write.py <<'EOF'
import struct, sys, msgpack
recs = [
    {"type": "eval", "step": 300, "split": "valid", "error": 0.125, "ok": True, "none": None},
    {"type": "train", "step": -1, "big": 18446744073709551615, "neg": -9223372036854775808,
     "time": {"forward": 0.25}, "a": [1, 2.5, "s", []]},
    {"x": struct.pack("<2f", 1.0, -2.0), "y": 1, "s": "caf\u00e9 \U0001f600"},
]
out = open(sys.argv[1], "wb")
for r in recs:
    out.write(msgpack.packb(r, use_bin_type=True))
EOF
t_ok "Python writes msgpack" "$py" write.py py.mp
t_ok "tp-cat reads Python's stream" tp-cat py.mp
cp t.out tp-read.jsonl
t_cmp "tp-cat prints Python's records as the original JSON" in.jsonl tp-read.jsonl
t_cmp "tp and Python encode the same records to the same bytes" tp.mp py.mp
zstd -q -c py.mp >py.mp.zst
t_eq "Python's stream through zstd" "$(tp-cat py.mp.zst)" "$(cat in.jsonl)"

# "x" as an array of numbers, as other languages write it, is a record too.
cat >arr.py <<'EOF'
import sys, msgpack
sys.stdout.buffer.write(msgpack.packb({"x": [0.5, 1.5], "y": 0.25}))
EOF
t_eq "an example with x as an array" "$("$py" arr.py | tp-cat)" '{"x":[0.5,1.5],"y":0.25}'
