#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# same-cgroup-mark-load -s: what is loaded, from the kernel's own state.

load test_helper
bats_require_minimum_version 1.7.0

@test "status of a loaded instance shows the mask, cgroup, pin dir and four attached programs, exit 0" {
	run -0 scm_load -m 0xabc
	run scm_status
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "$output" == *"state:    loaded"* ]]
	[[ "$output" == *"mask:     0x00000abc"* ]]
	[[ "$output" == *"cgroup:   $TCG"$'\n'* ]]
	[[ "$output" == *"pin dir:  $PINDIR"$'\n'* ]]
	local h id
	for h in bind4:cgroup_inet4_bind bind6:cgroup_inet6_bind \
		connect4:cgroup_inet4_connect connect6:cgroup_inet6_connect; do
		id=$(bpftool prog show pinned "$PINDIR"/g1/scm_"${h%%:*}" | sed -n '1s/:.*//p')
		[ -n "$id" ]
		echo "$output" | grep -Eq "^  ${h%%:*} +id $id +${h#*:} +attached$"
	done
}

@test "status reads the mask from the loaded object, not from the configuration" {
	run -0 scm_load -m 0x7
	printf 'MASK=0x99\n' >"$SAME_CGROUP_MARK_CONF"
	run -0 scm_status
	[[ "$output" == *"mask:     0x00000007"* ]]
}

@test "status when nothing is loaded says so and exits 3" {
	run -3 scm_status
	[[ "$output" == *"not loaded"* ]]
	[ ! -e "$PINDIR" ]
}

@test "status exits 1 and names the program when one was detached behind its back" {
	run -0 scm_load
	bpftool cgroup detach "$TCG" cgroup_inet6_connect pinned "$PINDIR"/g1/scm_connect6
	run scm_status
	echo "$output"
	[ "$status" -eq 1 ]
	[[ "$output" == *"partly loaded"* ]]
	echo "$output" | grep -Eq '^  connect6 +id [0-9]+ +cgroup_inet6_connect +NOT attached$'
	# A load repairs it.
	run -0 scm_load
	run -0 scm_status
}

@test "status after an unload exits 3" {
	run -0 scm_load
	run -0 scm_unload
	run -3 scm_status
}

@test "without -m or a configuration the loaded mask is 0x40000000" {
	run -0 loader -d "$PINDIR" -c "$TCG"
	run -0 scm_status
	[[ "$output" == *"mask:     0x40000000"$'\n'* ]]
}
