#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Unloading: our programs and pins go, nothing else does.

bats_require_minimum_version 1.7.0
load test_helper

@test "unload detaches the four programs, removes the pins and stops the marking" {
	run scm_load
	[ "$status" -eq 0 ]
	local ids
	ids=$(our_ids)
	[ "$(wc -w <<<"$ids")" -eq "$SCM_PROGS" ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run scm_unload
	[ "$status" -eq 0 ]
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
	run scm_unload
	[ "$status" -eq 0 ]
	[[ "$output" == *"not loaded"* ]]
	[ ! -e "$PINDIR" ]
	run scm_unload
	[ "$status" -eq 0 ]
}

@test "unload leaves programs it did not load attached, here and in child cgroups" {
	load_foreign "/sys/fs/bpf/${TID}f"
	bpftool cgroup attach "$TCG" cgroup_inet4_connect pinned "/sys/fs/bpf/${TID}f/foreign_connect4" multi
	bpftool cgroup attach "$TCG" cgroup_inet6_bind pinned "/sys/fs/bpf/${TID}f/foreign_bind6" multi
	bpftool cgroup attach "$TCG/a" cgroup_inet4_connect pinned "/sys/fs/bpf/${TID}f/foreign_connect4" multi
	local f fa
	f=$(prog_ids_at "$TCG")
	fa=$(prog_ids_at "$TCG/a")
	run scm_load
	[ "$status" -eq 0 ]
	run scm_unload
	[ "$status" -eq 0 ]
	[ "$(prog_ids_at "$TCG")" = "$f" ]
	[ "$(prog_ids_at "$TCG/a")" = "$fa" ]
	[ -e "/sys/fs/bpf/${TID}f/foreign_connect4" ]
}

@test "unload leaves another pin directory's instance loaded" {
	# shellcheck disable=SC2034 # read by no_stray_pins
	EXTRA_PINS="/sys/fs/bpf/${TID}o"
	run scm_load
	[ "$status" -eq 0 ]
	run loader -d "/sys/fs/bpf/${TID}o" -c "$TCG/a" -m 0x1
	[ "$status" -eq 0 ]
	local other
	other=$(prog_ids_at "$TCG/a")
	run scm_unload
	[ "$status" -eq 0 ]
	[ "$(prog_ids_at "$TCG/a")" = "$other" ]
	run loader -d "/sys/fs/bpf/${TID}o" -s
	[ "$status" -eq 0 ]
	run loader -d "/sys/fs/bpf/${TID}o" -u
	[ "$status" -eq 0 ]
	[ -z "$(prog_ids_at "$TCG/a")" ]
}

@test "an unload that fails halfway restores the instance" {
	run scm_load
	[ "$status" -eq 0 ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local before
	before=$(snapshot)
	BPFTOOL=$(failing_bpftool 'cgroup detach*' 3) run --separate-stderr scm_unload
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"injected failure"* ]]
	[ "$(snapshot)" = "$before" ]
	run scm_status
	[ "$status" -eq 0 ]
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "unload removes the instance of the cgroup it was loaded for, whatever -c says now" {
	run loader -d "$PINDIR" -c "$TCG/b"
	[ "$status" -eq 0 ]
	[ -n "$(prog_ids_at "$TCG/b")" ]
	run scm_unload
	[ "$status" -eq 0 ]
	[ -z "$(prog_ids_at "$TCG/b")" ]
}
