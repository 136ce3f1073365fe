#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The loader's command line and configuration file: option parsing, mask
# syntax, the KEY=VALUE configuration, pin and cgroup directory checks,
# running as non-root and without bpftool.  Every refused call must leave
# the host exactly as it was.

bats_require_minimum_version 1.7.0
load test_helper

BAD_MASKS=('' 0 0x0 00000000 0x 123456789 0x123456789 xyz 0xg1 -1 -0x1 ' 1' '1 ' '1 2')

# A configuration path that never exists: loads and status calls that must
# not see the test's (possibly broken) configuration file use it.
no_conf() {
	echo "$BATS_TEST_TMPDIR/no-such.conf"
}

# write_conf LINE...: the test's configuration file, root-owned and 0644.
write_conf() {
	printf '%s\n' "$@" >"$SAME_CGROUP_MARK_CONF"
	chown 0:0 "$SAME_CGROUP_MARK_CONF"
	chmod 0644 "$SAME_CGROUP_MARK_CONF"
}

# expect_error CODE NEEDLE... -- CMD...: CMD exits CODE, prints nothing on
# stdout and its stderr contains every NEEDLE.  For CODE 2 (usage or
# configuration error) stderr must be exactly one line.
expect_error() {
	local code=$1 n
	shift
	local needles=()
	while [ "$1" != -- ]; do
		needles+=("$1")
		shift
	done
	shift
	run --separate-stderr "$@"
	if [ "$status" -ne "$code" ]; then
		echo "[$*]: exit $status, expected $code; stdout: '$output'; stderr: '$stderr'" >&2
		return 1
	fi
	if [ -n "$output" ]; then
		echo "[$*]: unexpected stdout: '$output'" >&2
		return 1
	fi
	if [ "$code" -eq 2 ] && [ "${#stderr_lines[@]}" -ne 1 ]; then
		echo "[$*]: expected exactly one line on stderr, got ${#stderr_lines[@]}: '$stderr'" >&2
		return 1
	fi
	for n in "${needles[@]}"; do
		if [[ "$stderr" != *"$n"* ]]; then
			echo "[$*]: stderr '$stderr' does not contain '$n'" >&2
			return 1
		fi
	done
}

# snapshot: everything a loader call could change for this test.
snapshot() {
	local rc=0
	echo "our ids: $(our_ids)"
	echo "attached to TCG: $(prog_ids_at "$TCG")"
	echo "attached to TCG/a: $(prog_ids_at "$TCG/a")"
	ls -R "$PINDIR" 2>&1
	SAME_CGROUP_MARK_CONF=$(no_conf) scm_status 2>&1 || rc=$?
	echo "status exit $rc"
}

# load_good: a good instance with mask 0x10, loaded without the test's
# configuration file.
load_good() {
	local out
	out=$(SAME_CGROUP_MARK_CONF=$(no_conf) scm_load -m 0x10 2>&1) || {
		echo "good load failed: $out" >&2
		return 1
	}
	out=$(snapshot)
	[[ "$out" == *"mask:     0x00000010"* ]] || {
		echo "good load not in status: $out" >&2
		return 1
	}
}

# nothing_here: no pin directory, nothing attached to the test's cgroup.
nothing_here() {
	if [ -e "$PINDIR" ]; then
		echo "$PINDIR was created: $(ls -R "$PINDIR")" >&2
		return 1
	fi
	if [ -n "$(prog_ids_at "$TCG")" ]; then
		echo "programs attached to $TCG: $(prog_ids_at "$TCG")" >&2
		return 1
	fi
}

# refused_changing_nothing NEEDLE... -- CMD...: CMD is a usage or
# configuration error (expect_error 2) both when nothing is loaded (and
# then creates no pin directory) and when an instance is loaded (which then
# stays exactly as it was).  Checks the state it finds first, then the
# other one, and leaves that other one: called in a row, the calls
# alternate and each changes the state once (a load costs seconds under
# QEMU's emulation, make check-kernels).
refused_changing_nothing() {
	if [ -e "$PINDIR" ]; then
		refused_when_loaded "$@"
		SAME_CGROUP_MARK_CONF=$(no_conf) scm_unload >/dev/null
		refused_when_unloaded "$@"
	else
		refused_when_unloaded "$@"
		load_good
		refused_when_loaded "$@"
	fi
}

refused_when_unloaded() {
	nothing_here
	expect_error 2 "$@"
	nothing_here
}

refused_when_loaded() {
	local before after
	before=$(snapshot)
	expect_error 2 "$@"
	after=$(snapshot)
	if [ "$before" != "$after" ]; then
		printf 'state changed by a refused call:\n--- before\n%s\n--- after\n%s\n' "$before" "$after" >&2
		return 1
	fi
}

# status_mask: the mask scm_status reports (config ignored).
status_mask() {
	SAME_CGROUP_MARK_CONF=$(no_conf) scm_status | sed -n 's/^mask: *//p'
}

# --- mask ---------------------------------------------------------------

@test "every valid mask spelling loads, is shown as 0x%08x and is the mark applied" {
	# Listeners are recognised when they bind with the programs attached.
	load_good
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local spec v want
	for spec in 40000000:0x40000000 0x1:0x00000001 0XFF:0x000000ff \
		ffffffff:0xffffffff 0x00000001:0x00000001 aBc:0x00000abc; do
		v=${spec%%:*} want=${spec#*:}
		run --separate-stderr scm_load -m "$v"
		[ "$status" -eq 0 ] || { echo "-m $v: exit $status: $stderr" >&2; return 1; }
		[[ "$output" == *"mask $want"* ]] || { echo "-m $v: $output" >&2; return 1; }
		[ "$(status_mask)" = "$want" ] || { echo "-m $v: status mask $(status_mask), expected $want" >&2; return 1; }
		expect_mark "$want" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
		expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	done
}

@test "an invalid -m mask exits 2 with one error line naming it, loaded or not, and changes nothing" {
	local v before after
	# Every mask in both states, with one load between them, each refusal
	# followed by a look at the state (a load or a snapshot costs seconds
	# under QEMU's emulation, make check-kernels).
	nothing_here
	for v in "${BAD_MASKS[@]}"; do
		expect_error 2 mask "$v" -- scm_load -m "$v"
		nothing_here
		# Without -c (default cgroup): still refused before anything.
		expect_error 2 mask "$v" -- loader -d "$PINDIR" -m "$v"
		nothing_here
	done
	load_good
	before=$(snapshot)
	for v in "${BAD_MASKS[@]}"; do
		expect_error 2 mask "$v" -- scm_load -m "$v"
		after=$(snapshot)
		[ "$after" = "$before" ] || { printf -- '-m %s changed the state:\n%s\n' "$v" "$after"; false; }
		expect_error 2 mask "$v" -- loader -d "$PINDIR" -m "$v"
		after=$(snapshot)
		[ "$after" = "$before" ] || { printf -- '-m %s (no -c) changed the state:\n%s\n' "$v" "$after"; false; }
	done
}

@test "a mask sharing bits with a policy routing rule's fwmark loads, with one warning naming each such rule" {
	ip -n "$NS" rule add pref 1001 fwmark 0x40000/0xff0000 lookup 52
	ip -n "$NS" rule add pref 1002 not fwmark 0xca6c lookup 51820
	ip -n "$NS" -6 rule add pref 1003 fwmark 0x10 lookup 100
	# In the test's network namespace: nsenter keeps the mount namespace,
	# where bpffs and the cgroups are.
	run --separate-stderr nsenter --net="/run/netns/$NS" dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m 0x80050000
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "$stderr" | grep -c .)" -eq 3 ]
	[[ "$stderr" == *"mask 0x80050000 shares bits with IPv4 routing rule 1001 (from all fwmark 0x40000/0xff0000 lookup 52)"* ]]
	[[ "$stderr" == *"IPv4 routing rule 1002 (not from all fwmark 0xca6c lookup 51820)"* ]]
	[[ "$stderr" == *"IPv6 routing rule 1003 (from all fwmark 0x10 lookup 100)"* ]]
	exactly_one_instance 0x80050000
	# A mask outside every rule's mask: no warning.
	ip -n "$NS" rule del pref 1002
	ip -n "$NS" -6 rule del pref 1003
	run --separate-stderr nsenter --net="/run/netns/$NS" dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m 0x80000000
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "an instance survives refused reloads with bad masks and keeps marking with its own mask" {
	load_good
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local v
	for v in "${BAD_MASKS[@]}"; do
		run --separate-stderr scm_load -m "$v"
		[ "$status" -eq 2 ] || { echo "-m '$v': exit $status" >&2; return 1; }
	done
	[ "$(status_mask)" = 0x00000010 ]
	expect_mark 0x00000010 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

# --- options ------------------------------------------------------------

@test "an unknown option exits 2 with one error line and changes nothing" {
	refused_changing_nothing -x -- scm_load -x
	refused_changing_nothing -x -- loader -d "$PINDIR" -u -x
}

@test "an option missing its argument exits 2 with one error line and changes nothing" {
	refused_changing_nothing -m -- scm_load -m
	refused_changing_nothing -c -- loader -d "$PINDIR" -c
	refused_changing_nothing -d -- loader -c "$TCG" -d
}

@test "an extra operand exits 2 with one error line naming it and changes nothing" {
	refused_changing_nothing extra-operand -- scm_load extra-operand
	refused_changing_nothing extra-operand -- scm_unload extra-operand
	refused_changing_nothing extra-operand -- scm_status extra-operand
}

@test "-u together with -s exits 2 with one error line and does not unload" {
	refused_changing_nothing -- loader -d "$PINDIR" -u -s
	refused_changing_nothing -- loader -d "$PINDIR" -s -u
}

@test "-m or -c combined with -u or -s exits 2 with one error line and does not unload" {
	refused_changing_nothing -- loader -d "$PINDIR" -u -m 0x1
	refused_changing_nothing -- loader -d "$PINDIR" -m 0x1 -u
	refused_changing_nothing -- loader -d "$PINDIR" -u -c "$TCG"
	refused_changing_nothing -- loader -d "$PINDIR" -c "$TCG" -u
	refused_changing_nothing -- loader -d "$PINDIR" -s -m 0x1
	refused_changing_nothing -- loader -d "$PINDIR" -s -c "$TCG"
}

@test "-h prints the usage on stdout and exits 0" {
	run --separate-stderr loader -h
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[[ "${lines[0]}" == "Usage: same-cgroup-mark-load "* ]]
	[[ "$output" == *"-m MASK"* ]]
	[[ "$output" == *"-c CGROUP_DIR"* ]]
	[[ "$output" == *"-d PIN_DIR"* ]]
	[[ "$output" == *"-u"* ]]
	[[ "$output" == *"-s"* ]]
	[ ! -e "$PINDIR" ]
}

@test "-V prints the program name and the Makefile's version and exits 0" {
	local version
	version=$(sed -n 's/^VERSION *:= *//p' "$SCM_TOP/Makefile")
	[ -n "$version" ]
	run --separate-stderr loader -V
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
	[ "$output" = "same-cgroup-mark-load $version" ]
	[ ! -e "$PINDIR" ]
}

@test "the loader in a checkout runs directly and through sh, and status from the tree works" {
	# Tracked as mode 755, so that "sudo sbin/same-cgroup-mark-load -s"
	# works from a checkout as the README says.
	[ -x "$SCM_LOADER" ]
	if git -C "$SCM_TOP" rev-parse --git-dir >/dev/null 2>&1; then
		[ "$(git -C "$SCM_TOP" ls-files -s sbin/same-cgroup-mark-load | cut -c1-6)" = 100755 ]
	fi
	run -0 "$SCM_LOADER" -V
	[[ "$output" == "same-cgroup-mark-load "* ]]
	run -3 sh "$SCM_LOADER" -d "$PINDIR" -s
	[[ "$output" == "state:    not loaded"* ]]
	run -3 "$SCM_LOADER" -d "$PINDIR" -s
	[ ! -e "$PINDIR" ]
}

# --- configuration file -------------------------------------------------

@test "the configuration accepts comments, blank lines, surrounding whitespace and quotes" {
	load_good
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local form
	for form in 'MASK=0x20' '  MASK  =  0x20  ' $'\tMASK\t=\t0x20\t' 'MASK="0x20"' \
		"MASK='0x20'" '  MASK = "0x20"  ' $'\tMASK=\t\'0x20\'\t'; do
		write_conf '# same-cgroup-mark test configuration' '' '   ' \
			'# MASK=0x1 is only a comment' "$form" '  # indented comment' ''
		run --separate-stderr loader -d "$PINDIR" -c "$TCG"
		[ "$status" -eq 0 ] || { echo "[$form]: exit $status: $stderr" >&2; return 1; }
		[ "$(status_mask)" = 0x00000020 ] || { echo "[$form]: status mask $(status_mask)" >&2; return 1; }
		expect_mark 0x00000020 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	done
}

@test "only one pair of matching quotes is taken off a configuration value" {
	local v
	for v in '"0x20'"'" "'0x20\"" '""0x20""' "''0x20''" '"0x20' '0x20"' '" 0x20"' "'0x20 '"; do
		write_conf "MASK=$v"
		refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_load
	done
}

@test "a MASK from the configuration beats the default and is the mark applied" {
	write_conf 'MASK=0x20'
	run -0 loader -d "$PINDIR" -c "$TCG"
	[[ "$output" == *"mask 0x00000020"* ]]
	[ "$(status_mask)" = 0x00000020 ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000020 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "-m beats the configuration's MASK, in status and in the mark applied" {
	write_conf 'MASK=0x20'
	run -0 scm_load -m 0x8
	[[ "$output" == *"mask 0x00000008"* ]]
	[ "$(status_mask)" = 0x00000008 ]
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000008 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
}

@test "CGROUP and PIN_DIR from the configuration are honoured without -c and -d" {
	write_conf "CGROUP=$TCG" "PIN_DIR=$PINDIR" 'MASK=0x4'
	run -0 loader
	[[ "$output" == *"cgroup $TCG, pins $PINDIR/g"* ]]
	[ -d "$PINDIR" ]
	run -0 loader -s
	[[ "$output" == *"mask:     0x00000004"$'\n'* ]]
	[[ "$output" == *"cgroup:   $TCG"$'\n'* ]]
	[[ "$output" == *"pin dir:  $PINDIR"$'\n'* ]]
	local ids
	ids=$(our_ids)
	[ "$(echo "$ids" | wc -w)" -eq "$SCM_PROGS" ]
	[ "$(prog_ids_at "$TCG")" = "$ids" ]
	for id in $ids; do
		[[ " $(prog_ids_at "$CGROOT") " != *" $id "* ]]
	done
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000004 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 loader -u
	[ ! -e "$PINDIR" ]
	[ -z "$(prog_ids_at "$TCG")" ]
}

@test "-c and -d beat CGROUP and PIN_DIR from the configuration" {
	local other=/sys/fs/bpf/${TID}x
	EXTRA_PINS="$EXTRA_PINS $other"
	write_conf "CGROUP=$TCG/b" "PIN_DIR=$other"
	run -0 scm_load
	[ ! -e "$other" ]
	[ -z "$(prog_ids_at "$TCG/b")" ]
	[ "$(prog_ids_at "$TCG")" = "$(our_ids)" ]
	run -0 scm_status
	[[ "$output" == *"cgroup:   $TCG"$'\n'* ]]
}

@test "an unknown key in the configuration exits 2 naming the file and line, changing nothing" {
	write_conf '# comment' '' 'FOO=1' 'MASK=0x20'
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:3" FOO -- scm_load
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:3" -- scm_unload
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:3" -- scm_status
}

@test "a configuration line without '=' exits 2 naming the file and line, changing nothing" {
	write_conf 'MASK=0x20' 'CGROUP /tmp'
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:2" -- scm_load
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:2" -- scm_unload
}

@test "a bad MASK in the configuration exits 2 naming the file and the value, changing nothing" {
	local v
	for v in "${BAD_MASKS[@]}"; do
		[ -n "$v" ] || continue # the empty MASK has its own test
		echo "config: MASK=\"$v\""
		write_conf '# comment' '' "MASK=\"$v\""
		refused_changing_nothing "$SAME_CGROUP_MARK_CONF" "$v" -- scm_load
	done
}

@test "a bad MASK in the configuration is reported with its line number" {
	write_conf '# comment' '' 'MASK=xyz'
	expect_error 2 "$SAME_CGROUP_MARK_CONF:3" xyz -- scm_load
	nothing_here
}

@test "an empty MASK in the configuration is refused, not replaced by the default" {
	write_conf 'MASK='
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:1" -- scm_load
	write_conf '# comment' 'MASK=""'
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF:2" -- scm_load
}

@test "an unreadable configuration (a directory) exits 2 naming it, changing nothing" {
	mkdir "$SAME_CGROUP_MARK_CONF"
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_load
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_unload
}

@test "a configuration writable by group or others exits 2 naming it, changing nothing" {
	local mode
	for mode in 0664 0646 0666 0620 0602; do
		write_conf 'MASK=0x20'
		chmod "$mode" "$SAME_CGROUP_MARK_CONF"
		refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_load
		refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_unload
	done
}

@test "a configuration not owned by root exits 2 naming it, changing nothing" {
	write_conf 'MASK=0x20'
	chown 65534 "$SAME_CGROUP_MARK_CONF"
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_load
	refused_changing_nothing "$SAME_CGROUP_MARK_CONF" -- scm_unload
}

@test "the configuration is read as data, never executed" {
	local pwn=$BATS_TEST_TMPDIR/PWNED entry line
	# KIND|LINE: the options given are those the line does not set, as a
	# flag would win over it.
	for entry in "m|MASK=\$(touch $pwn.1)" "m|MASK=\`touch $pwn.2\`" "m|MASK=0x1; touch $pwn.3" \
		"m|MASK=\"\$(touch $pwn.4)\"" "m|MASK=0x1 && touch $pwn.5" "m|MASK=0x1 | touch $pwn.6" \
		"c|CGROUP=\$(touch $pwn.7)" "c|CGROUP=\`touch $pwn.8\`" "c|CGROUP=$TCG; touch $pwn.9" \
		"d|PIN_DIR=\$(touch $pwn.10)" "d|PIN_DIR=\`touch $pwn.11\`" "d|PIN_DIR=$PINDIR; touch $pwn.12" \
		"m|\$(touch $pwn.13)=1" "m|touch $pwn.14" "m|MASK=0x1
touch $pwn.15"; do
		line=${entry#?|}
		echo "config: $line"
		write_conf "$line"
		case $entry in
		m\|*) refused_changing_nothing -- scm_load ;;
		c\|*) refused_changing_nothing -- loader -d "$PINDIR" ;;
		d\|*) refused_changing_nothing -- loader -c "$TCG" ;;
		esac
		if ls "$pwn".* >/dev/null 2>&1; then
			echo "config line [$line] was executed: $(ls "$pwn".*)" >&2
			return 1
		fi
	done
}

# --- pin directory and cgroup -------------------------------------------

@test "a pin directory that is relative, has a dot or a blank, or is not on bpffs exits 2, creating nothing" {
	local d
	for d in "sys/fs/bpf/$TID" "$TID" "/sys/fs/bpf/$TID.d" "/sys/fs/bpf/../bpf/${TID}y" \
		"/sys/fs/bpf/$TID z" "/sys/fs/bpf/${TID}	t" "$BATS_TEST_TMPDIR/pins"; do
		refused_changing_nothing -- loader -c "$TCG" -d "$d"
		refused_changing_nothing -- loader -d "$d" -s
		[ ! -e "$d" ] || { echo "created [$d]" >&2; return 1; }
	done
	[ ! -e "/sys/fs/bpf/${TID}y" ]
	[ ! -e "/sys/fs/bpf/$TID z" ]
}

@test "a bad PIN_DIR in the configuration exits 2, creating nothing" {
	local d
	for d in "sys/fs/bpf/$TID" "/sys/fs/bpf/$TID.d" "$BATS_TEST_TMPDIR/pins"; do
		write_conf "PIN_DIR=$d"
		run --separate-stderr loader -c "$TCG"
		[ "$status" -eq 2 ] || { echo "PIN_DIR=$d: exit $status" >&2; return 1; }
		[ "${#stderr_lines[@]}" -eq 1 ]
		[ ! -e "$d" ]
	done
}

@test "a cgroup that does not exist or is not a cgroup v2 directory exits 2, changing nothing" {
	refused_changing_nothing "$TCG/none" -- scm_load -c "$TCG/none"
	refused_changing_nothing /tmp -- scm_load -c /tmp
	refused_changing_nothing "$TCG/cgroup.procs" -- scm_load -c "$TCG/cgroup.procs"
	[ ! -e "$TCG/none" ]
	local v1
	for v1 in /sys/fs/cgroup/cpu /sys/fs/cgroup/memory /sys/fs/cgroup/systemd; do
		[ -d "$v1" ] && [ "$(stat -f -c %T "$v1")" = cgroupfs ] || continue
		refused_changing_nothing "$v1" -- scm_load -c "$v1"
	done
}

@test "a bad CGROUP in the configuration exits 2, changing nothing" {
	write_conf "CGROUP=/tmp"
	refused_changing_nothing /tmp -- loader -d "$PINDIR"
	write_conf "CGROUP=$TCG/none"
	refused_changing_nothing "$TCG/none" -- loader -d "$PINDIR"
}

# --- privileges and bpftool ---------------------------------------------

# nonroot_loader ARGS...: the loader through dash as uid/gid 65534.
nonroot_loader() {
	setpriv --reuid=65534 --regid=65534 --clear-groups dash "$NONROOT_SCRIPT" "$@"
}

@test "a non-root user is refused with exit 1 for load, unload and status, changing nothing" {
	NONROOT_SCRIPT=$SCM_LOADER
	if ! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$SCM_LOADER"; then
		local dir
		dir=$(mktemp -d /tmp/scm-usage.XXXXXX)
		EXTRA_PINS="$EXTRA_PINS $dir" # removed by teardown
		chmod 0755 "$dir"
		cp "$SCM_LOADER" "$dir/same-cgroup-mark-load"
		cp -r "$SCM_TOP/sbin/lib" "$dir/lib"
		chmod -R go+rX "$dir"
		NONROOT_SCRIPT=$dir/same-cgroup-mark-load
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$NONROOT_SCRIPT"

	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR"
	nothing_here
	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR" -c "$TCG"
	nothing_here

	load_good
	local before after
	before=$(snapshot)
	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR"
	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR" -c "$TCG" -m 0x1
	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR" -u
	expect_error 1 "must be run as root" -- nonroot_loader -d "$PINDIR" -s
	after=$(snapshot)
	[ "$before" = "$after" ]
	run -0 scm_status
	[[ "${lines[0]}" == "state:    loaded" ]]
}

@test "a missing bpftool fails with exit 1 naming bpftool, changing nothing" {
	expect_error 1 bpftool -- env BPFTOOL=/nonexistent dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG"
	nothing_here

	load_good
	local before after
	before=$(snapshot)
	expect_error 1 bpftool -- env BPFTOOL=/nonexistent dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m 0x1
	expect_error 1 bpftool -- env BPFTOOL=/nonexistent dash "$SCM_LOADER" -d "$PINDIR" -u
	expect_error 1 bpftool -- env BPFTOOL=/nonexistent dash "$SCM_LOADER" -d "$PINDIR" -s
	after=$(snapshot)
	[ "$before" = "$after" ]
}

# --- the script itself --------------------------------------------------

@test "the loader and its parts are clean POSIX sh: shellcheck -s sh, dash -n and (when installed) checkbashisms" {
	local f parts
	parts=$(ls "$SCM_TOP"/sbin/lib/*.sh)
	[ "$(echo "$parts" | wc -l)" -ge 5 ]
	[ "$(head -n 1 "$SCM_LOADER")" = '#!/bin/sh' ]
	# The loader with the parts it sources (-x), and each part on its own.
	for f in "$SCM_LOADER" $parts; do
		run shellcheck -s sh -x "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output" >&2; return 1; }
		run dash -n "$f"
		[ "$status" -eq 0 ] || { echo "$f: $output" >&2; return 1; }
		[ -z "$output" ]
		if command -v checkbashisms >/dev/null 2>&1; then
			run checkbashisms "$f"
			[ "$status" -eq 0 ] || { echo "$f: $output" >&2; return 1; }
		fi
	done
	# Every part is sourced by the loader.
	for f in $parts; do
		grep -q -x ". \"\$shlibdir/${f##*/}\"" "$SCM_LOADER" || { echo "not sourced: $f" >&2; return 1; }
	done
}
