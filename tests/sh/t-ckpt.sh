# t-ckpt: the tp-ckpt helper: create, verify, info, cat, export, and every
# error path; a write stopped by the file size limit (ulimit -f, SIGXFSZ
# ignored so write(2) fails with EFBIG) leaves the previous file intact.
. "$TP_TOP/tests/lib.sh"

t_usage() { # REGEX NAME CMD...: exit 2, the message (if any), the usage
	re=$1 name=$2; shift 2
	"$@" >t.out 2>t.err; rc=$?
	if [ "$rc" != 2 ]; then
		not_ok "$name (exit $rc, want 2)"; sed 's/^/#   /' t.err | head -n 5
	elif ! grep -Eq -- "$re" t.err; then
		not_ok "$name (stderr does not match /$re/)"; sed 's/^/#   /' t.err | head -n 5
	elif ! grep -q '^usage: tp-ckpt ' t.err; then
		not_ok "$name (no usage)"; sed 's/^/#   /' t.err | head -n 5
	else ok "$name"; fi
}

head -c 40000 /dev/urandom >params.f32
head -c 80000 /dev/zero >optim.f32
printf '{"kind":"full","step":300,"optimizer":"adam","optim_steps":300,"rng":{"dropout":[1,2,3,4]},"loader":{"$base64":"AAAA"},"metrics_offset":99,"config":{"params":{"lr":0.1}}}\n' |
	tp-cat -j -m >man.tpr

t_ok "create (zstd)" tp-ckpt create -m man.tpr -o full.tpc params.f32=params.f32 optim.f32=optim.f32
t_ok "create (plain)" tp-ckpt create -L 0 -m man.tpr -o plain.tpc params.f32=params.f32 optim.f32=optim.f32
t_ok "create (level 19)" tp-ckpt create --level 19 --manifest man.tpr --output l19.tpc params.f32=params.f32
t_ok "verify" tp-ckpt verify full.tpc plain.tpc l19.tpc
t_eq "verify -v" "$(tp-ckpt verify -v full.tpc plain.tpc)" "full.tpc: ok
plain.tpc: ok"
t_ok "zstd is smaller" test "$(wc -c <full.tpc)" -lt "$(wc -c <plain.tpc)"
t_ok "plain tar is readable by tar(1)" sh -c 'tar -tf plain.tpc | tr "\n" " " | grep -qx "manifest.msgpack params.f32 optim.f32 manifest.sha256 "'
t_ok "the trailer is sha256sum of the manifest" sh -c \
	'[ "$(tar -xOf plain.tpc manifest.msgpack | sha256sum | cut -c1-64)" = "$(tar -xOf plain.tpc manifest.sha256)" ]'
tp-ckpt cat full.tpc params.f32 >p.out
t_cmp "cat a member" p.out params.f32
tp-ckpt create -m man.tpr -o again.tpc params.f32=params.f32 optim.f32=optim.f32
t_cmp "same state, same bytes" full.tpc again.tpc
tp-ckpt info -j full.tpc >info.json
t_ok "info -j: the caller's keys" grep -q '"kind":"full","step":300,"optimizer":"adam"' info.json
t_ok "info -j: format and members" grep -q '"format":"tp-checkpoint","format_version":1,"members":\[{"name":"params.f32","bytes":40000,"sha256":"'"$(sha256sum <params.f32 | cut -c1-64)"'"}' info.json
tp-ckpt info full.tpc | tp-cat >info2.json
t_cmp "info: msgpack, the same record" info.json info2.json
t_ok "create from stdin" sh -c 'tp-ckpt create -o stdin.tpc params.f32=- <params.f32 && tp-ckpt cat stdin.tpc params.f32 | cmp -s - params.f32'
t_ok "create without a manifest or members" sh -c 'tp-ckpt create -o empty.tpc && tp-ckpt verify empty.tpc'

# export: the model artifact
t_ok "export" tp-ckpt export -o model.tpc full.tpc
tp-ckpt info -j model.tpc >model.json
t_ok "export: kind model" grep -q '"kind":"model"' model.json
t_ok "export: no training state" sh -c '! grep -Eq "optimizer|optim_steps|\"rng\"|loader|metrics_offset|optim.f32" model.json'
t_ok "export: config and params kept" sh -c 'grep -q "\"config\":{\"params\":{\"lr\":0.1}}" model.json && tp-ckpt cat model.tpc params.f32 | cmp -s - params.f32'
t_ok "export -L 0 is plain tar" sh -c 'tp-ckpt export -L 0 -o model0.tpc full.tpc && tar -tf model0.tpc >/dev/null'

# damage
cp plain.tpc flip.tpc
printf 'X' | dd of=flip.tpc bs=1 seek=2000 conv=notrunc 2>/dev/null
t_exit 3 "^tp-ckpt: flip.tpc: checksum mismatch in params.f32\$" "flipped byte" tp-ckpt verify flip.tpc
head -c 30000 full.tpc >cut.tpc
t_exit 3 "^tp-ckpt: cut.tpc: truncated archive\$" "truncated zstd" tp-ckpt verify cut.tpc
head -c 50000 plain.tpc >cut0.tpc
t_exit 3 "^tp-ckpt: cut0.tpc: truncated archive\$" "truncated plain" tp-ckpt info cut0.tpc
echo hello >text.tpc
t_exit 3 "^tp-ckpt: text.tpc: not a tp checkpoint\$" "not a checkpoint" tp-ckpt verify text.tpc
: >empty0.tpc
t_exit 3 "^tp-ckpt: empty0.tpc: not a tp checkpoint \(empty file\)\$" "empty file" tp-ckpt cat empty0.tpc params.f32
t_exit 3 "^tp-ckpt: nosuch.tpc: No such file or directory\$" "missing file" tp-ckpt verify nosuch.tpc
tp-ckpt verify full.tpc text.tpc flip.tpc >t.out 2>t.err; rc=$?
t_eq "verify: exit 3 when one is bad" "$rc" 3
t_eq "verify: one line per bad file" "$(wc -l <t.err)" 2
t_eq "verify -q: nothing printed" "$(tp-ckpt verify -q text.tpc 2>&1; echo $?)" 3
t_exit 3 "^tp-ckpt: full.tpc: no member nope\$" "cat: no such member" tp-ckpt cat full.tpc nope
t_exit 3 "^tp-ckpt: text.tpc: not a tp checkpoint\$" "export of a bad file" tp-ckpt export -o m2.tpc text.tpc
t_ok "export of a bad file writes nothing" test ! -e m2.tpc
t_exit 3 "^tp-ckpt: x.tpc: bad member name \"a/b\"\$" "create: member with a slash" tp-ckpt create -o x.tpc a/b=params.f32
t_exit 3 "^tp-ckpt: x.tpc: duplicate member p\$" "create: duplicate member" tp-ckpt create -o x.tpc p=params.f32 p=optim.f32
t_exit 3 "^tp-ckpt: nosuch: No such file" "create: missing member file" tp-ckpt create -o x.tpc p=nosuch
t_exit 3 "^tp-ckpt: nosuch.tpr: " "create: missing manifest" tp-ckpt create -m nosuch.tpr -o x.tpc
t_exit 3 "^tp-ckpt: nodir/.x.tpc.tmp" "create: missing directory" tp-ckpt create -o nodir/x.tpc
t_ok "nothing left behind by failed creates" sh -c '! ls -a | grep -q "tmp\|^x.tpc"'

# the file size limit: EFBIG, the previous checkpoint untouched
cp full.tpc keep.tpc
cp keep.tpc keep.orig
( trap '' XFSZ; ulimit -f 20; exec tp-ckpt create -L 0 -o keep.tpc params.f32=params.f32 optim.f32=optim.f32 ) >xfsz.out 2>xfsz.err
rc=$?
t_eq "file size limit: exit 3" "$rc" 3
t_ok "file size limit: one line naming the file and EFBIG" sh -c \
	'[ "$(wc -l <xfsz.err)" = 1 ] && grep -q "^tp-ckpt: keep.tpc: cannot write checkpoint: File too large\$" xfsz.err'
t_cmp "file size limit: previous checkpoint untouched" keep.tpc keep.orig
t_ok "file size limit: previous still verifies" tp-ckpt verify keep.tpc
t_ok "file size limit: no temporary file left" sh -c '! ls -a | grep -q "^\.keep\.tpc\.tmp"'

# usage
t_usage "unknown command 'frob'" "unknown command" tp-ckpt frob x
t_usage "" "no command" tp-ckpt
t_usage "" "verify without files" tp-ckpt verify
t_usage "" "info with two files" tp-ckpt info a b
t_usage "" "export without -o" tp-ckpt export full.tpc
t_usage "" "create without -o" tp-ckpt create p=params.f32
t_usage "member 'p' is not NAME=PATH" "create: bad member operand" tp-ckpt create -o x.tpc p
t_usage "info: option not valid" "option for another command" tp-ckpt info -o x full.tpc
t_usage "^tp-ckpt: --level: '23'" "level out of range" tp-ckpt create -L 23 -o x.tpc
t_ok "--help" tp-ckpt --help
cp t.out help.out
t_ok "--help shows the usage" grep -q '^usage: tp-ckpt verify' help.out
t_ok "--version" sh -c 'tp-ckpt --version | grep -q "^tp-ckpt (tp) "'
