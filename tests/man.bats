#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# The man pages same-cgroup-mark-load(8) and same-cgroup-mark.conf(5): they
# format without a warning, "make install" puts them in mandir with the
# installed paths and version, and they document every option, exit status,
# setting, environment variable and run-time file the loader has.  Needs
# groff and man-db; no root.

bats_require_minimum_version 1.7.0

top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
loader=$top/sbin/same-cgroup-mark-load
pages='man/same-cgroup-mark-load.8 man/same-cgroup-mark.conf.5'

copy_tree() {
	mkdir -p "$1"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar -cf - --null -T -) | tar -xf - -C "$1"
	[ -f "$1/Makefile" ]
}

# install_tree DEST MAKE-ARGS...
install_tree() {
	local dest=$1
	shift
	copy_tree "$BATS_TEST_TMPDIR/tree"
	make --no-print-directory -s -C "$BATS_TEST_TMPDIR/tree" install DESTDIR="$dest" "$@"
}

# render PAGE: the page as plain text, 80 columns.
render() {
	MANWIDTH=80 MAN_KEEP_FORMATTING='' man -l "$1" 2>/dev/null | col -bx
}

@test "both man pages format without a warning (groff -man -ww, man --warnings)" {
	for p in $pages; do
		run --separate-stderr groff -man -ww -z "$top/$p"
		[ "$status" -eq 0 ] || { echo "$p: $stderr"; false; }
		[ -z "$stderr" ] || { echo "groff $p: $stderr"; false; }
		run --separate-stderr man --warnings -l "$top/$p"
		[ "$status" -eq 0 ] || { echo "$p: $stderr"; false; }
		[ -z "$stderr" ] || { echo "man $p: $stderr"; false; }
		[ -n "$output" ]
	done
}

@test "make install puts the pages in mandir/man8 and man5, naming the installed paths and version, and they still format cleanly" {
	dest=$BATS_TEST_TMPDIR/dest
	version=$(sed -n 's/^VERSION[[:space:]]*:*=[[:space:]]*//p' "$top/Makefile")
	run install_tree "$dest" prefix=/usr libdir=/usr/lib64 sysconfdir=/usr/etc mandir=/opt/man
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	p8=$dest/opt/man/man8/same-cgroup-mark-load.8
	p5=$dest/opt/man/man5/same-cgroup-mark.conf.5
	[ "$(stat -c %a "$p8")" = 644 ]
	[ "$(stat -c %a "$p5")" = 644 ]

	for p in "$p8" "$p5"; do
		run --separate-stderr groff -man -ww -z "$p"
		[ -z "$stderr" ] || { echo "$p: $stderr"; false; }
		text=$(render "$p")
		[[ "$text" == *"/usr/etc/same-cgroup-mark.conf"* ]] || { echo "$text"; false; }
		! grep -qE '(^|[^r])/etc/same-cgroup-mark\.conf' <<<"$text" || { echo "$p still names /etc"; false; }
		[[ "$(printf '%s\n' "$text" | tail -n 1)" == *"same-cgroup-mark $version"* ]] || {
			printf '%s\n' "$text" | tail -n 1
			false
		}
		# Only the three .ds lines differ from the page in the tree.
		run diff <(grep -v '^\.ds scm_' "$top/man/${p##*/}") <(grep -v '^\.ds scm_' "$p")
		[ "$status" -eq 0 ] || { echo "$output"; false; }
	done
	text=$(render "$p8")
	[[ "$text" == *"/usr/lib64/same-cgroup-mark/same-cgroup-mark.bpf.o"* ]] || { echo "$text"; false; }
	[[ "$text" != *"/usr/local/"* ]] || { echo "$text"; false; }

	# The default prefix names /usr/local.
	run install_tree "$BATS_TEST_TMPDIR/dest2"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	text=$(render "$BATS_TEST_TMPDIR/dest2/usr/local/share/man/man8/same-cgroup-mark-load.8")
	[[ "$text" == *"/usr/local/lib/same-cgroup-mark/scm-set-rodata"* ]] || { echo "$text"; false; }
	[[ "$text" == *" /etc/same-cgroup-mark.conf"* ]] || { echo "$text"; false; }
}

@test "same-cgroup-mark-load(8) documents every option and exit status of the loader" {
	text=$(render "$top/man/same-cgroup-mark-load.8")
	# The options getopts accepts.
	opts=$(sed -n "s/^while getopts '\(.*\)' opt; do/\1/p" "$loader" | tr -d ':')
	[ -n "$opts" ]
	for ((i = 0; i < ${#opts}; i++)); do
		o=${opts:i:1}
		grep -qE "^ {7}-$o( |$)" <<<"$text" || { echo "option -$o not documented"; false; }
	done
	# Exit statuses: those the loader's header comment lists.
	for s in 0 1 2 3; do
		grep -qE "^ {7}$s( |$)" <<<"$text" || { echo "exit status $s not documented"; false; }
	done
	grep -q '^EXIT STATUS' <<<"$text"
}

@test "same-cgroup-mark-load(8) documents every environment variable and run-time file the loader uses" {
	text=$(render "$top/man/same-cgroup-mark-load.8")
	# shellcheck disable=SC2016 # a literal ${
	vars=$(cat "$loader" "$top"/sbin/lib/*.sh | grep -o '\${[A-Z_][A-Z_]*:-' | sed 's/^\${//; s/:-$//' | sort -u)
	[[ "$vars" == *SAME_CGROUP_MARK_CONF* ]]
	for v in $vars; do
		grep -qE "^ {7}$v( |$)" <<<"$text" || { echo "environment variable $v not documented"; false; }
	done
	for f in /etc/same-cgroup-mark.conf /sys/fs/bpf/same-cgroup-mark/gN/ \
		/run/same-cgroup-mark/mask.nft /run/same-cgroup-mark/lock; do
		grep -qE "^ {7}$f$" <<<"$text" || { echo "file $f not documented"; false; }
	done
	[[ "$text" == *"define SCM_MASK = 0x"* ]]
	for pin in scm_bind4 scm_bind6 scm_connect4 scm_connect6 scm_owner scm_binders scm_ports scm_devbound scm_notes scm_counts scm_marked scm_pairs scm_pair_since scm_pair_adds scm_rodata scm_sockops; do
		grep -q "$pin" "$loader"
		[[ "$text" == *"$pin"* ]] || { echo "pin $pin not documented"; false; }
	done
}

@test "same-cgroup-mark.conf(5) documents exactly the keys the loader accepts" {
	text=$(render "$top/man/same-cgroup-mark.conf.5")
	# The keys config_line accepts: its "KEY | KEY ...) ;;" case line.
	keys=$(sed -n '/^config_line()/,/^}/s/^[[:space:]]*\([A-Z_]*\( | [A-Z_]*\)*\)) ;;$/\1/p' "$top/sbin/lib/config.sh" | tr -d '|')
	[ -n "$keys" ] || { echo "the loader's key list moved: update this test"; false; }
	for k in $keys; do
		grep -qE "^ {7}$k=" <<<"$text" || { echo "key $k not documented"; false; }
	done
	documented=$(sed -n '/^SETTINGS/,/^[A-Z]/p' <<<"$text" | grep -oE '^ {7}[A-Z_]+=' | tr -d ' =' | sort | xargs)
	# shellcheck disable=SC2086 # a list of keys, split on purpose
	[ "$documented" = "$(printf '%s\n' $keys | sort | xargs)" ] || { echo "documented: $documented"; false; }
}

@test "the example in same-cgroup-mark.conf(5) is a configuration the loader accepts" {
	text=$(render "$top/man/same-cgroup-mark.conf.5")
	conf=$BATS_TEST_TMPDIR/example.conf
	printf '%s\n' "$text" | sed -n '/^EXAMPLES/,/^[A-Z]/{ /^       /s/^       //p }' >"$conf"
	grep -q '^MASK=' "$conf"
	grep -q '^CGROUP=' "$conf"
	# The loader reads the file before anything else: an unknown key or a bad
	# mask would exit 2 here.  Status of a pin directory that does not exist
	# exits 3 (or 1 for a non-root user, after reading the file).
	chmod 0644 "$conf"
	run env SAME_CGROUP_MARK_CONF="$conf" sh "$loader" -s -d /sys/fs/bpf/scm-man-example-none
	[ "$status" -ne 2 ] || { echo "$output"; false; }
}
