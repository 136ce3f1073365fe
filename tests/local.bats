#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Every local address, never a remote one (issue 11): connects to the
# host's own addresses on other interfaces than loopback are marked within
# a group, through the sock_ops program that sees the route; connects that
# leave the host are not, whatever listens locally.  The test's namespace
# NS has 10.99.0.1 and fd99::1 on a veth, whose peer namespace EXTRA_NS
# (10.99.0.2, fd99::2) plays a remote host (setup_remote).

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
	setup_remote
	run scm_load
	[ "$status" -eq 0 ] || { echo "load failed: $output" >&2; return 1; }
}

@test "the host's own IPv4, IPv6 and v4-mapped addresses are marked within a cgroup and not across" {
	need_route
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	local dst
	for dst in 10.99.0.1 fd99::1 ::ffff:10.99.0.1; do
		expect_mark "$M" "$TCG/a" "$NS" "$dst" "$PORT"
		expect_mark "$Z" "$TCG/b" "$NS" "$dst" "$PORT"
		expect_mark "$Z" "$TCG" "$NS" "$dst" "$PORT"
	done
	[ "$(counter marked)" = 3 ]
	# With pair counting (the default) every local connect is looked up.
	[ "$(counter 'not marked: group listens on no such port')" = 0 ]
	[ "$(counter 'not marked: listener of another group')" = 6 ]
	[ "$(counter 'not marked: destination not on this host')" = 0 ]
	# Without, b, which listens on no port, is not looked up at all; TCG
	# is an ancestor of a, so its connects are (for -l), and refused.
	run -0 scm_load -P 0
	for dst in 10.99.0.1 fd99::1 ::ffff:10.99.0.1; do
		expect_mark "$M" "$TCG/a" "$NS" "$dst" "$PORT"
		expect_mark "$Z" "$TCG/b" "$NS" "$dst" "$PORT"
		expect_mark "$Z" "$TCG" "$NS" "$dst" "$PORT"
	done
	[ "$(counter 'not marked: group listens on no such port')" = 3 ]
	[ "$(counter 'not marked: listener of another group')" = 9 ]
}

@test "every listener kind is recognised on the host's own non-loopback addresses" {
	need_route
	local port
	start_server "$TCG/a" "$NS" 0.0.0.0 0
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
	start_server "$TCG/a" "$NS" :: 0 --v6only
	expect_mark "$M" "$TCG/a" "$NS" fd99::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" fd99::1 "$PORT"
	start_server "$TCG/a" "$NS" 10.99.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" ::ffff:10.99.0.1 "$PORT"
	start_server "$TCG/a" "$NS" fd99::1 0
	expect_mark "$M" "$TCG/a" "$NS" fd99::1 "$PORT"
	# A reuseport group bound from one cgroup.
	start_server "$TCG/b" "$NS" 10.99.0.1 0 --reuseport
	port=$PORT
	start_server "$TCG/b" "$NS" 10.99.0.1 "$port" --reuseport
	expect_mark "$M" "$TCG/b" "$NS" 10.99.0.1 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.1 "$port"
}

@test "a connect to a remote host is never marked, whatever of the client's group listens on that port" {
	need_route
	local port
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	port=$PORT
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" fd99::2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" ::ffff:10.99.0.2 "$port"
	[ "$(counter 'not marked: destination not on this host')" = 3 ]
	[ "$(counter marked)" = 1 ]
	# A listener of the group on a specific local address: the remote
	# host's same port finds no listener at all.
	start_server "$TCG/a" "$NS" 10.99.0.1 0
	port=$PORT
	start_server "$TCG/b" "$EXTRA_NS" 10.99.0.2 "$port"
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port"
	[ "$(counter 'not marked: no listener')" = 1 ]
}

@test "a listener bound with IP_FREEBIND to an address the host does not own does not mark connects to it" {
	need_route
	local port
	# The remote host's address, bound here without owning it.
	start_server "$TCG/a" "$NS" 10.99.0.2 0 --freebind
	port=$PORT
	start_server "$TCG/a" "$NS" fd99::2 "$port" --freebind
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" fd99::2 "$port"
	[ "$(counter 'not marked: destination not on this host')" = 2 ]
}

@test "non-blocking connects and TCP Fast Open to a local address are marked, to a remote one not" {
	need_route
	local port how
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	port=$PORT
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack
	for how in --nonblock --fastopen --fastopen-connect; do
		expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$port" "$how"
		expect_mark "$M" "$TCG/a" "$NS" fd99::1 "$port" "$how"
		expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$port" "$how"
		expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port" "$how"
		expect_mark "$Z" "$TCG/a" "$NS" fd99::2 "$port" "$how"
	done
}

@test "the SYN to a local address leaves with the mark: nftables counts it at output" {
	need_route
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	ip netns exec "$NS" nft -f - <<EOF
table inet scmtest {
	chain out {
		type filter hook output priority filter; policy accept;
		tcp dport $PORT tcp flags & (syn | ack) == syn meta mark & $M == $M counter
	}
}
EOF
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" fd99::1 "$PORT" --fastopen
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
	run ip netns exec "$NS" nft list chain inet scmtest out
	echo "$output"
	[[ "$output" == *"counter packets 2 "* ]]
}

@test "a level groups the host's own addresses like loopback" {
	need_route
	run -0 scm_load -l 2
	mkdir -p "$TCG/a/x" "$TCG/a/y"
	start_server "$TCG/a/x" "$NS" :: 0 --dualstack
	expect_mark "$M" "$TCG/a/y" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$M" "$TCG/a/y" "$NS" fd99::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
}

@test "listeners that started listening before the sock_ops program was loaded are recognised on every local address" {
	need_iterator
	need_route
	run -0 scm_unload
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	run -0 scm_load
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
}

# fallback_lib DIR: the objects and the helper in DIR, without the sock_ops
# object, or with OBJ in its place.
fallback_lib() {
	mkdir -p "$1"
	cp "$SAME_CGROUP_MARK_LIBDIR"/same-cgroup-mark.bpf.o "$SAME_CGROUP_MARK_LIBDIR"/same-cgroup-mark-nobtf.bpf.o \
		"$SAME_CGROUP_MARK_LIBDIR"/same-cgroup-mark-iter.bpf.o \
		"$SAME_CGROUP_MARK_LIBDIR"/scm-set-rodata "$1/"
	[ -z "${2:-}" ] || cp "$2" "$1/same-cgroup-mark-sockops.bpf.o"
}

# loopback_only: the instance attaches the four cgroup programs only,
# marks loopback and not the host's own other addresses, and says so.
loopback_only() {
	run scm_status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *$'\n'"marking:  loopback only"* ]]
	[ ! -e "$(echo "$PINDIR"/g*)/scm_sockops" ]
	[ "$(prog_ids_at "$TCG" | wc -w)" -eq 4 ]
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" ::1 "$PORT"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a" "$NS" fd99::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "without the sock_ops object the load marks loopback only, with one warning, and status says so" {
	local lib=$BATS_TEST_TMPDIR/lib
	fallback_lib "$lib"
	SAME_CGROUP_MARK_LIBDIR=$lib run --separate-stderr scm_load
	echo "$output / $stderr"
	[ "$status" -eq 0 ]
	stderr=$(printf '%s\n' "$stderr" | without_iterator_warnings)
	[ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 1 ]
	[[ "$stderr" == *"same-cgroup-mark-sockops.bpf.o: only connections to loopback addresses are marked" ]]
	[[ "$output" == *", marking loopback only" ]]
	loopback_only
}

@test "a sock_ops object the kernel refuses leaves the load to loopback only, with one warning naming the step" {
	local lib=$BATS_TEST_TMPDIR/lib
	fallback_lib "$lib" "$SCM_TOP/tests/refused-sockops.bpf.o"
	SAME_CGROUP_MARK_LIBDIR=$lib run --separate-stderr scm_load
	echo "$output / $stderr"
	[ "$status" -eq 0 ]
	stderr=$(printf '%s\n' "$stderr" | without_iterator_warnings)
	[ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 1 ]
	[[ "$stderr" == *"loading $lib/same-cgroup-mark-sockops.bpf.o failed"*"only connections to loopback addresses are marked" ]]
	loopback_only
	rundir_clean
	no_stray_pins
}

@test "a reload from loopback-only to every local address, and back, keeps marking and the listeners" {
	need_route
	local lib=$BATS_TEST_TMPDIR/lib
	fallback_lib "$lib"
	run scm_unload
	SAME_CGROUP_MARK_LIBDIR=$lib run scm_load
	[ "$status" -eq 0 ]
	# Listening while the sock_ops program is not there to see it.
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	run -0 scm_load
	exactly_one_instance "$M"
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
	SAME_CGROUP_MARK_LIBDIR=$lib run scm_load
	[ "$status" -eq 0 ]
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	run -0 scm_unload
	nothing_loaded
}

@test "the sock_ops program leaves other sockets' TCP alone: data flows both ways, locally and to the remote host" {
	need_route
	local port
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	port=$PORT
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack --echo
	run in_cgroup "$TCG/a" "$NS" "$PROBE" connect 10.99.0.1 "$port" --talk
	[ "$status" -eq 0 ] && [[ "$output" == *"echo=ok"* ]]
	run in_cgroup "$TCG/b" "$NS" "$PROBE" connect fd99::1 "$port" --talk
	[ "$status" -eq 0 ] && [[ "$output" == *"echo=ok"* ]]
	run in_cgroup "$TCG/a" "$NS" "$PROBE" connect 10.99.0.2 "$port" --talk
	[ "$status" -eq 0 ] && [[ "$output" == *"echo=ok"* ]]
	run in_cgroup "$TCG/a" "$NS" "$PROBE" connect fd99::2 "$port" --talk
	[ "$status" -eq 0 ] && [[ "$output" == *"echo=ok"* ]]
}

@test "connects to the host's own other addresses made during reloads are all marked, and remote ones never" {
	need_route
	local port
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	port=$PORT
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack
	connect_round() {
		tally_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$port"
		tally_mark "$M" "$TCG/a" "$NS" fd99::1 "$port"
		tally_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port"
	}
	while_running 5 scm_load
	[ "$wrong" -eq 0 ]
	exactly_one_instance "$M"
}
