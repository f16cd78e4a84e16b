# t-docs: every tool has a man page that lints clean and documents every
# long option its --help lists; every tool answers --help and --version.
. "$TP_TOP/tests/lib.sh"

for c in "$TOP"/cmd/tp-*.c; do
	t=$(basename "$c" .c)
	page=$TOP/doc/$t.1
	if [ ! -f "$page" ]; then not_ok "$t has a man page"; continue; fi
	ok "$t has a man page"
	t_ok "$t --help exits 0" "$t" --help
	cp t.out help.txt
	t_true "$t --help writes to stdout" test -s help.txt
	t_ok "$t --version exits 0" "$t" --version
	t_true "$t --version names the suite" grep -q '(tp)' t.out
	sed 's/\\-/-/g' "$page" >page.txt # mdoc writes \- for a literal dash
	missing=""
	for o in $(grep -oE -- '--[a-z][a-z0-9-]+' help.txt | sort -u); do
		n=${o#--}; u=$(echo "$n" | tr - _)
		# As a flag (Fl -name or Fl \-name), or as a hyperparameter name.
		grep -qE -- "Fl \\\\?-$n([^a-z0-9-]|\$)|Cm $u([^a-z0-9_]|\$)" "$page" ||
			missing="$missing $o"
	done
	t_eq "$t(1) documents every option of --help" "$missing" ""
done
if command -v mandoc >/dev/null; then
	for p in "$TOP"/doc/*.[157]; do
		t_ok "mandoc -Tlint $(basename "$p")" mandoc -Tlint -Wwarning "$p"
	done
else
	not_ok "mandoc is installed (scripts/deps installs it)"
fi
