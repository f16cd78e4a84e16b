# Shell test helpers; source it first.  Each check prints "ok - name" or
# "not ok - name" with the reason; tests/run counts them.
# The test runs in its own scratch directory (the current directory).
set -u
TOP=${TP_TOP:?run tests through tests/run or make check}
DATA=$TOP/share/data

ok()     { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }

# t_ok NAME CMD...: the command exits 0.
t_ok() {
	name=$1; shift
	if "$@" >t.out 2>t.err; then ok "$name"
	else not_ok "$name (exit $?)"; sed 's/^/#   /' t.err | head -n 10; fi
}

# t_exit CODE REGEX NAME CMD...: exits CODE and stderr is one line matching
# REGEX (grep -E).  The one-line rule is the suite's error-message promise.
t_exit() {
	code=$1 re=$2 name=$3; shift 3
	"$@" >t.out 2>t.err; rc=$?
	lines=$(wc -l <t.err)
	if [ "$rc" != "$code" ]; then
		not_ok "$name (exit $rc, want $code)"; sed 's/^/#   /' t.err | head -n 5
	elif ! grep -Eq -- "$re" t.err; then
		not_ok "$name (stderr does not match /$re/)"; sed 's/^/#   /' t.err | head -n 5
	elif [ "$lines" != 1 ]; then
		not_ok "$name (stderr has $lines lines, want 1)"; sed 's/^/#   /' t.err | head -n 5
	else ok "$name"; fi
}

# t_eq NAME GOT WANT
t_eq() {
	if [ "$2" = "$3" ]; then ok "$1"
	else not_ok "$1 (got '$2', want '$3')"; fi
}

# t_cmp NAME FILE1 FILE2: byte-identical files.
t_cmp() {
	if cmp -s "$2" "$3"; then ok "$1"; else not_ok "$1 ($2 and $3 differ)"; fi
}

# t_true NAME CMD...: like t_ok, output ignored, for predicates.
t_true() {
	name=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$name"; else not_ok "$name"; fi
}
