#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# The Debian maintainer scripts' decisions, on both paths: with systemd as
# init (through the unit: start, or reload when active, never restart or
# stop on upgrade) and without (the loader directly, policy-rc.d honoured),
# and that no failure to load or unload ever fails the package operation.
# tests/package/run installs the real package (the path without systemd, on
# a host like this one); here each script runs in a private mount namespace
# where /run/systemd/system exists or not as the test wants, and systemctl,
# deb-systemd-invoke and the loader are stand-ins that log their calls.
# Needs root (unshare -m) and shellcheck.

bats_require_minimum_version 1.7.0

top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
scripts="$top/debian/same-cgroup-mark.postinst $top/debian/same-cgroup-mark.prerm $top/debian/same-cgroup-mark.postrm"

setup() {
	[ "$(id -u)" = 0 ] || skip "needs root (unshare -m)"
	stubs=$BATS_TEST_TMPDIR/stubs
	calls=$BATS_TEST_TMPDIR/calls
	mkdir -p "$stubs"
	: >"$calls"
	# systemctl: is-active answers STUB_ACTIVE (0 active, 3 inactive).
	cat >"$stubs/systemctl" <<EOF
#!/bin/sh
echo "systemctl \$*" >>"$calls"
case " \$* " in
*" is-active "*) exit \${STUB_ACTIVE:-3} ;;
esac
exit 0
EOF
	cat >"$stubs/deb-systemd-invoke" <<EOF
#!/bin/sh
echo "deb-systemd-invoke \$*" >>"$calls"
exit \${STUB_INVOKE_RC:-0}
EOF
	# The loader: exits with the next code of STUB_LOADER_RCS (default 0).
	cat >"$stubs/same-cgroup-mark-load" <<EOF
#!/bin/sh
echo "loader \$* conf=\${SAME_CGROUP_MARK_CONF:-}" >>"$calls"
n=\$(grep -c '^loader' "$calls")
set -- \${STUB_LOADER_RCS:-0}
[ "\$n" -le \$# ] || exit 0
shift \$((n - 1))
exit \$1
EOF
	# ischroot answers STUB_CHROOT (0 chroot, 1 not; it says "chroot" in
	# any mount namespace other than PID 1's, as the test's).
	cat >"$stubs/ischroot" <<EOF
#!/bin/sh
echo "ischroot" >>"$calls"
exit \${STUB_CHROOT:-1}
EOF
	# update-initramfs must never run: only its trigger is activated.
	for cmd in update-initramfs dpkg-trigger; do
		printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$calls" >"$stubs/$cmd"
	done
	cat >"$stubs/policy-rc.d" <<EOF
#!/bin/sh
echo "policy-rc.d \$*" >>"$calls"
exit \${STUB_POLICY_RC:-0}
EOF
	chmod 0755 "$stubs"/*
}

# maint SYSTEMD SCRIPT ARGS...: run debian/same-cgroup-mark.SCRIPT with ARGS
# in a private mount namespace with a /run of its own, holding
# /run/systemd/system when SYSTEMD is "systemd", the stand-ins first in
# PATH and as /usr/sbin/same-cgroup-mark-load
# (and /usr/sbin/policy-rc.d when STUB_POLICY_RC is set; the tree's
# initramfs-tools hook as /usr/share/initramfs-tools/hooks/same-cgroup-mark
# when STUB_IRT_HOOK names it).
maint() {
	local systemd=$1 script=$top/debian/same-cgroup-mark.$2
	shift 2
	# shellcheck disable=SC2016 # expanded by the inner sh
	unshare -m --propagation private sh -c '
		stubs=$1 systemd=$2 script=$3
		shift 3
		# A /run of its own: /run/systemd need not exist where systemd
		# does not run.
		mount -t tmpfs scm-test /run && mkdir /run/systemd || exit 99
		[ "$systemd" != systemd ] || mkdir /run/systemd/system || exit 99
		mount -t tmpfs scm-test /usr/sbin || exit 99
		cp "$stubs/same-cgroup-mark-load" /usr/sbin/ || exit 99
		[ -z "${STUB_POLICY_RC:-}" ] || cp "$stubs/policy-rc.d" /usr/sbin/ || exit 99
		# The real initramfs-tools hook, in a /usr/share of its own.
		if [ -n "${STUB_IRT_HOOK:-}" ]; then
			mount -t tmpfs scm-test /usr/share &&
				mkdir -p /usr/share/initramfs-tools/hooks &&
				cp "$STUB_IRT_HOOK" /usr/share/initramfs-tools/hooks/same-cgroup-mark || exit 99
		fi
		PATH=$stubs:$PATH exec sh "$script" "$@"
	' sh "$stubs" "$systemd" "$script" "$@"
}

# No restart and no stop, whatever else was called.
no_restart_no_stop() {
	! grep -E ' (restart|try-restart|stop)( |$)' "$calls"
}

@test "the maintainer scripts pass shellcheck -s sh and dash -n" {
	for f in $scripts; do
		run shellcheck -s sh "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output"; false; }
		run dash -n "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output"; false; }
	done
}

@test "systemd: a first install starts the unit (after a daemon-reload), nothing else" {
	STUB_ACTIVE=3 run maint systemd postinst configure ''
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cat "$calls"
	grep -qx 'systemctl --system daemon-reload' "$calls"
	grep -qx 'deb-systemd-invoke start same-cgroup-mark.service' "$calls"
	! grep -q '^loader' "$calls" || false
	no_restart_no_stop
}

@test "systemd: an upgrade reloads the active unit, never restarts or stops it" {
	STUB_ACTIVE=0 run maint systemd postinst configure 0.0.9
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cat "$calls"
	grep -qx 'deb-systemd-invoke reload same-cgroup-mark.service' "$calls"
	! grep -q 'invoke start' "$calls" || false
	! grep -q '^loader' "$calls" || false
	no_restart_no_stop
}

@test "systemd: an upgrade with the unit inactive starts it (a load over loaded programs is a reload)" {
	STUB_ACTIVE=3 run maint systemd postinst configure 0.0.9
	[ "$status" -eq 0 ]
	grep -qx 'deb-systemd-invoke start same-cgroup-mark.service' "$calls"
	no_restart_no_stop
}

@test "systemd: a unit that fails to start warns and the postinst still succeeds" {
	STUB_ACTIVE=3 STUB_INVOKE_RC=1 run --separate-stderr maint systemd postinst configure ''
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"warning: the BPF programs could not be loaded"* ]] || { echo "$stderr"; false; }
}

@test "systemd: removal stops the unit and unloads directly too; an upgrade touches nothing" {
	run -0 maint systemd prerm remove
	cat "$calls"
	grep -qx 'deb-systemd-invoke stop same-cgroup-mark.service' "$calls"
	grep -qx 'loader -u conf=' "$calls"

	: >"$calls"
	run -0 maint systemd prerm upgrade 0.2.0
	[ ! -s "$calls" ] || { cat "$calls"; false; }
	run -0 maint systemd prerm failed-upgrade 0.2.0
	[ ! -s "$calls" ] || { cat "$calls"; false; }
}

@test "no systemd: install and upgrade run the loader, which replaces what is loaded" {
	run -0 maint none postinst configure ''
	[ "$(grep -v -x ischroot "$calls")" = 'loader  conf=' ]
	: >"$calls"
	run -0 maint none postinst configure 0.0.9
	[ "$(grep -v -x ischroot "$calls")" = 'loader  conf=' ]
}

@test "no systemd: a loader that fails (exit 1 or 2) warns and the postinst still succeeds" {
	for rc in 1 2; do
		: >"$calls"
		STUB_LOADER_RCS=$rc run --separate-stderr maint none postinst configure ''
		[ "$status" -eq 0 ]
		[[ "$stderr" == *"warning: the BPF programs could not be loaded"* ]] || { echo "$stderr"; false; }
	done
}

@test "no systemd: policy-rc.d 101 keeps the postinst from loading, with a message; 0 lets it" {
	STUB_POLICY_RC=101 run --separate-stderr maint none postinst configure ''
	[ "$status" -eq 0 ]
	grep -qx 'policy-rc.d same-cgroup-mark start' "$calls"
	! grep -q '^loader' "$calls" || false
	[[ "$stderr" == *"policy-rc.d forbids"* ]] || { echo "$stderr"; false; }

	: >"$calls"
	STUB_POLICY_RC=0 run maint none postinst configure ''
	[ "$status" -eq 0 ]
	grep -q '^loader' "$calls"
}

@test "no systemd: removal unloads; with a broken configuration it retries ignoring it; a failure never fails the prerm" {
	run -0 maint none prerm remove
	[ "$(grep -v -x ischroot "$calls")" = 'loader -u conf=' ]

	: >"$calls"
	STUB_LOADER_RCS='2 0' run --separate-stderr maint none prerm remove
	[ "$status" -eq 0 ]
	[ "$(grep '^loader' "$calls" | sed -n 2p)" = 'loader -u conf=/nonexistent/same-cgroup-mark.conf' ] || { cat "$calls"; false; }
	[[ "$stderr" == *"ignoring the configuration file"* ]]

	: >"$calls"
	STUB_LOADER_RCS='1' run --separate-stderr maint none prerm remove
	[ "$status" -eq 0 ]
	[[ "$stderr" == *"could not be unloaded"* ]] || { echo "$stderr"; false; }

	: >"$calls"
	STUB_POLICY_RC=101 run maint none prerm remove
	[ "$status" -eq 0 ]
	grep -qx 'loader -u conf=' "$calls"
}

@test "nothing is loaded or unloaded for another root (DPKG_ROOT)" {
	for sd in systemd none; do
		DPKG_ROOT=/srv/chroot run maint "$sd" postinst configure ''
		[ "$status" -eq 0 ]
		DPKG_ROOT=/srv/chroot run maint "$sd" prerm remove
		[ "$status" -eq 0 ]
	done
	[ ! -s "$calls" ] || { cat "$calls"; false; }
}

@test "nothing is loaded or unloaded in a chroot (ischroot), and the postinst says so" {
	for sd in systemd none; do
		STUB_CHROOT=0 run --separate-stderr maint "$sd" postinst configure ''
		[ "$status" -eq 0 ]
		[[ "$stderr" == *"in a chroot: not loading"* ]] || { echo "$stderr"; false; }
		STUB_CHROOT=0 run maint "$sd" prerm remove
		[ "$status" -eq 0 ]
	done
	run grep -v -x ischroot "$calls"
	[ -z "$output" ] || { cat "$calls"; false; }
}

# irt_conf VALUE: an initramfs-tools configuration directory (CONFDIR)
# whose conf.d sets SAME_CGROUP_MARK=VALUE (none: not set at all).
irt_conf() {
	CONFDIR=$BATS_TEST_TMPDIR/initramfs-tools
	mkdir -p "$CONFDIR/conf.d"
	echo 'MODULES=most' >"$CONFDIR/initramfs.conf"
	[ "$1" = none ] || echo "SAME_CGROUP_MARK=$1" >"$CONFDIR/conf.d/same-cgroup-mark"
	export CONFDIR
}

@test "initramfs-tools hook opted in: install, upgrade and removal activate update-initramfs's trigger, never run it" {
	irt_conf y
	export STUB_IRT_HOOK=$top/initramfs-tools/hook
	local old
	for old in "" 0.2.0; do
		: >"$calls"
		run maint none postinst configure ${old:+"$old"}
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		grep -qx 'dpkg-trigger --no-await update-initramfs' "$calls" || { cat "$calls"; false; }
		run ! grep -q '^update-initramfs' "$calls"
	done
	: >"$calls"
	run -0 maint none postrm remove
	grep -qx 'dpkg-trigger --no-await update-initramfs' "$calls"
	run ! grep -q '^update-initramfs' "$calls"
}

@test "initramfs-tools hook not opted in: no trigger on install, upgrade or removal" {
	local v
	export STUB_IRT_HOOK=$top/initramfs-tools/hook
	for v in none n '"yes"'; do
		irt_conf "$v"
		: >"$calls"
		run -0 maint none postinst configure
		run -0 maint none postrm remove
		run ! grep -q -e '^dpkg-trigger' -e '^update-initramfs' "$calls"
	done
}

@test "debian/rules keeps dh_installinitramfs from activating the trigger unconditionally" {
	grep -qx 'override_dh_installinitramfs:' "$top/debian/rules"
	# The recipe is empty: a blank line follows.
	[ -z "$(sed -n '/^override_dh_installinitramfs:$/{n;p;}' "$top/debian/rules")" ]
}

@test "debian/rules keeps dh_installsystemd from starting, restarting or stopping the unit" {
	grep -qE '^[[:space:]]dh_installsystemd .*--no-start' "$top/debian/rules"
	grep -qE '^[[:space:]]dh_installsystemd .*--no-restart-after-upgrade' "$top/debian/rules"
	grep -qE '^[[:space:]]dh_installsystemd .*--no-stop-on-upgrade' "$top/debian/rules"
}
