#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Which connections get the mark: real listeners and clients in real
# cgroups and network namespaces, with the programs attached to the test's
# cgroup.

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
	run scm_load
	[ "$status" -eq 0 ] || { echo "load failed: $output" >&2; return 1; }
}

@test "an IPv4 client in the listener's cgroup is marked" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "an IPv4 client in another cgroup is not marked" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "a client in the parent cgroup of the listener's cgroup is not marked" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$Z" "$TCG" "$NS" 127.0.0.1 "$PORT"
}

@test "an IPv6 client in the listener's cgroup is marked, one in another cgroup is not" {
	start_server "$TCG/a" "$NS" ::1 0
	expect_mark "$M" "$TCG/a" "$NS" ::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" ::1 "$PORT"
}

@test "an IPv6 socket connecting to ::ffff:127.0.0.1 is marked in the same cgroup only" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" ::ffff:127.0.0.1 "$PORT"
}

@test "a 0.0.0.0 wildcard listener is recognised from the same cgroup only" {
	start_server "$TCG/a" "$NS" 0.0.0.0 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.53 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "a dual-stack [::] listener is recognised over IPv4, IPv6 and v4-mapped" {
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" ::1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" ::1 "$PORT"
}

@test "an IPv6-only [::] listener is recognised over IPv6" {
	start_server "$TCG/a" "$NS" :: 0 --v6only
	expect_mark "$M" "$TCG/a" "$NS" ::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" ::1 "$PORT"
}

@test "a listener on a specific loopback address is told apart from one on another address" {
	start_server "$TCG/a" "$NS" 127.0.0.2 0
	local port=$PORT
	start_server "$TCG/b" "$NS" 127.0.0.3 "$port"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.3 "$port"
	expect_mark "$M" "$TCG/b" "$NS" 127.0.0.3 "$port"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.2 "$port"
}

@test "a reuseport group is recognised from its cgroup only" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0 --reuseport
	start_server "$TCG/a" "$NS" 127.0.0.1 "$PORT" --reuseport
	start_server "$TCG/a" "$NS" 127.0.0.1 "$PORT" --reuseport
	for _ in 1 2 3 4 5 6; do
		expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
		expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	done
}

@test "an unbound client connecting to 0.0.0.0 or :: reaches loopback and is marked" {
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	expect_mark "$M" "$TCG/a" "$NS" 0.0.0.0 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" :: "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 0.0.0.0 "$PORT"
}

@test "mark bits the client set itself are kept, with and without the mask" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$(printf 0x%08x $((M | 5)))" "$TCG/a" "$NS" 127.0.0.1 "$PORT" --mark 0x5
	expect_mark 0x00000005 "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark 0x5
	expect_mark "$(printf 0x%08x $((M | 0x80000000)))" "$TCG/a" "$NS" 127.0.0.1 "$PORT" --mark 0x80000000
}

@test "a UDP connect is never marked, even to a port a same-cgroup TCP listener holds" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT" --udp
	expect_mark "$Z" "$TCG/a" "$NS" ::1 "$PORT" --udp
}

@test "a ping socket connect is never marked" {
	ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="0 0"
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT" --icmp
}

@test "a connect to a port without a listener is not marked" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local port=$PORT
	kill "${PIDS##* }"
	wait "${PIDS##* }" 2>/dev/null || true
	run --separate-stderr mark_of "$TCG/a" "$NS" 127.0.0.1 "$port"
	[ "$status" -eq 1 ] # refused: nothing listens any more
	[ "$output" = "$Z" ]
	run --separate-stderr mark_of "$TCG/a" "$NS" ::1 "$port"
	[ "$status" -eq 1 ]
	[ "$output" = "$Z" ]
}

@test "a listener in another network namespace is not matched, even in the same cgroup" {
	EXTRA_NS="${NS}x"
	ip netns add "$EXTRA_NS"
	ip -n "$EXTRA_NS" link set lo up
	start_server "$TCG/a" "$EXTRA_NS" 127.0.0.1 0
	local port=$PORT
	# Same port in the client's namespace, listener in another cgroup.
	start_server "$TCG/b" "$NS" 127.0.0.1 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$port"
	expect_mark "$M" "$TCG/a" "$EXTRA_NS" 127.0.0.1 "$port"
}

@test "a connect to a remote host is not marked although a same-cgroup wildcard listener has the port" {
	setup_remote
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	local port=$PORT
	start_server "$TCG/a" "$EXTRA_NS" :: "$port" --dualstack
	# Sanity: the local listener does make same-cgroup clients marked.
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" fd99::2 "$port"
	expect_mark "$Z" "$TCG/a" "$NS" ::ffff:10.99.0.2 "$port"
}

@test "the listener's cgroup is the one it was bound in, not where the process moved later" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	echo "${PIDS##* }" >"$TCG/b/cgroup.procs"
	grep -qx "0::/$TID/b" "/proc/${PIDS##* }/cgroup"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "a cgroup that never bound a TCP socket is not looked up until its first bind, on an ephemeral port" {
	# Pair counting looks every local connect up: the shortcut is for
	# PAIRS=0.
	run -0 scm_load -P 0
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local a_port=$PORT
	mkdir "$TCG/c"
	expect_mark "$Z" "$TCG/c" "$NS" 127.0.0.1 "$a_port"
	[ "$(counter 'not marked: client group never bound TCP')" = 1 ]
	[ "$(counter 'not marked: listener of another group')" = 0 ]
	start_server "$TCG/c" "$NS" ::1 0
	expect_mark "$M" "$TCG/c" "$NS" ::1 "$PORT"
	expect_mark "$Z" "$TCG/c" "$NS" 127.0.0.1 "$a_port"
	[ "$(counter 'not marked: client group never bound TCP')" = 1 ]
	[ "$(counter 'not marked: listener of another group')" = 1 ]
	[ "$(counter marked)" = 1 ]
}

@test "with every slot of the binders map set, only same-cgroup connects are marked" {
	local map
	map=$(echo "$PINDIR"/g*/scm_binders)
	# shellcheck disable=SC2046 # one word per byte of the value
	bpftool map update pinned "$map" key 0 0 0 0 value $(printf '1 %.0s' $(seq 65536))
	[ "$(bpftool -j map lookup pinned "$map" key 0 0 0 0 | sed 's/.*"value"://' | grep -o '"0x00"' | wc -l)" -eq 0 ]
	mkdir "$TCG/c"
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/c" "$NS" ::ffff:127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG" "$NS" 127.0.0.1 "$PORT"
	[ "$(counter 'not marked: listener of another group')" = 3 ]
	[ "$(counter 'not marked: client group never bound TCP')" = 0 ]
}

@test "a load with the default cgroup attaches at the cgroup v2 root and marks" {
	run -0 loader -d "$PINDIR" -u
	run -0 loader -d "$PINDIR" -m "$TEST_MASK"
	run -0 loader -d "$PINDIR" -s
	[[ "$output" == *"cgroup:   $CGROOT"$'\n'* ]]
	local ids
	ids=$(our_ids)
	[ -n "$ids" ]
	for id in $ids; do
		[[ " $(prog_ids_at "$CGROOT") " == *" $id "* ]]
	done
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	run -0 loader -d "$PINDIR" -u
	for id in $ids; do
		[[ " $(prog_ids_at "$CGROOT") " != *" $id "* ]]
	done
}
