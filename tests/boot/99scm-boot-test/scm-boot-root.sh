#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# mount hook of the dracut module "scm-boot-test", for the shell
# initramfs: with root=tmpfs, mount a tmpfs on $NEWROOT and copy the
# initramfs into it (everything but the API filesystems, which switch_root
# moves over), so that the initramfs switches root as on a real machine and
# scm-boot-check runs there as init.  In a systemd initramfs, sysroot.mount
# has mounted the tmpfs already and the check runs before switch_root (see
# scm-boot-pre-pivot.sh), so there is nothing to do.
# Sourced by dracut: returns, never exits.

# shellcheck source=/dev/null # dracut-lib.sh is in the image only
type warn >/dev/null 2>&1 || . /lib/dracut-lib.sh

scm_boot_root() {
	mount -t tmpfs -o mode=0755 scm-boot-root "$NEWROOT" || return 1
	for scm_d in /*; do
		case $scm_d in
		/proc | /sys | /dev | /run | /tmp | "$NEWROOT") ;;
		*) cp -a "$scm_d" "$NEWROOT/" || return 1 ;;
		esac
	done
	mkdir -p "$NEWROOT/proc" "$NEWROOT/sys" "$NEWROOT/dev" "$NEWROOT/run" \
		"$NEWROOT/tmp"
}

if [ "${root-}" = tmpfs ] && ! ismounted "$NEWROOT" && ! scm_boot_root; then
	warn "scm-boot-test: cannot make the tmpfs root on $NEWROOT"
fi
unset scm_d
unset -f scm_boot_root
