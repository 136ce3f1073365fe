#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Replacing a loaded instance: no gap, listener state kept, failures change
# nothing, other people's programs are left alone.

bats_require_minimum_version 1.7.0
load test_helper

@test "a reload keeps listeners that were bound before it" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	start_server "$TCG/b" "$NS" ::1 "$PORT"
	run -0 scm_load -m 0x10
	expect_mark 0x00000010 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000010 "$TCG/b" "$NS" ::1 "$PORT"
	run -0 scm_load
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/b" "$NS" ::1 "$PORT"
}

@test "a reload replaces all four programs and leaves exactly one instance" {
	run -0 scm_load
	local before after
	before=$(our_ids)
	[ "$(prog_ids_at "$TCG")" = "$before" ]
	run -0 scm_load
	after=$(our_ids)
	[ "$(wc -w <<<"$after")" -eq "$SCM_PROGS" ]
	[ "$(prog_ids_at "$TCG")" = "$after" ]
	[ "$before" != "$after" ]
	[ "$(ls "$PINDIR" | grep -c "^g")" -eq 1 ]
	# The socket storage map is shared, not recreated.
	run -0 bpftool map show pinned "$(echo "$PINDIR"/g*/scm_owner)"
}

@test "connections made during reloads are all marked" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	connect_round() { tally_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"; }
	while_running 5 scm_load
	[ "$wrong" -eq 0 ]
	[ "$(ls "$PINDIR" | grep -c "^g")" -eq 1 ]
}

# reload_fails PATTERN N: reload with the Nth matching bpftool call failing;
# the command must fail and leave everything as it was, still marking.
reload_fails() {
	run -0 scm_load -m 0x10
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local before
	before=$(snapshot)
	BPFTOOL=$(failing_bpftool "$1" "$2") run --separate-stderr scm_load -m 0x20
	echo "status $status, stderr: $stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"injected failure"* ]]
	[ "$(snapshot)" = "$before" ]
	expect_mark 0x00000010 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_status
}

@test "a reload whose object fails to load keeps the old instance" {
	# Every time: a load that fails where the sock_ops program is
	# loaded too is tried again without it.
	reload_fails 'prog loadall*' all
}

@test "a reload that fails attaching the first program keeps the old instance" {
	reload_fails 'cgroup attach*' 1
}

@test "a reload that fails attaching the fourth program keeps the old instance" {
	reload_fails 'cgroup attach*' 4
}

@test "a reload that fails detaching an old program keeps the old instance" {
	reload_fails 'cgroup detach*' 2
}

@test "a reload with a broken object file keeps the old instance" {
	run -0 scm_load -m 0x10
	local before lib=$BATS_TEST_TMPDIR/lib
	before=$(snapshot)
	mkdir "$lib"
	cp "$SAME_CGROUP_MARK_LIBDIR/scm-set-rodata" "$lib/"
	head -c 1000 "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark.bpf.o" >"$lib/same-cgroup-mark.bpf.o"
	SAME_CGROUP_MARK_LIBDIR=$lib run --separate-stderr scm_load
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"same-cgroup-mark.bpf.o"* ]]
	[ "$(snapshot)" = "$before" ]
}

@test "a first load that fails leaves no pins and nothing attached" {
	BPFTOOL=$(failing_bpftool 'cgroup attach*' 3) run --separate-stderr scm_load
	[ "$status" -eq 1 ]
	[ ! -e "$PINDIR" ]
	[ -z "$(prog_ids_at "$TCG")" ]
}

@test "programs someone else attached with multi keep running through load, reload and unload" {
	load_foreign "/sys/fs/bpf/${TID}f"
	local h f
	for h in bind4:cgroup_inet4_bind connect4:cgroup_inet4_connect connect6:cgroup_inet6_connect \
		sockops:cgroup_sock_ops; do
		bpftool cgroup attach "$TCG" "${h#*:}" pinned "/sys/fs/bpf/${TID}f/foreign_${h%%:*}" multi
	done
	bpftool cgroup attach "$TCG/a" cgroup_inet4_bind pinned "/sys/fs/bpf/${TID}f/foreign_bind4" multi
	f=$(prog_ids_at "$TCG")
	local fa
	fa=$(prog_ids_at "$TCG/a")
	run -0 scm_load
	# shellcheck disable=SC2046,SC2086 # lists of ids, split on purpose
	[ "$(prog_ids_at "$TCG")" = "$(echo $f $(our_ids) | tr ' ' '\n' | sort -n | xargs)" ]
	run -0 scm_load -m 0x10
	# shellcheck disable=SC2046,SC2086 # lists of ids, split on purpose
	[ "$(prog_ids_at "$TCG")" = "$(echo $f $(our_ids) | tr ' ' '\n' | sort -n | xargs)" ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000010 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_unload
	[ "$(prog_ids_at "$TCG")" = "$f" ]
	[ "$(prog_ids_at "$TCG/a")" = "$fa" ]
}

@test "an exclusive program someone else attached makes the load fail clearly, touching nothing" {
	load_foreign "/sys/fs/bpf/${TID}f"
	bpftool cgroup attach "$TCG" cgroup_inet4_connect pinned "/sys/fs/bpf/${TID}f/foreign_connect4"
	local f
	f=$(prog_ids_at "$TCG")
	run --separate-stderr scm_load
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"exclusive"*cgroup_inet4_connect* ]]
	[ ! -e "$PINDIR" ]
	[ "$(prog_ids_at "$TCG")" = "$f" ]
}

@test "the next load cleans up what an interrupted load left behind" {
	run -0 scm_load -m 0x10
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	# An interrupted run: a second instance, loaded, two programs attached.
	local left=$PINDIR/g7
	mkdir "$left"
	ln -s "$TCG" "$left/cgroup"
	cp "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark.bpf.o" "$BATS_TEST_TMPDIR/scm.o"
	bpftool prog loadall "$BATS_TEST_TMPDIR/scm.o" "$left" \
		map name scm_owner pinned "$PINDIR/g1/scm_owner" pinmaps "$left"
	bpftool cgroup attach "$TCG" cgroup_inet4_bind pinned "$left/scm_bind4" multi
	bpftool cgroup attach "$TCG" cgroup_inet4_connect pinned "$left/scm_connect4" multi
	# A third one that crashed before loading anything.
	mkdir "$PINDIR/g8"
	run -1 scm_status
	run -0 scm_load -m 0x20
	[ "$(ls "$PINDIR" | xargs)" = "cgroup g9" ]
	[ "$(prog_ids_at "$TCG")" = "$(our_ids)" ]
	[ "$(our_ids | wc -w)" -eq "$SCM_PROGS" ]
	expect_mark 0x00000020 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_status
}

@test "each load publishes the loaded mask as an nftables define, kept after unload" {
	run -0 scm_load -m 0x1234
	grep -qx 'define SCM_MASK = 0x00001234' "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
	run -0 scm_load -m 0x20
	grep -qx 'define SCM_MASK = 0x00000020' "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
	rundir_clean
	# nft accepts it as an include.
	# shellcheck disable=SC2016 # an nftables variable, not a shell one
	printf 'include "%s"\ntable inet scmt { chain c { meta mark & $SCM_MASK == $SCM_MASK accept; }; }\n' \
		"$SAME_CGROUP_MARK_RUNDIR/mask.nft" >"$BATS_TEST_TMPDIR/t.nft"
	ip netns exec "$NS" nft -c -f "$BATS_TEST_TMPDIR/t.nft"
	run -0 scm_unload
	grep -qx 'define SCM_MASK = 0x00000020' "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
	# The loaded copy of the object goes with the programs.
	[ "$(ls "$SAME_CGROUP_MARK_RUNDIR" | xargs)" = "lock mask.nft" ]
}

@test "a failed load leaves the published mask as it was" {
	run -0 scm_load -m 0x10
	BPFTOOL=$(failing_bpftool 'cgroup attach*' 2) run scm_load -m 0x20
	[ "$status" -eq 1 ]
	grep -qx 'define SCM_MASK = 0x00000010' "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
}

@test "a reload into another cgroup moves the programs there, also after a failed try" {
	run -0 loader -d "$PINDIR" -c "$TCG/b"
	[ "$(prog_ids_at "$TCG/b" | wc -w)" -eq "$SCM_PROGS" ]
	# A try that fails attaching: the instance stays at b, and keeps a
	# record of its cgroup of its own.
	BPFTOOL=$(failing_bpftool 'cgroup attach*' 2) run --separate-stderr loader -d "$PINDIR" -c "$TCG"
	[ "$status" -eq 1 ]
	[ "$(prog_ids_at "$TCG/b" | wc -w)" -eq "$SCM_PROGS" ]
	[ -z "$(prog_ids_at "$TCG")" ]
	[ "$(readlink "$(echo "$PINDIR"/g*)/cgroup")" = "$TCG/b" ]
	run -0 scm_status
	[[ "$output" == *"cgroup:   $TCG/b"$'\n'* ]]
	# The move itself.
	run -0 scm_load
	exactly_one_instance "$TEST_MASK"
	[ -z "$(prog_ids_at "$TCG/b")" ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_unload
	nothing_loaded
}
