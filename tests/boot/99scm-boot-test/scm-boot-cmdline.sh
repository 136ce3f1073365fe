#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# cmdline hook of the dracut module "scm-boot-test": accept root=tmpfs in
# the shell initramfs too (the systemd initramfs knows it already: systemd's
# fstab generator mounts a tmpfs on /sysroot).  Sourced by dracut after
# $root is set.

# shellcheck disable=SC2034 # rootok is read by dracut
[ "${root-}" = tmpfs ] && rootok=1
