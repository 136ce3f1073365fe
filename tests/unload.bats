#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Unloading: our programs and pins go, nothing else does.

bats_require_minimum_version 1.7.0
load test_helper

@test "unload detaches the four programs, removes the pins and stops the marking" {
	run -0 scm_load
	local ids
	ids=$(our_ids)
	[ "$(wc -w <<<"$ids")" -eq "$SCM_PROGS" ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 scm_unload
	[ -z "$(prog_ids_at "$TCG")" ]
	[ ! -e "$PINDIR" ]
	# Nothing holds the programs any more: the kernel frees them.
	local id
	for id in $ids; do
		run bpftool prog show id "$id"
		[ "$status" -ne 0 ]
	done
	expect_mark 0x00000000 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "unload when nothing is loaded succeeds and changes nothing" {
	run -0 scm_unload
	[[ "$output" == *"not loaded"* ]]
	[ ! -e "$PINDIR" ]
	run -0 scm_unload
}

@test "unload leaves programs it did not load attached, here and in child cgroups" {
	load_foreign "/sys/fs/bpf/${TID}f"
	bpftool cgroup attach "$TCG" cgroup_inet4_connect pinned "/sys/fs/bpf/${TID}f/foreign_connect4" multi
	bpftool cgroup attach "$TCG" cgroup_inet6_bind pinned "/sys/fs/bpf/${TID}f/foreign_bind6" multi
	bpftool cgroup attach "$TCG/a" cgroup_inet4_connect pinned "/sys/fs/bpf/${TID}f/foreign_connect4" multi
	local f fa
	f=$(prog_ids_at "$TCG")
	fa=$(prog_ids_at "$TCG/a")
	run -0 scm_load
	run -0 scm_unload
	[ "$(prog_ids_at "$TCG")" = "$f" ]
	[ "$(prog_ids_at "$TCG/a")" = "$fa" ]
	[ -e "/sys/fs/bpf/${TID}f/foreign_connect4" ]
}

@test "unload leaves another pin directory's instance loaded" {
	# shellcheck disable=SC2034 # read by no_stray_pins
	EXTRA_PINS="/sys/fs/bpf/${TID}o"
	run -0 scm_load
	run -0 loader -d "/sys/fs/bpf/${TID}o" -c "$TCG/a" -m 0x1
	local other
	other=$(prog_ids_at "$TCG/a")
	run -0 scm_unload
	[ "$(prog_ids_at "$TCG/a")" = "$other" ]
	run -0 loader -d "/sys/fs/bpf/${TID}o" -s
	run -0 loader -d "/sys/fs/bpf/${TID}o" -u
	[ -z "$(prog_ids_at "$TCG/a")" ]
}

@test "an unload that fails halfway restores the instance" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local before
	before=$(snapshot)
	BPFTOOL=$(failing_bpftool 'cgroup detach*' 3) run --separate-stderr scm_unload
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"injected failure"* ]]
	[ "$(snapshot)" = "$before" ]
	run -0 scm_status
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "unload removes the instance of the cgroup it was loaded for, whatever -c says now" {
	run -0 loader -d "$PINDIR" -c "$TCG/b"
	[ -n "$(prog_ids_at "$TCG/b")" ]
	run -0 scm_unload
	[ -z "$(prog_ids_at "$TCG/b")" ]
}
