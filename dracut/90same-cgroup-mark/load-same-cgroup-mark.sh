#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# pre-udev hook of the dracut module "same-cgroup-mark": load the BPF
# programs and attach them at the cgroup v2 root.
#
# Sourced by dracut's init (or by dracut-pre-udev.service in a systemd
# initramfs): it returns, never exits, and a failure is a warning, never a
# reason to stop the boot.
#
# Why pre-udev: it is the earliest hook for actions (cmdline hooks only
# parse the command line) in both the shell and the systemd initramfs, so
# the programs are in place before anything in the initramfs (network root,
# remote unlock) or on the real root binds a socket.  The loader needs nothing that udev, kernel modules or the root
# filesystem provide: bpf(), cgroup BPF and bpffs are built into any kernel
# that can run the programs, and its files are in the image.
#
# What survives switch_root: the attachments (held by the cgroup v2 root, not
# by a process), the pins under /sys/fs/bpf, and /run/same-cgroup-mark (the
# loader's lock and the nftables mask definition).  switch_root moves /sys
# and /run, with the mounts below them, to the real root, so the instance's
# record of its cgroup (/sys/fs/cgroup) stays valid there, and a later load
# on the real root (same-cgroup-mark.service) replaces this instance without
# a gap.

# shellcheck source=/dev/null # dracut-lib.sh is in the image only
type warn >/dev/null 2>&1 || . /lib/dracut-lib.sh

scm_cgroup_dir=/sys/fs/cgroup

# scm_have_cgroup2: is a cgroup v2 hierarchy mounted anywhere?
scm_have_cgroup2() {
	grep -q ' - cgroup2 ' /proc/self/mountinfo
}

# scm_unified_wanted: does the kernel command line leave systemd to its
# default, the unified hierarchy?  systemd.unified_cgroup_hierarchy=0 (or
# no, false, off) asks for the legacy or hybrid layout.
scm_unified_wanted() {
	scm_v=$(getarg systemd.unified_cgroup_hierarchy) || return 0
	case $scm_v in
	0 | [Nn] | [Nn][Oo] | [Ff] | [Ff][Aa][Ll][Ss][Ee] | [Oo][Ff][Ff]) return 1 ;;
	esac
	return 0
}

# scm_mount_cgroup2: make sure a cgroup v2 hierarchy is mounted.
#
# A systemd initramfs has mounted it already.  dracut's shell initramfs
# mounts only /proc, /sys, /dev and /run, so the hook mounts it itself, where
# and as systemd does in unified mode: cgroup2 on /sys/fs/cgroup with
# nosuid,nodev,noexec,nsdelegate,memory_recursiveprot (falling back as
# systemd does on kernels without those options).  switch_root carries the
# mount over to the real root, and systemd, finding a hierarchy mounted
# there, keeps it ("if the hierarchy is already mounted, then follow
# whatever was chosen for it", cg_is_unified_wanted() in systemd) exactly as
# it keeps the one a systemd initramfs hands over.  That would turn a
# requested legacy or hybrid layout into the unified one: when the command
# line asks for that, or /sys/fs/cgroup is already taken, mount nothing and
# leave the load to same-cgroup-mark.service on the real root.
scm_mount_cgroup2() {
	scm_have_cgroup2 && return 0
	if ! scm_unified_wanted; then
		info "same-cgroup-mark: systemd.unified_cgroup_hierarchy asks for legacy cgroups; not mounting cgroup2, not loading in the initramfs"
		return 1
	fi
	if [ ! -d "$scm_cgroup_dir" ]; then
		warn "same-cgroup-mark: $scm_cgroup_dir does not exist (kernel without cgroups?); not loading"
		return 1
	fi
	if awk -v d="$scm_cgroup_dir" '$5 == d { found = 1 } END { exit !found }' /proc/self/mountinfo; then
		warn "same-cgroup-mark: $scm_cgroup_dir is mounted but is not cgroup v2; not loading in the initramfs"
		return 1
	fi
	for scm_opts in nsdelegate,memory_recursiveprot nsdelegate ''; do
		mount -t cgroup2 -o "nosuid,nodev,noexec${scm_opts:+,$scm_opts}" \
			cgroup2 "$scm_cgroup_dir" 2>/dev/null && return 0
	done
	warn "same-cgroup-mark: cannot mount cgroup2 on $scm_cgroup_dir; not loading"
	return 1
}

# scm_load: run the loader; it mounts bpffs on /sys/fs/bpf if needed and
# reads /etc/same-cgroup-mark.conf when the image has one.
scm_load() {
	scm_out=$(/usr/sbin/same-cgroup-mark-load 2>&1)
	scm_rc=$?
	if [ "$scm_rc" -eq 0 ]; then
		printf '%s\n' "$scm_out" | vinfo
		return 0
	fi
	printf '%s\n' "$scm_out" | vwarn
	warn "same-cgroup-mark: loading failed (exit $scm_rc); local connections are not marked until it is loaded on the real root"
	return 1
}

scm_mount_cgroup2 && scm_load

unset scm_cgroup_dir scm_v scm_opts scm_out scm_rc
unset -f scm_have_cgroup2 scm_unified_wanted scm_mount_cgroup2 scm_load
return 0
