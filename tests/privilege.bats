#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Privilege (issue 6, item 6): what an unprivileged process (uid and gid
# 65534, no supplementary groups, no capabilities) can and cannot do about
# the mark.  It cannot obtain a marked connection to a listener of another
# cgroup, cannot set the mark itself, cannot move into the listener's cgroup
# and cannot touch the programs' pins; in the listener's own cgroup it is
# marked like anyone else.  (Non-root load, reload and unload: usage.bats.)

bats_require_minimum_version 1.7.0
load test_helper

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)

setup() {
	common_setup
	# The probe, where uid 65534 can run it.
	UPROBE=$PROBE
	if ! "${NOBODY[@]}" test -x "$PROBE"; then
		PROBE_DIR=$(mktemp -d /tmp/scm-privilege.XXXXXX)
		chmod 0755 "$PROBE_DIR"
		cp "$PROBE" "$PROBE_DIR/scm-probe"
		chmod 0755 "$PROBE_DIR/scm-probe"
		UPROBE=$PROBE_DIR/scm-probe
	fi
	"${NOBODY[@]}" test -x "$UPROBE"
	run -0 scm_load
}

teardown() {
	common_teardown
	[ -z "${PROBE_DIR:-}" ] || rm -rf -- "$PROBE_DIR"
	if [ -n "${BPFFS_DIR:-}" ]; then
		umount "$BPFFS_DIR" 2>/dev/null || true
		rmdir "$BPFFS_DIR"
	fi
}

# as_nobody CGROUP ADDR PORT [OPTIONS]: connect as uid 65534 from CGROUP in
# the test's namespace (root puts the process into the cgroup and the
# namespace, then drops to 65534 before the probe runs); prints the probe's
# output and stderr, returns its exit status.
as_nobody() {
	local cg=$1
	shift
	(in_cgroup "$cg" "$NS" "${NOBODY[@]}" "$UPROBE" connect "$@") 2>&1
}

# mark_in OUTPUT: the mark the probe printed.
mark_in() {
	printf '%s\n' "$1" | sed -n 's/^mark=//p'
}

@test "an unprivileged client in another cgroup does not get the mark" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local p4=$PORT
	start_server "$TCG/a" "$NS" ::1 0
	local p6=$PORT
	run -0 as_nobody "$TCG/b" 127.0.0.1 "$p4"
	same_mark "$(mark_in "$output")" 0x00000000
	run -0 as_nobody "$TCG/b" ::1 "$p6"
	same_mark "$(mark_in "$output")" 0x00000000
	# Nor from the root cgroup of the test, the parent of the listener's.
	run -0 as_nobody "$TCG" 127.0.0.1 "$p4"
	same_mark "$(mark_in "$output")" 0x00000000
}

@test "an unprivileged client in the listener's cgroup is marked: the mark does not depend on privilege" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local p4=$PORT
	start_server "$TCG/a" "$NS" ::1 0
	local p6=$PORT
	run -0 as_nobody "$TCG/a" 127.0.0.1 "$p4"
	same_mark "$(mark_in "$output")" "$TEST_MASK"
	run -0 as_nobody "$TCG/a" ::1 "$p6"
	same_mark "$(mark_in "$output")" "$TEST_MASK"
	# An unprivileged listener marks its own cgroup's clients the same way.
	local out
	out=$BATS_TEST_TMPDIR/nobody-server
	(in_cgroup "$TCG/b" "$NS" "${NOBODY[@]}" "$UPROBE" listen 127.0.0.1 0) >"$out" 2>&1 3>&- &
	PIDS="$PIDS $!"
	for _ in $(seq 1 100); do
		[ -s "$out" ] && break
		sleep 0.05
	done
	local pb
	pb=$(head -n 1 "$out")
	[[ "$pb" =~ ^[0-9]+$ ]]
	run -0 as_nobody "$TCG/b" 127.0.0.1 "$pb"
	same_mark "$(mark_in "$output")" "$TEST_MASK"
	run -0 as_nobody "$TCG/a" 127.0.0.1 "$pb"
	same_mark "$(mark_in "$output")" 0x00000000
}

@test "an unprivileged process cannot set the mark itself (SO_MARK needs CAP_NET_ADMIN or CAP_NET_RAW)" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local m
	for m in "$TEST_MASK" 0x40000000 0xffffffff 0x1; do
		run as_nobody "$TCG/b" 127.0.0.1 "$PORT" --mark "$m"
		echo "--mark $m: exit $status: $output"
		[ "$status" -eq 1 ]
		[[ "$output" == *"SO_MARK: Operation not permitted"* ]]
	done
	# Root can: the mark proves nothing about a privileged client.
	expect_mark "$TEST_MASK" "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark "$TEST_MASK"
}

@test "an unprivileged process can set the mark only in a network namespace of its own, away from the listeners" {
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	# The kernel allows SO_MARK with CAP_NET_RAW or CAP_NET_ADMIN in the
	# user namespace owning the socket's network namespace: a user
	# namespace and network namespace of its own give that, for sockets
	# in that namespace only, where the test's listener is out of reach.
	run in_cgroup "$TCG/b" "$NS" "${NOBODY[@]}" unshare --user --map-root-user --net \
		"$UPROBE" connect 127.0.0.1 "$PORT" --mark "$TEST_MASK"
	echo "exit $status: $output"
	if [[ "$output" == *"unshare: "* ]]; then
		skip "no unprivileged user namespaces here: $output"
	fi
	[[ "$output" == *"mark=$(printf '0x%08x' "$TEST_MASK")"* ]]
	[ "$status" -eq 1 ]
	[[ "$output" == *"connect: "* ]]
	# From the test's namespace, the same client gets no mark at all.
	run -0 as_nobody "$TCG/b" 127.0.0.1 "$PORT"
	same_mark "$(mark_in "$output")" 0x00000000
}

@test "an unprivileged process cannot move itself into the listener's cgroup" {
	# shellcheck disable=SC2016 # expanded by the inner sh
	run "${NOBODY[@]}" sh -c 'echo $$ >"$1/cgroup.procs"' sh "$TCG/a"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"ermission denied"* ]]
	# Nor write into it in any other way, nor create a cgroup under it.
	run "${NOBODY[@]}" mkdir "$TCG/a/mine"
	[ "$status" -ne 0 ]
	[ ! -e "$TCG/a/mine" ]
}

# refused_and_unchanged DIR: in the instance loaded in pin directory DIR,
# uid 65534 can neither read nor change nor detach the programs and their
# maps.  Each attempt must fail and leave everything as it was; what words
# bpftool uses for the refusal depends on how bpffs is mounted (a 0700
# mount refuses the path lookup, and bpftool then says the path is "not in
# bpf file system"; a world-searchable one lets the lookup through and the
# bpf() call is refused), so the words are not checked: the failure and the
# unchanged state are.
refused_and_unchanged() {
	local dir=$1 inst ids counters rodata
	inst=$(echo "$dir"/g*)
	[ -d "$inst" ]
	ids=$(prog_ids_at "$TCG")
	[ "$(echo "$ids" | wc -w)" -eq "$SCM_PROGS" ]
	# Root reads the same paths: a refusal below is not a wrong path.
	counters=$(bpftool -j map dump pinned "$inst/scm_counts")
	rodata=$(bpftool -j map dump pinned "$inst/scm_rodata")
	bpftool prog show pinned "$inst/scm_connect4" >/dev/null

	run "${NOBODY[@]}" bpftool map dump pinned "$inst/scm_counts"
	echo "map dump: exit $status: $output"
	[ "$status" -ne 0 ]
	[[ "$output" != *'"value"'* ]]
	run "${NOBODY[@]}" bpftool prog dump xlated pinned "$inst/scm_connect4"
	echo "prog dump: exit $status: $output"
	[ "$status" -ne 0 ]
	run "${NOBODY[@]}" bpftool map update pinned "$inst/scm_counts" key 0 0 0 0 value 1 0 0 0 0 0 0 0
	echo "map update: exit $status: $output"
	[ "$status" -ne 0 ]
	run "${NOBODY[@]}" bpftool cgroup detach "$TCG" cgroup_inet4_connect pinned "$inst/scm_connect4"
	echo "cgroup detach: exit $status: $output"
	[ "$status" -ne 0 ]
	run "${NOBODY[@]}" rm -f "$inst/scm_connect4"
	echo "rm: exit $status: $output"
	[ "$status" -ne 0 ]
	run "${NOBODY[@]}" mkdir "$dir/mine"
	echo "mkdir: exit $status: $output"
	[ "$status" -ne 0 ]

	# Nothing changed: the same programs attached, the pins there, the
	# maps as they were, and the programs still mark.
	[ "$(prog_ids_at "$TCG")" = "$ids" ]
	[ -e "$inst/scm_connect4" ]
	[ ! -e "$dir/mine" ]
	[ "$(bpftool -j map dump pinned "$inst/scm_counts")" = "$counters" ]
	[ "$(bpftool -j map dump pinned "$inst/scm_rodata")" = "$rodata" ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 loader -d "$dir" -s
}

# on_own_bpffs MODE: unload the test's instance and load it again on a
# bpffs instance of the test's own, mounted with MODE, removed by teardown.
on_own_bpffs() {
	scm_unload >/dev/null
	BPFFS_DIR=$(mktemp -d /tmp/scmbpffsXXXXXX)
	mount -t bpf -o "mode=$1" bpf "$BPFFS_DIR"
	[ "$(stat -f -c %t "$BPFFS_DIR")" = cafe4a11 ]
	# (bpffs always adds the sticky bit to its root)
	[ $((0$(stat -c %a "$BPFFS_DIR") & 0777)) -eq $((0$1 & 0777)) ]
	PINDIR=$BPFFS_DIR/pins
	run scm_load
	echo "$output"
	[ "$status" -eq 0 ]
}

@test "an unprivileged process cannot read, change or detach the programs and their maps (bpffs as the host has it)" {
	echo "bpffs: $(stat -c 'mode %a owner %u' /sys/fs/bpf)"
	refused_and_unchanged "$PINDIR"
}

@test "an unprivileged process cannot read, change or detach the programs and their maps (bpffs mounted 0700, as by systemd or the loader)" {
	on_own_bpffs 0700
	refused_and_unchanged "$PINDIR"
}

@test "an unprivileged process cannot read, change or detach the programs and their maps (bpffs mounted with the kernel's default mode)" {
	on_own_bpffs 1777
	refused_and_unchanged "$PINDIR"
}
