#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Races (issue 6, item 2): loads with different masks, reloads, unloads and
# status calls, all at once.  The lock serialises them: every call succeeds,
# every status call sees a whole instance or none, and afterwards there is
# exactly one instance (its four programs attached once each, its pins and
# nothing else, marking with the mask status reports) or none at all.

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
	# shellcheck disable=SC2034 # read by no_stray_pins
	GLOBAL_PINS_BEFORE=$(global_iter_pins)
}

MASKS=(0x00000010 0x00000020 0x00000040 0x00000080)

# start_call N KIND: run one loader call in the background; its exit status
# goes to call.N.rc, its output to call.N.out and call.N.err.
start_call() {
	local f=$BATS_TEST_TMPDIR/call.$1
	case $2 in
	load) (set +e; scm_load -m "${MASKS[$1 % ${#MASKS[@]}]}" >"$f.out" 2>"$f.err"; echo $? >"$f.rc") 3>&- & ;;
	unload) (set +e; scm_unload >"$f.out" 2>"$f.err"; echo $? >"$f.rc") 3>&- & ;;
	status) (set +e; scm_status >"$f.out" 2>"$f.err"; echo $? >"$f.rc") 3>&- & ;;
	esac
	echo "$2" >"$f.kind"
	CALLS="$CALLS $!"
}

# check_calls N: every one of the N calls ended as its kind allows; prints
# the problems.
check_calls() {
	local c f kind rc bad=0
	for ((c = 0; c < $1; c++)); do
		f=$BATS_TEST_TMPDIR/call.$c
		kind=$(cat "$f.kind")
		rc=$(cat "$f.rc" 2>/dev/null || echo none)
		case $kind:$rc in
		load:0)
			grep -q "^same-cgroup-mark-load: loaded, mask ${MASKS[$c % ${#MASKS[@]}]}," "$f.out" && continue ;;
		unload:0)
			grep -qx -e 'same-cgroup-mark-load: unloaded' -e 'same-cgroup-mark-load: not loaded' "$f.out" && continue ;;
		# Under the lock, status sees one whole instance or none.
		status:0)
			grep -qx 'state:    loaded' "$f.out" && grep -q '^mask:     0x' "$f.out" &&
				[ "$(grep -c '^instance: ' "$f.out")" -eq 1 ] && continue ;;
		status:3)
			grep -qx 'state:    not loaded' "$f.out" && continue ;;
		esac
		echo "call $c ($kind): exit $rc; stdout: $(cat "$f.out"); stderr: $(cat "$f.err")"
		bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ]
}

# final_state_consistent: one whole instance marking with the mask status
# reports (checked with a listener bound now), or nothing at all.
final_state_consistent() {
	if [ ! -e "$PINDIR" ]; then
		nothing_loaded
		return
	fi
	local mask
	mask=$(scm_status | sed -n 's/^mask: *//p')
	echo "final mask: $mask"
	exactly_one_instance "$mask"
	rundir_clean "$mask"
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$mask" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	start_server "$TCG/b" "$NS" ::1 0
	expect_mark "$mask" "$TCG/b" "$NS" ::1 "$PORT"
	expect_mark 0x00000000 "$TCG/a" "$NS" ::1 "$PORT"
}

@test "thirty loads, reloads, unloads and status calls at once leave one whole instance or none" {
	run -0 scm_load
	local c kinds=(load load status unload load status load load unload status)
	CALLS=
	for ((c = 0; c < 30; c++)); do
		start_call "$c" "${kinds[$(((c * 7) % ${#kinds[@]}))]}"
	done
	for c in $CALLS; do
		wait "$c" || true
	done
	# The final state is checked even when a call ended wrongly.
	local calls_ok=0
	check_calls 30 || calls_ok=1
	no_stray_pins
	final_state_consistent
	# And the survivor still reloads and unloads cleanly.
	run -0 scm_load
	exactly_one_instance "$TEST_MASK"
	run -0 scm_unload
	nothing_loaded
	[ "$calls_ok" -eq 0 ]
}

@test "concurrent loads with different masks leave the instance of one of them, marking with its mask" {
	local c
	CALLS=
	for ((c = 0; c < 16; c++)); do
		if ((c % 4 == 3)); then
			start_call "$c" status
		else
			start_call "$c" load
		fi
	done
	for c in $CALLS; do
		wait "$c" || true
	done
	local calls_ok=0
	check_calls 16 || calls_ok=1
	[ -e "$PINDIR" ]
	final_state_consistent
	[ "$calls_ok" -eq 0 ]
}

@test "a status call that waited for the lock while the instance was unloaded says not loaded" {
	run -0 scm_load
	# Hold the lock, so that status finds the instance and then waits.
	mkdir -p "$SAME_CGROUP_MARK_RUNDIR"
	exec 8>>"$SAME_CGROUP_MARK_RUNDIR/lock"
	flock 8
	(set +e; scm_status >"$BATS_TEST_TMPDIR/st.out" 2>&1; echo $? >"$BATS_TEST_TMPDIR/st.rc") 3>&- 8>&- &
	local st=$!
	# Until it waits in flock.
	for _ in $(seq 1 100); do
		pgrep -P "$(pgrep -P "$st" | head -n 1)" -x flock >/dev/null 2>&1 && break
		pgrep -P "$st" -x flock >/dev/null 2>&1 && break
		sleep 0.05
	done
	# Meanwhile the instance goes: an unload working under another lock
	# file stands for one that took the lock first.
	SAME_CGROUP_MARK_RUNDIR=$BATS_TEST_TMPDIR/run2 run scm_unload
	[ "$status" -eq 0 ]
	flock -u 8
	exec 8>&-
	wait "$st"
	echo "status: exit $(cat "$BATS_TEST_TMPDIR/st.rc"): $(cat "$BATS_TEST_TMPDIR/st.out")"
	[ "$(cat "$BATS_TEST_TMPDIR/st.rc")" -eq 3 ]
	grep -qx 'state:    not loaded' "$BATS_TEST_TMPDIR/st.out"
}
