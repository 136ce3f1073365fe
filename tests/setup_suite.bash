# SPDX-License-Identifier: GPL-2.0-only
# Runs once around the whole suite: the loader mounts bpffs on /sys/fs/bpf
# when it is missing; put the host back as it was.  The facts of the host
# every test needs (the cgroup v2 mount, the mask of a host instance) are
# found here once, not in each of the suite's tests.

setup_suite() {
	# test_helper.bash finds them when these are unset.
	unset SCM_SUITE_CGROOT SCM_SUITE_HOST_MASK
	# shellcheck source=test_helper.bash source-path=SCRIPTDIR
	. "${BASH_SOURCE[0]%/*}/test_helper.bash"
	SCM_SUITE_CGROOT=$CGROOT
	SCM_SUITE_HOST_MASK=$HOST_MASK
	export SCM_SUITE_CGROOT SCM_SUITE_HOST_MASK
	BPFFS_WAS_MOUNTED=
	if [ "$(stat -f -c %t /sys/fs/bpf 2>/dev/null)" = cafe4a11 ]; then
		BPFFS_WAS_MOUNTED=1
	fi
	export BPFFS_WAS_MOUNTED
}

teardown_suite() {
	[ -n "$BPFFS_WAS_MOUNTED" ] && return 0
	[ "$(stat -f -c %t /sys/fs/bpf 2>/dev/null)" = cafe4a11 ] || return 0
	# Only the kernel's own preloaded iterators may be left in it.
	local f
	for f in /sys/fs/bpf/*; do
		case ${f##*/} in
		maps.debug | progs.debug) ;;
		*) return 0 ;;
		esac
	done
	umount /sys/fs/bpf
}
