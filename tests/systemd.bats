#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# The systemd unit: "make install" puts it where systemdunitdir says, with
# the loader's installed path; systemd-analyze verify accepts the installed
# unit (and its man pages); it is ordered before everything that binds; and
# its ExecStart over programs that are loaded already (as the dracut hook
# leaves them) is a reload without a gap, its ExecStop an unload except
# within a restart, which thus has no gap either.
# systemd need not run: the unit is verified offline and its commands are
# run here as systemd would run them.

bats_require_minimum_version 1.7.0
load test_helper

top=$SCM_TOP
unit_rel=usr/lib/systemd/system/same-cgroup-mark.service

setup_file() {
	# systemd-analyze comes with Debian's systemd package; try to get it.
	if ! command -v systemd-analyze >/dev/null 2>&1 &&
		[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			systemd >/dev/null 2>&1 || true
	fi
}

# Only the test that loads programs sets up cgroups and a namespace.
setup() {
	TCG=
}

teardown() {
	[ -z "$TCG" ] || common_teardown
}

need_systemd_analyze() {
	command -v systemd-analyze >/dev/null 2>&1 ||
		skip "systemd-analyze is not installed and could not be installed"
}

# copy_tree DIR: the source tree's files (tracked or new, as they are in the
# work tree, build outputs left out) copied into DIR.
copy_tree() {
	mkdir -p "$1"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar -cf - --null -T -) | tar -xf - -C "$1"
	[ -f "$1/Makefile" ] && [ -f "$1/systemd/same-cgroup-mark.service" ]
}

# install_tree DEST MAKE-ARGS...: "make install" from a copy of the tree.
install_tree() {
	local dest=$1
	shift
	copy_tree "$BATS_TEST_TMPDIR/tree"
	make --no-print-directory -s -C "$BATS_TEST_TMPDIR/tree" install DESTDIR="$dest" "$@"
}

# verify ROOT UNIT_PATH: systemd-analyze verify on UNIT_PATH inside ROOT, man
# pages looked up in ROOT; prints what it says, fails on any message.  The
# unit's ExecStop runs /bin/sh, which every system has: ROOT gets the host's.
verify() {
	local out rc=0
	[ -e "$1/bin/sh" ] || { mkdir -p "$1/bin" && cp /bin/sh "$1/bin/sh"; }
	out=$(cd / && MANPATH=$1/usr/share/man systemd-analyze verify --root="$1" "$1$2" 2>&1) || rc=$?
	printf '%s' "$out"
	[ "$rc" -eq 0 ] && [ -z "$out" ]
}

# unit_value KEY UNIT: the values of KEY= in UNIT, one line each.
unit_value() {
	sed -n "s/^$1=//p" "$2"
}

# stop_script UNIT DEST: the shell script of UNIT's ExecStop=/bin/sh -c '...'
# with %n expanded as systemd does, and the loader's path under DEST.
stop_script() {
	local v
	v=$(unit_value ExecStop "$1")
	v=${v#"/bin/sh -c '"}
	v=${v%"'"}
	v=${v//%n/same-cgroup-mark.service}
	printf '%s\n' "${v// exec / exec $2}"
}

# install_unit: "make install" into $BATS_TEST_TMPDIR/dest; sets u (the
# installed unit), start (its ExecStart) and stop (its ExecStop script), and
# points the installed loader at this test's cgroup and pin directory
# through the configuration file, as the unit takes no options.
install_unit() {
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	u=$dest/$unit_rel
	start=$dest$(unit_value ExecStart "$u")
	stop=$(stop_script "$u" "$dest")
	export SAME_CGROUP_MARK_LIBDIR=$dest/usr/lib/same-cgroup-mark
	printf 'MASK=%s\nCGROUP=%s\nPIN_DIR=%s\n' "$TEST_MASK" "$TCG" "$PINDIR" >"$SAME_CGROUP_MARK_CONF"
	chmod 0644 "$SAME_CGROUP_MARK_CONF"
}

@test "systemd-analyze verify accepts the installed unit, its loader and its man pages" {
	need_systemd_analyze
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -f "$dest/$unit_rel" ]
	[ "$(stat -c %a "$dest/$unit_rel")" = 644 ]

	run verify "$dest" "/$unit_rel"
	[ "$status" -eq 0 ] || { echo "systemd-analyze verify: $output"; false; }
}

@test "systemd-analyze verify accepts the installed metrics timer and service; the service runs the installed writer" {
	need_systemd_analyze
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	local d=usr/lib/systemd/system
	[ "$(stat -c %a "$dest/$d/same-cgroup-mark-metrics.timer")" = 644 ]
	[ "$(stat -c %a "$dest/$d/same-cgroup-mark-metrics.service")" = 644 ]
	[ "$(unit_value ExecStart "$dest/$d/same-cgroup-mark-metrics.service")" = /usr/lib/same-cgroup-mark/same-cgroup-mark-metrics ]
	[ -x "$dest/usr/lib/same-cgroup-mark/same-cgroup-mark-metrics" ]
	grep -qx 'loader=/usr/sbin/same-cgroup-mark-load' "$dest/usr/lib/same-cgroup-mark/same-cgroup-mark-metrics"
	[ "$(unit_value OnUnitActiveSec "$dest/$d/same-cgroup-mark-metrics.timer")" = 1min ]
	# With default dependencies: the host's targets and slices, next to them.
	local u
	for u in /lib/systemd/system/*.target /lib/systemd/system/*.slice; do
		[ -e "$dest/$d/${u##*/}" ] || cp "$u" "$dest/$d/"
	done
	run verify "$dest" "/$d/same-cgroup-mark-metrics.timer"
	[ "$status" -eq 0 ] || { echo "systemd-analyze verify: $output"; false; }
	run verify "$dest" "/$d/same-cgroup-mark-metrics.service"
	[ "$status" -eq 0 ] || { echo "systemd-analyze verify: $output"; false; }
}

@test "systemd-analyze verify accepts the unit installed where this release's systemd.pc says, as the package installs it" {
	need_systemd_analyze
	# debian/rules asks pkg-config the same: /lib/systemd/system on Debian
	# 12, /usr/lib/systemd/system on Debian 13.
	dir=$(pkg-config --variable=systemdsystemunitdir systemd) ||
		skip "pkg-config finds no systemd.pc (systemd-dev on Debian 13)"
	[[ "$dir" == /* ]]
	grep -q 'pkg-config --variable=systemdsystemunitdir systemd' "$top/debian/rules"
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr libdir=/usr/lib systemdunitdir="$dir"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -f "$dest$dir/same-cgroup-mark.service" ]

	run verify "$dest" "$dir/same-cgroup-mark.service"
	[ "$status" -eq 0 ] || { echo "systemd-analyze verify: $output"; false; }
}

@test "the check is not vacuous: systemd-analyze verify complains about a broken unit or a missing loader" {
	need_systemd_analyze
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	u=$dest/$unit_rel

	cp "$u" "$BATS_TEST_TMPDIR/good"
	sed -i 's/^RemainAfterExit=/RemainAfterExt=/' "$u"
	run verify "$dest" "/$unit_rel"
	[ "$status" -ne 0 ]
	[[ "$output" == *RemainAfterExt* ]] || { echo "$output"; false; }

	cp "$BATS_TEST_TMPDIR/good" "$u"
	rm "$dest/usr/sbin/same-cgroup-mark-load"
	run verify "$dest" "/$unit_rel"
	[ "$status" -ne 0 ]
	[[ "$output" == *same-cgroup-mark-load* ]] || { echo "$output"; false; }
}

@test "the installed unit runs the loader from sbindir: ExecStart and ExecReload load, ExecStop unloads" {
	dest=$BATS_TEST_TMPDIR/dest
	run install_tree "$dest" prefix=/usr sbindir=/opt/scm/sbin
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	u=$dest/$unit_rel
	[ "$(unit_value ExecStart "$u")" = /opt/scm/sbin/same-cgroup-mark-load ]
	[ "$(unit_value ExecReload "$u")" = /opt/scm/sbin/same-cgroup-mark-load ]
	stop=$(unit_value ExecStop "$u")
	[[ "$stop" == "/bin/sh -c '"*"; else exec /opt/scm/sbin/same-cgroup-mark-load -u; fi'" ]] ||
		{ echo "ExecStop=$stop"; false; }
	[ -x "$dest/opt/scm/sbin/same-cgroup-mark-load" ]

	# Nothing but the loader's path differs from the unit in the tree.
	run diff <(grep -v '^Exec' "$top/systemd/same-cgroup-mark.service") <(grep -v '^Exec' "$u")
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the unit is a oneshot that stays active, runs before sysinit, sockets and network-pre, and stops at shutdown" {
	u=$top/systemd/same-cgroup-mark.service
	[ "$(unit_value Type "$u")" = oneshot ]
	[ "$(unit_value RemainAfterExit "$u")" = yes ]
	[ "$(unit_value DefaultDependencies "$u")" = no ]
	[ "$(unit_value Conflicts "$u")" = shutdown.target ]
	before=" $(unit_value Before "$u" | xargs) "
	for t in sysinit.target sockets.target network-pre.target shutdown.target nftables.service; do
		[[ "$before" == *" $t "* ]] || { echo "Before=$before lacks $t"; false; }
	done
	[ "$(unit_value Wants "$u")" = network-pre.target ]
	[ "$(unit_value WantedBy "$u")" = sysinit.target ]
	[[ "$(unit_value Documentation "$u")" == *"man:same-cgroup-mark-load(8)"* ]]
	# Nothing that pulls in the default dependencies (basic.target, ...).
	run unit_value After "$u"
	[ -z "$output" ]
	run unit_value Requires "$u"
	[ -z "$output" ]
}

@test "the unit's ExecStart over programs loaded already (as by the dracut hook) reloads without a gap, ExecStop unloads" {
	common_setup
	install_unit
	run unit_value Environment "$u"
	[ -z "$output" ]

	# Loaded early, by the initramfs hook in real life.
	run scm_load
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	early=$(our_ids)
	start_server "$TCG/a" "$NS" 127.0.0.1 0

	# The unit starts while connections are being made.
	connect_round() { tally_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"; }
	# shellcheck disable=SC2086 # $start is a command line
	while_running 3 $start
	[ "$wrong" -eq 0 ]

	# Replaced, not stacked: one instance, four new programs attached.
	now=$(our_ids)
	[ "$(wc -w <<<"$now")" -eq "$SCM_PROGS" ]
	[ "$now" != "$early" ]
	[ "$(prog_ids_at "$TCG")" = "$now" ]
	[ "$(ls "$PINDIR" | grep -c "^g")" -eq 1 ]
	# The listener bound before the unit started is still recognised.
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"

	# A stop that is not part of a restart: here systemctl has no job of the
	# unit to list (or no systemd to ask), as for "systemctl stop".
	run sh -c "$stop"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -z "$(prog_ids_at "$TCG")" ]
	[ ! -e "$PINDIR" ]
	expect_mark 0x00000000 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "the unit's ExecStop within a restart keeps the programs attached; ExecStart then replaces them without a gap" {
	common_setup
	install_unit
	run $start
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	before=$(our_ids)
	start_server "$TCG/a" "$NS" 127.0.0.1 0

	# systemctl as PID 1 answers while the stop half of "systemctl restart"
	# runs (the job keeps the type "restart" until the stop has finished;
	# the guest of "make check-system" runs the real one).  This stand-in
	# records how it was asked.
	mkdir "$BATS_TEST_TMPDIR/bin"
	cat >"$BATS_TEST_TMPDIR/bin/systemctl" <<-'EOF'
	#!/bin/sh
	printf '%s\n' "$*" >>"${0%/*}/asked"
	[ "$*" = "list-jobs --no-legend same-cgroup-mark.service" ] &&
		echo "1207 same-cgroup-mark.service restart running"
	EOF
	chmod 0755 "$BATS_TEST_TMPDIR/bin/systemctl"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run sh -c "$stop"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" == *"programs stay attached"* ]] || { echo "$output"; false; }
	[ "$(cat "$BATS_TEST_TMPDIR/bin/asked")" = "list-jobs --no-legend same-cgroup-mark.service" ]
	[ "$(our_ids)" = "$before" ]
	[ "$(prog_ids_at "$TCG")" = "$before" ]
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"

	# The start half: replaced in place, the listener still known.
	run $start
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ "$(our_ids)" != "$before" ]
	[ "$(prog_ids_at "$TCG")" = "$(our_ids)" ]
	expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"

	# A plain stop job (or none) unloads.
	cat >"$BATS_TEST_TMPDIR/bin/systemctl" <<-'EOF'
	#!/bin/sh
	echo "1208 same-cgroup-mark.service stop running"
	EOF
	PATH=$BATS_TEST_TMPDIR/bin:$PATH run sh -c "$stop"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -z "$(prog_ids_at "$TCG")" ]
	[ ! -e "$PINDIR" ]
}
