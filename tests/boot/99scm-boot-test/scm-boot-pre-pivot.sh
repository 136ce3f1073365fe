#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# pre-pivot hook of the dracut module "scm-boot-test", for the systemd
# initramfs: run the guest checks here, in dracut-pre-pivot.service, the
# last hook before switch_root (which needs a real root with an init).
# scm-boot-check prints the verdict on the console and powers off.  In the
# shell initramfs it runs after switch_root instead, as init.
# Sourced by dracut: returns, never exits.

if [ -n "${DRACUT_SYSTEMD-}" ]; then
	/usr/bin/scm-boot-check </dev/null >/dev/console 2>&1
fi
