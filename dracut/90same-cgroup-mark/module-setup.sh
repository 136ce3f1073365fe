#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# dracut module "same-cgroup-mark": load the same-cgroup-mark BPF programs
# from the initramfs, so they are attached at the cgroup v2 root before any
# service of the real root binds a socket.  The hook is
# load-same-cgroup-mark.sh; what survives switch_root is described there.
#
# Opt-in (check returns 255): include it with
#     add_dracutmodules+=" same-cgroup-mark "
# in a file in /etc/dracut.conf.d/, or with "dracut --add same-cgroup-mark".
#
# Sourced by dracut, which provides moddir, hostonly, dracutsysrootdir and
# the inst_* and require_binaries functions.
# shellcheck disable=SC2154 # moddir, hostonly: set by dracut

# "make install" rewrites the next line to the installed loader.
scm_loader=/usr/local/sbin/same-cgroup-mark-load

# Where the loader lives in the initramfs (in PATH, named by the hook).
scm_image_loader=/usr/sbin/same-cgroup-mark-load

# scm_loader_setting NAME: print the value of the line NAME=VALUE in the
# installed loader ("make install" writes default_pkglibdir and
# default_config there; the loader's parts are in pkglibdir), so the module installs exactly what the loader
# will look for.
scm_loader_setting() {
	sed -n "s|^$1=||p" "${dracutsysrootdir-}$scm_loader" | head -n 1
}

# called by dracut
check() {
	require_binaries bpftool "$scm_loader" || return 1
	scm_pkglibdir=$(scm_loader_setting default_pkglibdir)
	if [ -z "$scm_pkglibdir" ] ||
		[ ! -r "${dracutsysrootdir-}$scm_pkglibdir/same-cgroup-mark.bpf.o" ] ||
		[ ! -x "${dracutsysrootdir-}$scm_pkglibdir/scm-set-rodata" ] ||
		[ ! -r "${dracutsysrootdir-}$scm_pkglibdir/instances.sh" ]; then
		dwarn "same-cgroup-mark: BPF object, helper or loader parts missing in '$scm_pkglibdir' (named by $scm_loader)"
		return 1
	fi
	return 255
}

# called by dracut
depends() {
	return 0
}

# called by dracut
install() {
	scm_pkglibdir=$(scm_loader_setting default_pkglibdir)
	scm_config=$(scm_loader_setting default_config)

	# The loader keeps its installed pkglibdir and config path: its parts,
	# the objects and the helper go to the same paths in the image.  The
	# object without kernel BTF reads (kernels without BTF), the iterator
	# object (listeners bound before the load) and the sock_ops object
	# (local addresses other than loopback) are optional for the loader.
	inst_script "$scm_loader" "$scm_image_loader"
	for scm_part in config changes instances listeners status; do
		inst_simple "$scm_pkglibdir/$scm_part.sh"
	done
	inst_simple "$scm_pkglibdir/same-cgroup-mark.bpf.o"
	inst_binary "$scm_pkglibdir/scm-set-rodata"
	for scm_obj in same-cgroup-mark-nobtf.bpf.o same-cgroup-mark-iter.bpf.o same-cgroup-mark-sockops.bpf.o; do
		if [ -e "${dracutsysrootdir-}$scm_pkglibdir/$scm_obj" ]; then
			inst_simple "$scm_pkglibdir/$scm_obj"
		fi
	done

	# bpftool (with its libraries) and every command the loader runs;
	# printf, echo, test, command, getopts and trap are shell builtins.
	inst_multiple bpftool awk cat flock grep id ln ls mkdir mount mv \
		nsenter readlink rm sed sort stat wc

	# The admin's settings belong to this host only.
	if [ -n "$hostonly" ] && [ -n "$scm_config" ] &&
		[ -e "${dracutsysrootdir-}$scm_config" ]; then
		inst_simple -H "$scm_config"
	fi

	inst_hook pre-udev 40 "$moddir/load-same-cgroup-mark.sh"
}
