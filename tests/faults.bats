#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Faults (issue 6, item 1): every bpftool call of a first load, a reload and
# an unload is made to fail in turn.  After each one the host is either
# exactly as before the command or in the intended new state, never in
# between: no program left attached without its pins, no second instance,
# no stray pins, no temporary files.  What is judged is the outcome, not
# which call failed:
#   exit 1: the host as before (programs, pins, mask.nft, status, marking
#   with the old mask), and the error names the step that failed
#   ("loading", "attaching PIN ... TYPE", "detaching PIN ... TYPE", or what
#   could not be queried) and relays bpftool's error;
#   exit 0: the intended new state, any warning relaying bpftool's error;
#   or, announced ("only connections to loopback addresses are marked"),
#   the new state without the sock_ops program.  After a first load, a
#   listener bound before it is recognised, unless a warning says that
#   such listeners are not.

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
	# shellcheck disable=SC2034 # read by no_stray_pins
	GLOBAL_PINS_BEFORE=$(global_iter_pins)
}

OLD=0x00000010
NEW=0x00000020

# state: everything a failed command must leave as it was (snapshot, the
# published mask, status without its counters).
state() {
	local rc=0 out
	snapshot
	echo "mask.nft: $(cat "$SAME_CGROUP_MARK_RUNDIR/mask.nft" 2>&1)"
	out=$(scm_status 2>&1) || rc=$?
	printf '%s\n' "$out" | sed '/^counters:/,$d'
	echo "status exit $rc"
}

# detach_orphans: detach what is attached to TCG but pinned by none of
# PINDIR's instances (what a faulty run left behind), so that the next
# iteration starts clean; print what was detached.
detach_orphans() {
	local ours id type
	ours=" $(our_ids) "
	"$BPFTOOL" cgroup show "$TCG" | awk '$1 ~ /^[0-9]+$/ { print $1, $2 }' |
		while read -r id type; do
			case $ours in *" $id "*) continue ;; esac
			"$BPFTOOL" cgroup detach "$TCG" "$type" id "$id" && echo "$id($type)"
		done | xargs
}

# marks WANT_SAME: connects from TCG/a to the listeners L4 and L6 (in TCG/a)
# get WANT_SAME, from TCG/b nothing.
marks() {
	expect_mark "$1" "$TCG/a" "$NS" 127.0.0.1 "$L4" &&
		expect_mark "$1" "$TCG/a" "$NS" ::1 "$L6" &&
		expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$L4" &&
		expect_mark 0x00000000 "$TCG/b" "$NS" ::1 "$L6"
}

# listeners: (re)start the two listeners in TCG/a, L4 and L6.
listeners() {
	local pid
	for pid in ${LPIDS:-}; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	start_server "$TCG/a" "$NS" 127.0.0.1 0 || return 1
	L4=$PORT
	start_server "$TCG/a" "$NS" ::1 0 || return 1
	L6=$PORT
	# shellcheck disable=SC2153 # PIDS: set by start_server
	LPIDS=$(echo "$PIDS" | awk '{ print $(NF - 1), $NF }')
}

# pre_listener: (re)start PRE4, a listener in TCG/a bound before a load.
pre_listener() {
	if [ -n "${PRE_PID:-}" ]; then
		kill "$PRE_PID" 2>/dev/null || true
		wait "$PRE_PID" 2>/dev/null || true
	fi
	start_server "$TCG/a" "$NS" 127.0.0.1 0 || return 1
	PRE4=$PORT
	PRE_PID=${PIDS##* }
}

# The three operations: how to bring the host to the state before, how to
# run the operation, what is expected before and after.
prepare_load() {
	local out
	out=$(scm_unload 2>&1) || { echo "unload: $out" >&2; return 1; }
	nothing_loaded && pre_listener
}
run_load() { scm_load -m "$NEW"; }
before_load() { nothing_loaded; }
after_load() {
	exactly_one_instance "$NEW" || return 1
	listeners && marks "$NEW"
}
old_marking_load() { listeners && marks 0x00000000; }

prepare_reload() {
	local out
	out=$(scm_load -m "$OLD" 2>&1) || { echo "reload to $OLD: $out" >&2; return 1; }
	exactly_one_instance "$OLD"
}
run_reload() { scm_load -m "$NEW"; }
after_reload() {
	exactly_one_instance "$NEW" && marks "$NEW"
}
old_marking_reload() { marks "$OLD"; }

prepare_unload() {
	local out
	out=$(scm_unload 2>&1 && scm_load -m "$OLD" 2>&1) || { echo "unload and load: $out" >&2; return 1; }
	exactly_one_instance "$OLD" && listeners
}
run_unload() { scm_unload; }
after_unload() {
	nothing_loaded && marks 0x00000000
}
old_marking_unload() { marks "$OLD"; }

# names_step CALL: the error output ($stderr) names the step CALL was.
names_step() {
	local -a w
	read -r -a w <<<"$1"
	case "${w[0]} ${w[1]}" in
	"prog loadall") [[ "$stderr" == *"loading "*"injected failure"* ]] ;;
	"cgroup attach") [[ "$stderr" == *"attaching ${w[5]} "*"(${w[3]})"*"injected failure"* ]] ;;
	"cgroup detach") [[ "$stderr" == *"detaching ${w[5]} "*"(${w[3]})"*"injected failure"* ]] ;;
	# A query: the error names what could not be queried.
	*) [[ "$stderr" == *"${w[${#w[@]} - 1]}"* ]] ;;
	esac
}

# check_fault OP K REFCALL: run OP with the K-th bpftool call failing (the
# host is in OP's state before) and check the outcome; print the problems.
check_fault() {
	local op=$1 k=$2 ref=$3
	local log=$BATS_TEST_TMPDIR/calls.$op.$k fw before call
	before=$(state)
	fw=$(failing_bpftool '*' "$k")
	BPFTOOL=$(counting_bpftool "$log" "$fw") run --separate-stderr "run_$op"
	call=$(sed -n "${k}p" "$log")
	if [ -z "$call" ]; then
		echo "only $(wc -l <"$log") bpftool calls this time"
		return 1
	fi
	# The same call as in the successful run (paths and ids may differ).
	if [ "${call%% /*}" != "${ref%% /*}" ]; then
		echo "call $k is '$call' this time, was '$ref'"
		return 1
	fi
	case $status in
	1)
		if ! names_step "$call"; then
			echo "exit 1, but the error does not name the step: '$stderr'"
		elif [ "$(state)" != "$before" ]; then
			printf 'exit 1, but the host changed:\n--- before\n%s\n--- after\n%s\n' "$before" "$(state)"
		elif ! "old_marking_$op" 2>&1; then
			echo "exit 1, but the marking changed"
		else
			return 0
		fi ;;
	0)
		if [[ "$stderr" == *"only connections to loopback addresses are marked"* ]]; then
			if [[ "$stderr" != *"injected failure"* ]]; then
				echo "loopback only, but the warning does not relay the error: '$stderr'"
			elif ! SCM_PROGS=4 SCM_ROUTE='' "after_$op" 2>&1; then
				echo "loopback only announced, but not in that state"
			else
				return 0
			fi
		elif [ -n "$stderr" ] && [[ "$stderr" != *"injected failure"* ]]; then
			echo "exit 0 with a warning that does not relay the error: '$stderr'"
		elif [ "$op" = load ] && [[ "$stderr" != *"listeners bound before loading are not recognised"* ]] &&
			! expect_mark "$NEW" "$TCG/a" "$NS" 127.0.0.1 "$PRE4" 2>&1; then
			echo "a listener bound before the load is not recognised, and no warning says so"
		elif ! "after_$op" 2>&1; then
			echo "exit 0, but not in the intended new state"
		else
			return 0
		fi ;;
	*) echo "exit $status: '$stderr'" ;;
	esac
	return 1
}

# fault_every_call OP: count the bpftool calls of a successful OP, then make
# each one fail in turn.
fault_every_call() {
	local op=$1
	local log=$BATS_TEST_TMPDIR/calls.$op out=$BATS_TEST_TMPDIR/problem n k problem orphans bad=0
	local -a ref
	"prepare_$op"
	BPFTOOL=$(counting_bpftool "$log") run --separate-stderr "run_$op"
	[ "$status" -eq 0 ] || { echo "successful $op: exit $status: $stderr" >&2; return 1; }
	rundir_clean
	"after_$op"
	mapfile -t ref <"$log"
	n=${#ref[@]}
	echo "$op: $n bpftool calls"
	[ "$n" -ge 3 ]
	for ((k = 1; k <= n; k++)); do
		"prepare_$op"
		# Not in a command substitution: listeners started by the checks
		# must be known to teardown.
		if check_fault "$op" "$k" "${ref[k - 1]}" >"$out" 2>&1; then
			rundir_clean >>"$out" 2>&1 || echo "run directory not clean" >>"$out"
			no_stray_pins >>"$out" 2>&1 || echo "stray pins" >>"$out"
		fi
		problem=$(cat "$out")
		orphans=$(detach_orphans)
		[ -z "$orphans" ] || problem="$problem"$'\n'"programs left attached without pins: $orphans"
		if [ -n "$problem" ]; then
			bad=$((bad + 1))
			printf '%s call %d of %d failing (%s): %s\n' "$op" "$k" "$n" "${ref[k - 1]}" "$problem"
		fi
	done
	[ "$bad" -eq 0 ]
}

@test "a first load with any one of its bpftool calls failing leaves nothing behind or loads completely" {
	fault_every_call load
}

@test "a reload with any one of its bpftool calls failing keeps the old instance or completes, never both or neither" {
	run -0 scm_load -m "$OLD"
	listeners
	fault_every_call reload
}

@test "an unload with any one of its bpftool calls failing keeps the instance whole or removes it completely" {
	fault_every_call unload
}
