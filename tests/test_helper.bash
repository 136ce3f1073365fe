# SPDX-License-Identifier: GPL-2.0-only
# Shared setup for the same-cgroup-mark bats suites.
#
# Every test gets its own cgroup subtree (TCG, with children TCG/a, TCG/b),
# its own pin directory (PINDIR) and its own network namespace (NS, loopback
# up).  The loader attaches to TCG unless a test says otherwise, so nothing
# outside the test's own cgroups is affected.  teardown undoes everything,
# also after a failure.

SCM_TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
SCM_LOADER=$SCM_TOP/sbin/same-cgroup-mark-load
PROBE=$SCM_TOP/tests/scm-probe
BPFTOOL=${BPFTOOL:-bpftool}
export SAME_CGROUP_MARK_LIBDIR=$SCM_TOP/bpf
export BPFTOOL

DEFAULT_MASK=0x40000000

# host_mask: the OR of the masks of same-cgroup-mark programs the host itself
# has attached at the cgroup v2 root (after "sudo make load", say), 0 if none.
host_mask() {
	local id map m=0 v
	for id in $("$BPFTOOL" cgroup show "$CGROOT" 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ && $NF == "scm_connect4" { print $1 }'); do
		for map in $("$BPFTOOL" prog show id "$id" 2>/dev/null |
			sed -n 's/.*map_ids \([0-9,]*\).*/\1/p' | tr , ' '); do
			v=$("$BPFTOOL" map dump id "$map" 2>/dev/null |
				sed -n 's/.*"scm_mask": *\([0-9][0-9]*\).*/\1/p')
			[ -n "$v" ] && m=$((m | v))
		done
	done
	printf '0x%08x\n' "$m"
}

cgroup2_root() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") { if ($(i + 1) == "cgroup2") { print $5; exit } break } }' \
		/proc/self/mountinfo
}

# setup_suite finds it once for the whole suite.
CGROOT=${SCM_SUITE_CGROOT-$(cgroup2_root)}

# Such a host instance marks the tests' same-cgroup connections too.  The
# tests then load their programs with a bit of their own (TEST_MASK) and
# expect_mark ignores the host's bits, so the suite runs on a host where
# same-cgroup-mark is in use and still tells marked from unmarked.
HOST_MASK=${SCM_SUITE_HOST_MASK-$(host_mask)}
TEST_MASK=$DEFAULT_MASK
for bit in 0x40000000 0x00100000 0x00200000 0x00400000; do
	if [ $((HOST_MASK & bit)) -eq 0 ]; then
		TEST_MASK=$bit
		break
	fi
done
# The marks the test files expect: ours, and none.
# shellcheck disable=SC2034 # used by the test files
M=$TEST_MASK
# shellcheck disable=SC2034
Z=0x00000000

# The programs a load attaches here: the four cgroup programs, and the
# sock_ops program that marks local addresses other than loopback, which
# needs kernel BTF.
if [ -r /sys/kernel/btf/vmlinux ]; then
	SCM_PROGS=5
	SCM_ROUTE=1
else
	SCM_PROGS=4
	SCM_ROUTE=
fi

# need_route: skip a test of local addresses other than loopback where the
# sock_ops program cannot load.
need_route() {
	[ -n "$SCM_ROUTE" ] || skip "no kernel BTF: only loopback destinations are marked here"
}

# iterator_refused: why this kernel refuses the listener iterator (the
# first line of bpftool's output that names the cause, such as the
# verifier's "unknown func bpf_sk_storage_get#107" before 5.11), or nothing
# when it loads it.  Measured once per bats run by loading the object in a
# mount namespace with a bpffs of its own, so that no pin outlives it.
iterator_refused() {
	local f=$BATS_RUN_TMPDIR/iterator-refused
	if [ ! -e "$f" ]; then
		# shellcheck disable=SC2016 # expanded by the inner shell
		if unshare -m sh -c 'mount -t bpf bpf /sys/fs/bpf && "$0" prog loadall "$1" /sys/fs/bpf/probe' \
			"$BPFTOOL" "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark-iter.bpf.o" >"$f.log" 2>&1; then
			: >"$f"
		else
			{ grep -m 1 -E 'unknown func|invalid|not supported|Error' "$f.log" ||
				echo "bpftool prog loadall failed"; } >"$f"
		fi
	fi
	cat "$f"
}

# need_iterator: skip a test of listeners bound before loading where the
# kernel refuses the listener iterator, with the reason it gave.
need_iterator() {
	local why
	why=$(iterator_refused)
	[ -z "$why" ] || skip "the kernel refuses the listener iterator: $why"
}

# without_iterator_warnings: stdin without the lines a load adds where the
# kernel refuses the listener iterator; elsewhere, stdin unchanged.
without_iterator_warnings() {
	if [ -n "$(iterator_refused)" ]; then
		grep -v -e 'same-cgroup-mark-iter.bpf.o failed' \
			-e 'listeners bound before loading are not recognised' || :
	else
		cat
	fi
}

# The loader under test, always through dash.
loader() {
	dash "$SCM_LOADER" "$@"
}

# Load/unload/status for this test's pin directory and cgroup; the load uses
# TEST_MASK unless the test gives -m.
scm_load() {
	case " $* " in
	*" -m "*) loader -d "$PINDIR" -c "$TCG" "$@" ;;
	*) loader -d "$PINDIR" -c "$TCG" -m "$TEST_MASK" "$@" ;;
	esac
}

scm_unload() {
	loader -d "$PINDIR" -u "$@"
}

# shellcheck disable=SC2120 # tests pass options, helpers here do not
scm_status() {
	loader -d "$PINDIR" -s "$@"
}

common_setup() {
	[ "$(id -u)" = 0 ] || {
		echo "the same-cgroup-mark tests must run as root" >&2
		return 1
	}
	[ -n "$CGROOT" ] || {
		echo "no cgroup v2 mount found" >&2
		return 1
	}
	if [ ! -x "$PROBE" ] || [ ! -r "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark.bpf.o" ]; then
		echo "run 'make all tests/scm-probe' first (make check does)" >&2
		return 1
	fi
	TID=scmt$$n${BATS_SUITE_TEST_NUMBER}
	TCG=$CGROOT/$TID
	PINDIR=/sys/fs/bpf/$TID
	NS=$TID
	PIDS=
	EXTRA_NS=
	EXTRA_PINS=
	# A configuration file that does not exist, unless a test writes it.
	export SAME_CGROUP_MARK_CONF=$BATS_TEST_TMPDIR/same-cgroup-mark.conf
	# Lock and nftables definition of this test only, not the host's.
	export SAME_CGROUP_MARK_RUNDIR=$BATS_TEST_TMPDIR/run
	mkdir "$TCG" "$TCG/a" "$TCG/b"
	ip netns add "$NS"
	ip -n "$NS" link set lo up
}

# detach_all CGROUP: detach every program attached directly to CGROUP.
detach_all() {
	"$BPFTOOL" cgroup show "$1" 2>/dev/null |
		awk '$1 ~ /^[0-9]+$/ { print $1, $2 }' |
		while read -r id type; do
			"$BPFTOOL" cgroup detach "$1" "$type" id "$id" || true
		done
}

common_teardown() {
	local pid ns cg d
	for pid in $PIDS; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in $PIDS; do
		wait "$pid" 2>/dev/null || true
	done
	loader -d "$PINDIR" -u >/dev/null 2>&1 || true
	# Every cgroup of the test's subtree, deepest first (names may hold
	# blanks or line breaks: prometheus.bats makes such cgroups).
	local cgs=()
	[ ! -d "$TCG" ] || mapfile -d '' cgs < <(find "$TCG" -depth -type d -print0)
	for cg in "${cgs[@]}"; do
		detach_all "$cg"
	done
	for d in "$PINDIR" $EXTRA_PINS; do
		[ -e "$d" ] && rm -rf -- "$d"
	done
	for ns in "$NS" $EXTRA_NS; do
		ip netns del "$ns" 2>/dev/null || true
	done
	for cg in "${cgs[@]}"; do
		rmdir "$cg" 2>/dev/null
	done
	true
}

setup() {
	common_setup
}

teardown() {
	common_teardown
}

# in_cgroup CGROUP NETNS CMD...: run CMD in CGROUP, inside NETNS unless it
# is "-".  The cgroup is joined before "ip netns exec", whose private mount
# namespace hides the cgroup filesystem.  sh execs, so CMD keeps its PID.
in_cgroup() {
	local cg=$1 ns=$2
	shift 2
	[ "$ns" = - ] || set -- ip netns exec "$ns" "$@"
	exec sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# start_server CGROUP NETNS ADDR PORT [OPTIONS]: start a listener, wait until
# it listens, set PORT to its port and remember its PID for teardown.
start_server() {
	local cg=$1 ns=$2 addr=$3 port=$4 out
	shift 4
	out=$(mktemp "$BATS_TEST_TMPDIR/server.XXXXXX")
	# A background subshell would have its own PID: exec in it, so $! is
	# the listener itself.  Its output must not hold bats' fd 3 open.
	(in_cgroup "$cg" "$ns" "$PROBE" listen "$addr" "$port" "$@") >"$out" 2>&1 3>&- &
	PIDS="$PIDS $!"
	for _ in $(seq 1 100); do
		if [ -s "$out" ]; then
			PORT=$(head -n 1 "$out")
			case $PORT in
			'' | *[!0-9]*) echo "server failed: $(cat "$out")" >&2; return 1 ;;
			esac
			return 0
		fi
		kill -0 "$!" 2>/dev/null || break
		sleep 0.05
	done
	echo "server $addr:$port did not start: $(cat "$out")" >&2
	return 1
}

# mark_of CGROUP NETNS ADDR PORT [OPTIONS]: connect and print the client's
# SO_MARK after connect() (as 0x%08x); fails when the connect fails.
mark_of() {
	local cg=$1 ns=$2
	shift 2
	(in_cgroup "$cg" "$ns" "$PROBE" connect "$@") | sed -n 's/^mark=//p'
	return "${PIPESTATUS[0]}"
}

# squeeze TEXT: TEXT with runs of blanks made one space, none at the ends
# (a line of a table aligned with blanks).
squeeze() {
	awk '{ $1 = $1; print }' <<<"$1"
}

# same_mark GOT WANT: equal, but for the bits of a host instance (HOST_MASK).
same_mark() {
	[ $(($1 & ~HOST_MASK)) -eq $(($2 & ~HOST_MASK)) ]
}

# expect_mark EXPECTED CGROUP NETNS ADDR PORT [OPTIONS]
expect_mark() {
	local want=$1 got
	shift
	got=$(mark_of "$@") || {
		echo "connect $* failed" >&2
		return 1
	}
	if ! same_mark "$got" "$want"; then
		echo "connect $*: mark $got, expected $want (host instance bits $HOST_MASK ignored)" >&2
		return 1
	fi
}

# tally_mark EXPECTED CGROUP NETNS ADDR PORT [OPTIONS]: expect_mark, but a
# wrong mark or a failed connect adds one to $wrong (and its message to
# wrong-marks) instead of failing.
tally_mark() {
	expect_mark "$@" 2>>"$BATS_TEST_TMPDIR/wrong-marks" || wrong=$((wrong + 1))
}

# while_running N CMD...: run CMD N times in the background (each must
# succeed; its output is dropped) and call connect_round, which the test
# defines (with tally_mark), until CMD has run N times and at least 20
# rounds were made.  Sets rounds and wrong; fails when a CMD failed.
while_running() {
	local n=$1 fin=$BATS_TEST_TMPDIR/bg-done failed=$BATS_TEST_TMPDIR/bg-failed pid
	shift
	rm -f "$fin" "$failed" "$BATS_TEST_TMPDIR/wrong-marks"
	(for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 || echo "$* failed" >>"$failed"; done
	 touch "$fin") 3>&- &
	pid=$!
	rounds=0 wrong=0
	while [ ! -e "$fin" ] || [ "$rounds" -lt 20 ]; do
		connect_round
		rounds=$((rounds + 1))
	done
	wait "$pid"
	echo "rounds: $rounds, wrong marks: $wrong"
	[ ! -e "$BATS_TEST_TMPDIR/wrong-marks" ] || head -n 5 "$BATS_TEST_TMPDIR/wrong-marks"
	[ ! -e "$failed" ] || { cat "$failed"; return 1; }
}

# prog_ids_at CGROUP: the ids attached directly to CGROUP, sorted, one line.
prog_ids_at() {
	"$BPFTOOL" cgroup show "$1" 2>/dev/null | awk '$1 ~ /^[0-9]+$/ { print $1 }' | sort -n | xargs
}

# map_id PIN: the id of the map pinned at PIN (nothing if there is none).
map_id() {
	"$BPFTOOL" map show pinned "$1" 2>/dev/null | sed -n '1s/:.*//p'
}

# our_ids: the ids of the programs pinned in PINDIR's instance(s).
our_ids() {
	local p
	for p in "$PINDIR"/g*/scm_bind4 "$PINDIR"/g*/scm_bind6 \
		"$PINDIR"/g*/scm_connect4 "$PINDIR"/g*/scm_connect6 "$PINDIR"/g*/scm_sockops; do
		[ -e "$p" ] || continue
		"$BPFTOOL" prog show pinned "$p" | sed -n '1s/:.*//p'
	done | sort -n | xargs
}

# load_foreign DIR: load the allow-all programs of tests/foreign.bpf.c,
# pinned in DIR as foreign_bind4 ... foreign_connect6.
load_foreign() {
	EXTRA_PINS="$EXTRA_PINS $1"
	"$BPFTOOL" prog loadall "$SCM_TOP/tests/foreign.bpf.o" "$1"
}

# counter NAME: the value status prints for counter NAME.
counter() {
	scm_status | awk -v n="$1" 'index($0, "  " n " ") == 1 { print $NF }'
}

# failing_bpftool PATTERN N: print the path of a bpftool wrapper that fails
# (as bpftool does: "Error: ..." and exit 255) the Nth call (every call, for
# N "all") whose arguments match the shell pattern PATTERN, and runs the
# real bpftool otherwise.  In
# a batch read from standard input ("-j batch file -", as the loader runs
# its changes) each command is a call: the commands before the failing one
# run for real, and the wrapper then answers as bpftool does when a
# command fails (its JSON result with an error, exit 255).
failing_bpftool() {
	local w real
	# A fresh name for every wrapper: a reused name would count on from
	# an earlier wrapper's calls and fail the wrong one.
	w=$(mktemp "$BATS_TEST_TMPDIR/bpftool-fail-XXXXXX") || return 1
	real=$(command -v "$BPFTOOL")
	cat >"$w" <<WRAP
#!/bin/sh
pattern='$1'
# hit CALL: count CALL; succeed when it is the one to fail.
hit() {
	# shellcheck disable=SC2254 # the pattern is meant to match
	case "\$1" in
	\$pattern) ;;
	*) return 1 ;;
	esac
	n=\$(cat "$w.count" 2>/dev/null || echo 0)
	n=\$((n + 1))
	echo "\$n" >"$w.count"
	[ "$2" = all ] || [ "\$n" -eq $2 ]
}
if [ "\$*" = "-j batch file -" ]; then
	before=
	fail=
	while IFS= read -r line; do
		[ -n "\$line" ] || continue
		if hit "\$line"; then
			fail=\$line
			break
		fi
		before="\$before\$line
"
	done
	if [ -z "\$fail" ]; then
		printf '%s' "\$before" | "$real" "\$@"
		exit
	fi
	out='['
	if [ -n "\$before" ]; then
		out=\$(printf '%s' "\$before" | "$real" "\$@" 2>/dev/null)
		case \$out in
		*'"output":{"error"'*) printf '%s\n' "\$out"; exit 255 ;;
		esac
		out="\${out%]},"
	fi
	printf '%s{"command":[],"output":{"error":"injected failure of: %s"}}]\n' \\
		"\$out" "\$(printf '%s' "\$fail" | tr '"' "'")"
	exit 255
fi
if hit "\$*"; then
	echo "Error: injected failure of: \$*" >&2
	exit 255
fi
exec "$real" "\$@"
WRAP
	chmod 0755 "$w"
	printf '%s\n' "$w"
}

# snapshot: everything a failed command must leave as it was.
snapshot() {
	echo "attached: $(prog_ids_at "$TCG")"
	echo "ours: $(our_ids)"
	(cd /sys/fs/bpf && find "${PINDIR#/sys/fs/bpf/}" 2>/dev/null | sort)
	for p in "$PINDIR"/cgroup "$PINDIR"/g*/cgroup; do
		[ -L "$p" ] && echo "$p -> $(readlink "$p")"
	done
	true
}

# --- reliability checks (faults.bats, races.bats, crashes.bats) ---------

# counting_bpftool LOG [BPFTOOL]: print the path of a bpftool wrapper that
# appends the arguments of each call, one line per call, to LOG and then
# runs BPFTOOL (default: the real bpftool; give a failing_bpftool wrapper
# to see which call failed).  Each command of a batch read from standard
# input is a call of its own.
counting_bpftool() {
	local w=$1.bpftool real=${2:-$(command -v "$BPFTOOL")}
	cat >"$w" <<WRAP
#!/bin/sh
if [ "\$*" = "-j batch file -" ]; then
	cmds=\$(grep .)
	printf '%s\n' "\$cmds" >>'$1'
	printf '%s\n' "\$cmds" | '$real' "\$@"
	exit
fi
printf '%s\n' "\$*" >>'$1'
exec '$real' "\$@"
WRAP
	chmod 0755 "$w"
	printf '%s\n' "$w"
}

# exactly_one_instance MASK: PINDIR holds its cgroup link to TCG and one
# instance directory with the pins of one load, nothing more; its
# SCM_PROGS programs are attached to TCG, one per hook, each listed once,
# and nothing else is attached there; status says "loaded" with MASK, exit 0.
exactly_one_instance() {
	local want=$1 insts ids attached types rc=0 out
	# Names in PINDIR are ours: no blanks.
	# shellcheck disable=SC2011
	insts=$(ls -A "$PINDIR" 2>/dev/null | xargs)
	case $insts in
	"cgroup g" | "cgroup g"*[!0-9]*) insts= ;;
	"cgroup g"*) insts=${insts#cgroup } ;;
	*) insts= ;;
	esac
	if [ -z "$insts" ]; then
		# shellcheck disable=SC2011
		echo "in $PINDIR: '$(ls -A "$PINDIR" 2>/dev/null | xargs)', expected the cgroup link and one gN" >&2
		return 1
	fi
	# It holds BPF programs and maps only (which ones the loaded object
	# defines is its business: the object without kernel BTF reads has
	# maps its programs do not use).
	local stray
	stray=$(stray_pins "$PINDIR/$insts") || return 1
	if [ -n "$stray" ]; then
		echo "in $PINDIR/$insts, neither a program nor a map: $stray" >&2
		return 1
	fi
	if [ "$(readlink "$PINDIR/cgroup")" != "$TCG" ]; then
		echo "$PINDIR/cgroup -> $(readlink "$PINDIR/cgroup"), expected $TCG" >&2
		return 1
	fi
	ids=$(our_ids)
	attached=$(prog_ids_at "$TCG")
	if [ "$(echo "$ids" | wc -w)" -ne "$SCM_PROGS" ] || [ "$attached" != "$ids" ]; then
		echo "attached to $TCG: '$attached', pinned: '$ids'" >&2
		return 1
	fi
	types=$("$BPFTOOL" cgroup show "$TCG" | awk '$1 ~ /^[0-9]+$/ { print $2 }' | sort | xargs)
	# In sort order, as types is.
	local want_types="cgroup_inet4_bind cgroup_inet4_connect cgroup_inet6_bind cgroup_inet6_connect"
	[ -z "$SCM_ROUTE" ] || want_types="$want_types cgroup_sock_ops"
	if [ "$types" != "$want_types" ]; then
		echo "attach types at $TCG: '$types'" >&2
		return 1
	fi
	out=$(scm_status 2>&1) || rc=$?
	if [ "$rc" -ne 0 ] || [[ "$out" != "state:    loaded"$'\n'* ]] ||
		[[ "$out" != *$'\n'"mask:     $want"$'\n'* ]]; then
		echo "status (exit $rc), expected loaded with mask $want: $out" >&2
		return 1
	fi
}

# stray_pins DIR: the entries of DIR that are neither a program nor a map
# pinned there (bpftool -j -f).
stray_pins() {
	local progs=$BATS_TEST_TMPDIR/stray-progs.json maps=$BATS_TEST_TMPDIR/stray-maps.json
	"$BPFTOOL" -j -f prog show >"$progs" && "$BPFTOOL" -j -f map show >"$maps" || return 1
	python3 - "$1" "$progs" "$maps" <<'EOF'
import json, os, sys
d = sys.argv[1].rstrip("/")
progs, maps = (json.load(open(f)) for f in sys.argv[2:4])
def here(o):
    return [p for p in o.get("pinned", []) if os.path.dirname(p) == d]
ok = {p for o in progs + maps for p in here(o)}
print(" ".join(sorted(e for e in os.listdir(d) if os.path.join(d, e) not in ok)))
EOF
}

# nothing_loaded: no pin directory, nothing attached to TCG, status exit 3.
nothing_loaded() {
	local rc=0 out
	if [ -e "$PINDIR" ]; then
		echo "$PINDIR exists: $(ls -AR "$PINDIR")" >&2
		return 1
	fi
	if [ -n "$(prog_ids_at "$TCG")" ]; then
		echo "still attached to $TCG: $(prog_ids_at "$TCG")" >&2
		return 1
	fi
	out=$(scm_status 2>&1) || rc=$?
	if [ "$rc" -ne 3 ]; then
		echo "status exit $rc, expected 3: $out" >&2
		return 1
	fi
}

# rundir_clean [MASK]: the run directory holds the lock, the nftables
# definition and the loaded copies of the objects at most (no *.tmp, no
# leftovers of the helper); with MASK, the definition is MASK's.
rundir_clean() {
	local extra
	# shellcheck disable=SC2010 # the loader's own file names: no blanks
	extra=$(ls -A "$SAME_CGROUP_MARK_RUNDIR" 2>/dev/null | grep -v -x -e lock -e mask.nft -e scm.o -e scm-sockops.o | xargs)
	if [ -n "$extra" ]; then
		echo "left in $SAME_CGROUP_MARK_RUNDIR: $extra" >&2
		return 1
	fi
	if [ -n "${1:-}" ] && ! grep -qx "define SCM_MASK = $1" "$SAME_CGROUP_MARK_RUNDIR/mask.nft"; then
		echo "mask.nft: $(cat "$SAME_CGROUP_MARK_RUNDIR/mask.nft" 2>&1), expected $1" >&2
		return 1
	fi
}

# global_iter_pins: the pins a first load's listener iterator makes in the
# bpffs root for the time it runs (scm_owner, scm_binders, scm_ports,
# scm_devbound, same_cgroup_mark_iter_PID).
global_iter_pins() {
	# shellcheck disable=SC2010 # bpffs names have no blanks worth handling
	ls -A /sys/fs/bpf | grep -x -e scm_owner -e scm_binders -e scm_ports -e scm_devbound -e 'same_cgroup_mark_iter_[0-9]*' | xargs
}

# no_stray_pins: bpffs holds nothing of this test but PINDIR (and the pins
# of EXTRA_PINS), and no listener iterator pin that was not there when the
# test began (GLOBAL_PINS_BEFORE, set by the setup of the files that check).
no_stray_pins() {
	local stray p
	# One "-e NAME" per extra pin, split on purpose.
	# shellcheck disable=SC2010,SC2046
	stray=$(ls -A /sys/fs/bpf | grep -e "^$TID" |
		grep -v -x -e "$TID" $(for p in $EXTRA_PINS; do printf -- '-e %s ' "${p##*/}"; done) | xargs)
	for p in $(global_iter_pins); do
		case " ${GLOBAL_PINS_BEFORE:-} " in
		*" $p "*) ;;
		*) stray="$stray $p" ;;
		esac
	done
	if [ -n "$stray" ]; then
		echo "stray pins in /sys/fs/bpf: $stray" >&2
		return 1
	fi
}

# setup_remote: a second namespace, EXTRA_NS, plays a remote host: NS has
# 10.99.0.1 and fd99::1, EXTRA_NS 10.99.0.2 and fd99::2, over a veth pair.
setup_remote() {
	EXTRA_NS="${NS}r"
	ip netns add "$EXTRA_NS"
	ip -n "$EXTRA_NS" link set lo up
	ip -n "$NS" link add scm0 type veth peer name scm1 netns "$EXTRA_NS"
	ip -n "$NS" addr add 10.99.0.1/24 dev scm0
	ip -n "$NS" addr add fd99::1/64 dev scm0 nodad
	ip -n "$EXTRA_NS" addr add 10.99.0.2/24 dev scm1
	ip -n "$EXTRA_NS" addr add fd99::2/64 dev scm1 nodad
	ip -n "$NS" link set scm0 up
	ip -n "$EXTRA_NS" link set scm1 up
}

# --- nftables in the test's namespace ---------------------------------------

EX=$SCM_TOP/nft-examples
TABLE=same_cgroup_mark

# nft_ns ARGS...: nft in the test's network namespace.  The rulesets include
# the absolute path /run/same-cgroup-mark/mask.nft: this nft runs in a mount
# namespace of its own with a private /run whose same-cgroup-mark directory
# is this test's SAME_CGROUP_MARK_RUNDIR, so it reads the mask this test's
# loader wrote, from the ruleset file exactly as shipped.  The host's /run
# is not touched.
nft_ns() {
	# shellcheck disable=SC2016 # expanded by the inner sh
	ip netns exec "$NS" unshare --mount --propagation private sh -c '
		mount -t tmpfs scm-test-run /run &&
		mkdir /run/same-cgroup-mark &&
		mount --bind "$0" /run/same-cgroup-mark &&
		exec nft "$@"' "$SAME_CGROUP_MARK_RUNDIR" "$@"
}

# load_ruleset NAME: load nft-examples/NAME.nft into NS.
load_ruleset() {
	local out
	out=$(nft_ns -f "$EX/$1.nft" 2>&1) || {
		printf 'nft -f %s failed:\n%s\n' "$1.nft" "$out" >&2
		return 1
	}
}

# packets NAME: the packets of the named counter in NS.
packets() {
	ip netns exec "$NS" nft list counter inet "$TABLE" "$1" |
		sed -n 's/^[[:space:]]*packets \([0-9][0-9]*\) bytes .*/\1/p'
}

# expect_counters NAME=N...: the named counters in NS hold exactly these
# packet counts.
expect_counters() {
	local kv got bad=
	for kv in "$@"; do
		got=$(packets "${kv%%=*}")
		[ "$got" = "${kv#*=}" ] || bad="$bad ${kv%%=*}=$got (expected ${kv#*=})"
	done
	if [ -n "$bad" ]; then
		echo "counters:$bad" >&2
		ip netns exec "$NS" nft list counters table inet "$TABLE" >&2
		return 1
	fi
}
