#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Grouping by an ancestor cgroup (-l LEVEL), and the counters in status.
#
# The test's cgroups: TCG is at depth 1 of the cgroup v2 tree, TCG/a and
# TCG/b at depth 2, TCG/a/x, TCG/a/y and TCG/b/x at depth 3.

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
	mkdir "$TCG/a/x" "$TCG/a/y" "$TCG/b/x"
}

@test "siblings under one parent are marked with -l at the parent's depth, not without it" {
	run -0 scm_load
	start_server "$TCG/a/x" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a/x" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_load -l 2
	expect_mark "$M" "$TCG/a/x" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a/y" "$NS" ::ffff:127.0.0.1 "$PORT"
	# The parent itself is the group's top: it belongs to the group.
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "cousins under different parents are never marked" {
	run -0 scm_load -l 2
	start_server "$TCG/a/x" "$NS" ::1 0
	expect_mark "$Z" "$TCG/b/x" "$NS" ::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" ::1 "$PORT"
	# At depth 1 they are one group.
	run -0 scm_load -l 1
	expect_mark "$M" "$TCG/b/x" "$NS" ::1 "$PORT"
}

@test "a process shallower than the level forms its own group" {
	run -0 scm_load -l 3
	# TCG/a is at depth 2 < 3: exact matching for it.
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a/x" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG" "$NS" 127.0.0.1 "$PORT"
	# And a deep client never matches a shallow listener's group.
	start_server "$TCG/a/x" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a/x" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
}

@test "reloads from exact to level mode and back keep listeners recognised" {
	run -0 scm_load
	start_server "$TCG/a/x" "$NS" 127.0.0.1 0
	run -0 scm_load -l 2
	expect_mark "$M" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b/x" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_load
	expect_mark "$M" "$TCG/a/x" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
}

@test "the level comes from -l, else LEVEL= in the configuration, and status shows it" {
	printf 'LEVEL=2\n' >"$SAME_CGROUP_MARK_CONF"
	run -0 scm_load
	run scm_status
	[[ "$output" == *"level:    2 (same ancestor at depth 2)"* ]]
	run -0 scm_load -l 0
	run scm_status
	[[ "$output" == *"level:    0 (same cgroup)"* ]]
	rm "$SAME_CGROUP_MARK_CONF"
	run -0 scm_load -l 008
	run scm_status
	[[ "$output" == *"level:    8 (same ancestor at depth 8)"* ]]
}

@test "a bad level is refused with exit 2 and changes nothing" {
	run -0 scm_load -l 2
	local before v
	before=$(snapshot)
	for v in '' -1 9 10 100 1a x ' 2' 2.0 0x2 99999999999999999999; do
		run --separate-stderr scm_load -l "$v"
		[ "$status" -eq 2 ] || { echo "-l '$v': exit $status" >&2; return 1; }
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
		[[ "$stderr" == *"invalid level '$v'"* ]]
		[ "$(snapshot)" = "$before" ]
	done
	printf 'LEVEL=9\n' >"$SAME_CGROUP_MARK_CONF"
	run --separate-stderr scm_load
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"$SAME_CGROUP_MARK_CONF:1: invalid level '9'"* ]]
	run --separate-stderr scm_status -l 2
	[ "$status" -eq 2 ]
	[ "$(snapshot)" = "$before" ]
}

@test "status counts marked, other-group, no-listener, never-bound and unrecorded connects and binds" {
	# Without pair counting, which looks every local connect up.
	run -0 scm_load -P 0
	[ "$(counter marked)" = 0 ]
	# A listener that never called bind() is recorded at listen() by the
	# sock_ops program; without it, it has no record.
	start_server "$TCG/a" "$NS" 0.0.0.0 0 --nobind
	local early=$PORT nobind=0 early_mark=$Z
	[ -z "$SCM_ROUTE" ] || { nobind=1; early_mark=$M; }
	start_server "$TCG/b" "$NS" 127.0.0.1 0
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	[ "$(counter 'TCP binds recorded')" = $((2 + nobind)) ]
	mkdir "$TCG/c"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$early_mark" "$TCG/a" "$NS" 127.0.0.1 "$early"
	# Nothing in c ever bound a TCP socket: its connects are not looked up.
	expect_mark "$Z" "$TCG/c" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/c" "$NS" ::ffff:127.0.0.1 "$PORT"
	run --separate-stderr mark_of "$TCG/a" "$NS" 127.0.0.1 1
	# UDP and non-loopback connects are not looked at.
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT" --udp
	run scm_status
	echo "$output"
	[ "$(counter marked)" = $((2 + nobind)) ]
	[ "$(counter 'not marked: listener of another group')" = 1 ]
	[ "$(counter 'not marked: listener bound before loading')" = $((1 - nobind)) ]
	[ "$(counter 'not marked: no listener')" = 1 ]
	[ "$(counter 'not marked: client group never bound TCP')" = 2 ]
	# Counters survive a reload.
	run -0 scm_load -P 0
	[ "$(counter marked)" = $((2 + nobind)) ]
}
