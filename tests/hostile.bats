#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Hostile configuration files (issue 6, item 5), beyond what usage.bats
# covers (shell code, permissions, bad values, paths): very long lines,
# binary junk, NUL bytes and CR-LF line ends.  A file that is not a sane
# text file is refused with exit 2 and one error line naming it, quickly,
# and changes nothing; nothing in it is ever executed.

bats_require_minimum_version 1.7.0
load test_helper

# Seconds a refusal may take, even for a 1 MB line (about 1 s here).
LIMIT=10

# conf_bytes PYTHON-EXPR: write the bytes of the Python expression (with
# PWN, the path of a file that must never be created) as the test's
# configuration file, root-owned, 0644.
conf_bytes() {
	PWN=$PWN python3 -c '
import os, random, sys
PWN = os.environ["PWN"].encode()
data = eval(sys.argv[1])
open(sys.argv[2], "wb").write(data)
' "$1" "$SAME_CGROUP_MARK_CONF"
	chown 0:0 "$SAME_CGROUP_MARK_CONF"
	chmod 0644 "$SAME_CGROUP_MARK_CONF"
}

setup() {
	common_setup
	PWN=$BATS_TEST_TMPDIR/PWNED
	NOCONF=$BATS_TEST_TMPDIR/no-such.conf
	# The loader as a command (not a shell function), for timeout(1),
	# which kills the loader's whole process group when time is up.
	LOADER=(dash "$SCM_LOADER")
}

teardown() {
	# teardown's unload must not read the hostile file.
	rm -rf -- "$SAME_CGROUP_MARK_CONF"
	common_teardown
}

# state: what a refused call must leave as it was.
state() {
	local rc=0
	snapshot
	SAME_CGROUP_MARK_CONF=$NOCONF scm_status 2>&1 | sed '/^counters:/,$d' || rc=$?
	echo "status exit $rc"
	cat "$SAME_CGROUP_MARK_RUNDIR/mask.nft" 2>&1
}

# refused WHAT CMD...: CMD, with the test's configuration, exits 2 within
# LIMIT seconds with one line on stderr naming NEEDLE (default: the
# configuration file; "A|B": A or B), prints nothing on stdout, and changes
# nothing; nothing in the file was executed.
refused() {
	local what=$1 before after t0 t1 needle=${NEEDLE:-$SAME_CGROUP_MARK_CONF} n named=
	shift
	before=$(state)
	t0=$SECONDS
	run --separate-stderr timeout "$LIMIT" "$@"
	t1=$SECONDS
	if [ "$status" -eq 124 ]; then
		echo "$what: still running after $LIMIT s (killed)" >&2
		return 1
	fi
	if [ "$status" -ne 2 ]; then
		echo "$what: exit $status, expected 2; stdout: '${output:0:300}'; stderr: '${stderr:0:300}'" >&2
		return 1
	fi
	local IFS='|'
	for n in $needle; do
		[[ "$stderr" != *"$n"* ]] || named=1
	done
	unset IFS
	if [ -n "$output" ] || [ "${#stderr_lines[@]}" -ne 1 ] || [ -z "$named" ]; then
		echo "$what: expected one error line with '$needle' and no output; stdout: '${output:0:300}'; stderr (${#stderr_lines[@]} lines): '${stderr:0:300}'" >&2
		return 1
	fi
	after=$(state)
	if [ "$before" != "$after" ]; then
		printf '%s: the host changed:\n--- before\n%s\n--- after\n%s\n' "$what" "$before" "$after" >&2
		return 1
	fi
	if ls "$PWN"* >/dev/null 2>&1; then
		echo "$what: something in the file was executed" >&2
		return 1
	fi
	echo "$what: refused in $((t1 - t0)) s"
}

# refused_everywhere WHAT: the configuration is refused by a load with
# nothing loaded (which creates nothing), and by a load and a status call
# with an instance loaded (which keeps marking with its own mask).  The
# file is read the same way for every action, before anything else.
refused_everywhere() {
	local out
	out=$(SAME_CGROUP_MARK_CONF=$NOCONF scm_unload 2>&1) || { echo "$out" >&2; return 1; }
	refused "$1 (load, nothing loaded)" "${LOADER[@]}" -d "$PINDIR" -c "$TCG" || return 1
	[ ! -e "$PINDIR" ] || { echo "$1: $PINDIR created" >&2; return 1; }
	out=$(SAME_CGROUP_MARK_CONF=$NOCONF scm_load -m 0x10 2>&1) || { echo "$out" >&2; return 1; }
	refused "$1 (load)" "${LOADER[@]}" -d "$PINDIR" -c "$TCG" -m 0x20 || return 1
	refused "$1 (status)" "${LOADER[@]}" -d "$PINDIR" -s || return 1
	SAME_CGROUP_MARK_CONF=$NOCONF exactly_one_instance 0x00000010
}

# loaded_good: an instance with mask 0x10, loaded without the configuration.
loaded_good() {
	local out
	out=$(SAME_CGROUP_MARK_CONF=$NOCONF scm_load -m 0x10 2>&1) || { echo "$out" >&2; return 1; }
}

@test "a configuration line of 1 MB is refused quickly, whatever the key" {
	conf_bytes "b'MASK=' + b'A' * (1 << 20) + b'\$(touch ' + PWN + b')\n'"
	refused_everywhere "1 MB MASK"
	local v bad=0
	for v in "b'LEVEL=' + b'9' * (1 << 20)" "b'FOO=' + b'A' * (1 << 20)" \
		"b'A' * (1 << 20) + b'=0x20'" "b'MASK' + b'=' * (1 << 20)" \
		"b'MASK=0x' + b'0' * (1 << 20) + b'1'"; do
		conf_bytes "$v + b'\n'"
		refused "[$v]" "${LOADER[@]}" -d "$PINDIR" -s || bad=$((bad + 1))
	done
	[ "$bad" -eq 0 ]
}

@test "a CGROUP or PIN_DIR far longer than any path is refused quickly" {
	loaded_good
	local bad=0 long
	# In the configuration (refused as a line or as a path).
	conf_bytes "b'CGROUP=/' + b'a' * (1 << 20) + b'\n'"
	NEEDLE="$SAME_CGROUP_MARK_CONF|cgroup directory" \
		refused "1 MB CGROUP" "${LOADER[@]}" -d "$PINDIR" -m 0x20 || bad=$((bad + 1))
	conf_bytes "b'PIN_DIR=/sys/fs/bpf/' + b'a/' * (1 << 19) + b'\n'"
	NEEDLE="$SAME_CGROUP_MARK_CONF|pin directory" \
		refused "1 MB PIN_DIR" "${LOADER[@]}" -c "$TCG" || bad=$((bad + 1))
	# On the command line (an argument may be up to 128 KB long).  Many
	# path components: a loader that spends a process on each one takes
	# minutes.
	rm -f "$SAME_CGROUP_MARK_CONF"
	long=/sys/fs/bpf/$(printf 'a/%.0s' $(seq 1 30000))
	NEEDLE="pin directory" refused "60 KB -d" "${LOADER[@]}" -c "$TCG" -d "$long" || bad=$((bad + 1))
	NEEDLE="pin directory" refused "60 KB -d, status" "${LOADER[@]}" -s -d "$long" || bad=$((bad + 1))
	long=$TCG/$(printf 'a/%.0s' $(seq 1 30000))
	NEEDLE="cgroup directory" refused "60 KB -c" "${LOADER[@]}" -d "$PINDIR" -c "$long" || bad=$((bad + 1))
	[ ! -e /sys/fs/bpf/a ]
	SAME_CGROUP_MARK_CONF=$NOCONF exactly_one_instance 0x00000010
	[ "$bad" -eq 0 ]
}

@test "a configuration line padded with 1 MB of blanks is refused quickly" {
	conf_bytes "b' ' * (1 << 20) + b'MASK=0x20' + b' ' * (1 << 20) + b'\n'"
	refused_everywhere "1 MB of blanks around MASK=0x20"
	conf_bytes "b'MASK=0x20' + b'\t' * (1 << 20) + b'\n'"
	refused_everywhere "1 MB of tabs after MASK=0x20"
}

@test "binary junk as configuration is refused and never executed" {
	# Deterministic junk: every byte value, shell metacharacters and
	# command substitutions among them.
	conf_bytes "bytes(random.Random(6).randrange(256) for _ in range(8192)) + b'\n\$(touch ' + PWN + b')\n\`touch ' + PWN + b'\`\n'"
	refused_everywhere "random bytes"
	conf_bytes "bytes(range(256)) * 4"
	refused_everywhere "all byte values"
	# A valid line first, then junk: the line of the junk is named.
	conf_bytes "b'MASK=0x20\n' + bytes(range(1, 256)).replace(b'\n', b'') + b'\n'"
	refused_everywhere "junk after a valid line"
	[[ "$stderr" == *"$SAME_CGROUP_MARK_CONF:2:"* ]]
	# A binary someone copied over the file: the BPF object itself.
	cp "$SAME_CGROUP_MARK_LIBDIR/same-cgroup-mark.bpf.o" "$SAME_CGROUP_MARK_CONF"
	chmod 0644 "$SAME_CGROUP_MARK_CONF"
	refused_everywhere "an ELF object"
}

@test "a configuration with NUL bytes is refused, not read with the NULs dropped" {
	# Read without its NUL, "MASK=0x2<NUL>0" would be MASK=0x20.
	conf_bytes "b'MASK=0x2\x000\n'"
	refused_everywhere "NUL inside a value"
	conf_bytes "b'MASK=0x20\n\x00\x00\x00\n'"
	refused_everywhere "a line of NULs"
	conf_bytes "b'MASK=0x20\x00\$(touch ' + PWN + b')\n'"
	refused_everywhere "NUL before shell code"
	conf_bytes "b'# comment\x00\nMASK=0x20\n'"
	refused_everywhere "NUL in a comment"
}

# CR-LF: the loader strips every white-space character, CR included, from
# both ends of a line, key and value, so a file saved with CR-LF line ends is
# read exactly as the same file with LF line ends.  That is accepted: the
# values are the ones the administrator wrote, nothing else is guessed.
@test "a configuration with CR-LF line ends is read like the same file with LF line ends" {
	conf_bytes "b'# written on another system\r\n\r\nMASK=0x20\r\nLEVEL = 0 \r\n'"
	run --separate-stderr loader -d "$PINDIR" -c "$TCG"
	[ "$status" -eq 0 ] || { echo "exit $status: $stderr" >&2; return 1; }
	exactly_one_instance 0x00000020
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000020 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	# Quotes inside CR-LF lines are still taken off.
	conf_bytes "b'MASK=\"0x40\"\r\n'"
	run --separate-stderr loader -d "$PINDIR" -c "$TCG"
	[ "$status" -eq 0 ]
	exactly_one_instance 0x00000040
	# A CR inside a value stays part of it: refused.
	conf_bytes "b'MASK=0x2\r0\r\n'"
	refused "CR inside a value" "${LOADER[@]}" -d "$PINDIR" -s
	conf_bytes "b'MASK=0x20\r\$(touch ' + PWN + b')\r\n'"
	refused "CR before shell code" "${LOADER[@]}" -d "$PINDIR" -s
}
