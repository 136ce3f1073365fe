#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Listeners bound before the first load are found by the iter/tcp program
# (same-cgroup-mark-iter.bpf.o) and recorded with their socket's cgroup.

bats_require_minimum_version 1.7.0
load test_helper

@test "a listener bound before the first load is recognised, in its own cgroup only" {
	need_iterator
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local v4=$PORT
	start_server "$TCG/b" "$NS" :: 0 --dualstack
	local v6=$PORT
	run --separate-stderr scm_load
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$v4"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$v4"
	expect_mark "$M" "$TCG/b" "$NS" ::1 "$v6"
	expect_mark "$M" "$TCG/b" "$NS" 127.0.0.1 "$v6"
	expect_mark "$Z" "$TCG/a" "$NS" ::1 "$v6"
	# Nothing of the run is left in bpffs.
	[ ! -e /sys/fs/bpf/scm_owner ]
	[ ! -e /sys/fs/bpf/scm_binders ]
	[ -z "$(find /sys/fs/bpf -maxdepth 1 -name 'same_cgroup_mark_iter*')" ]
}

@test "listeners in several network namespaces bound before loading are all recognised" {
	need_iterator
	EXTRA_NS="${NS}p"
	ip netns add "$EXTRA_NS"
	ip -n "$EXTRA_NS" link set lo up
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local p1=$PORT
	start_server "$TCG/a" "$EXTRA_NS" ::1 0
	local p2=$PORT
	run -0 scm_load
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$p1"
	expect_mark "$M" "$TCG/a" "$EXTRA_NS" ::1 "$p2"
	expect_mark "$Z" "$TCG/b" "$EXTRA_NS" ::1 "$p2"
}

@test "a listener bound before loading is grouped by its ancestors too" {
	need_iterator
	mkdir "$TCG/a/x" "$TCG/a/y" "$TCG/b/x"
	start_server "$TCG/a/x" "$NS" 127.0.0.1 0
	run -0 scm_load -l 2
	expect_mark "$M" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b/x" "$NS" 127.0.0.1 "$PORT"
}

@test "a load after an unload finds the listeners bound in between" {
	need_iterator
	run -0 scm_load
	run -0 scm_unload
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	run -0 scm_load
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "without the iterator object the load still succeeds and says what is missing" {
	local lib=$BATS_TEST_TMPDIR/lib
	mkdir "$lib"
	cp "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark.bpf.o" "$SAME_CGROUP_MARK_LIBDIR/scm-set-rodata" "$lib/"
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	SAME_CGROUP_MARK_LIBDIR=$lib run --separate-stderr scm_load
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"not recognised until bound again"* ]]
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

# foreign_pin_left_alone NAME: a map that is not ours, pinned as
# /sys/fs/bpf/NAME where the iterator finds its maps, stays as it is; the
# load succeeds without the iterator and says why.
foreign_pin_left_alone() {
	local pin=/sys/fs/bpf/$1 id
	[ ! -e "$pin" ] || skip "$pin exists on this host"
	EXTRA_PINS="$EXTRA_PINS $pin"
	bpftool map create "$pin" type hash key 4 value 4 entries 1 name "$1"
	id=$(map_id "$pin")
	# A listener to recognise: without any, the iterator is not run.
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	run --separate-stderr scm_load
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"$pin is not ours"* ]]
	[ "$(map_id "$pin")" = "$id" ]
	[ ! -e /sys/fs/bpf/scm_owner ] || [ "$1" = scm_owner ]
	[ ! -e /sys/fs/bpf/scm_binders ] || [ "$1" = scm_binders ]
	expect_mark "$Z" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "a pin named scm_owner that is not ours is left alone" {
	foreign_pin_left_alone scm_owner
}

@test "a pin named scm_binders that is not ours is left alone" {
	foreign_pin_left_alone scm_binders
}

@test "stale scm_owner and scm_binders pins left by a killed run do not stop the next first load" {
	need_iterator
	[ ! -e /sys/fs/bpf/scm_owner ] || skip "/sys/fs/bpf/scm_owner exists on this host"
	[ ! -e /sys/fs/bpf/scm_binders ] || skip "/sys/fs/bpf/scm_binders exists on this host"
	EXTRA_PINS="$EXTRA_PINS /sys/fs/bpf/scm_owner /sys/fs/bpf/scm_binders /sys/fs/bpf/same_cgroup_mark_iter_1"
	run -0 scm_load
	# What a run killed while the iterator ran leaves behind.
	bpftool map pin pinned "$(echo "$PINDIR"/g*/scm_owner)" /sys/fs/bpf/scm_owner
	bpftool map pin pinned "$(echo "$PINDIR"/g*/scm_binders)" /sys/fs/bpf/scm_binders
	bpftool iter pin "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark-iter.bpf.o" /sys/fs/bpf/same_cgroup_mark_iter_1
	run -0 scm_unload
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	run --separate-stderr scm_load
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	[ ! -e /sys/fs/bpf/scm_owner ]
	[ ! -e /sys/fs/bpf/scm_binders ]
	[ ! -e /sys/fs/bpf/same_cgroup_mark_iter_1 ]
}
