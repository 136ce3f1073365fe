#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# dracut module "scm-boot-test": the guest side of "make check-boot".  Not
# installed by "make install"; tests/boot/run copies it, with a static
# scm-probe beside this file, into the module directory dracut reads.
#
# The guest boots with root=tmpfs.  In the shell initramfs, the mount hook
# fills that tmpfs with a copy of the initramfs, dracut switches root to it
# as on a real machine, and scm-boot-check runs there as init (PID 1).  In
# the systemd initramfs, scm-boot-check runs from the pre-pivot hook, just
# before switch_root.  It checks what the same-cgroup-mark hook left
# behind, prints one verdict line on the console and powers off.
# shellcheck disable=SC2154 # moddir: set by dracut

# called by dracut
check() {
	return 255
}

# called by dracut
depends() {
	echo same-cgroup-mark
	return 0
}

# called by dracut
install() {
	inst_multiple cp ip sleep uname
	inst_multiple -o journalctl
	inst_simple "$moddir/scm-probe" /usr/bin/scm-probe
	inst_script "$moddir/scm-boot-check" /usr/bin/scm-boot-check
	inst_hook cmdline 90 "$moddir/scm-boot-cmdline.sh"
	inst_hook mount 90 "$moddir/scm-boot-root.sh"
	inst_hook pre-pivot 99 "$moddir/scm-boot-pre-pivot.sh"
}
