# timing.sh: sourced by the bash benchmarks that time whole commands.
# Needs $work (a scratch directory).
#   run NAME CMD...  append "wall cpu" of one run (cpu = user + sys) to $work/NAME
#   best NAME K      the smallest value of column K (1 wall, 2 cpu) of $work/NAME
TIMEFORMAT='%R %U %S'
run() {
	name=$1; shift
	{ time "$@" >/dev/null; } 2>"$work/t"
	awk '{ print $1, $2 + $3 }' "$work/t" >>"$work/$name"
}
best() { sort -n -k"$2" "$work/$1" | head -n 1 | cut -d' ' -f"$2"; }
