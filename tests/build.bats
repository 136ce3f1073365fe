#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# Build, install and static checks: reproducible BPF object, its contents,
# "make install"/"make uninstall" layout, V=1 output, overridable tools,
# and the warnings of shellcheck, dash and the compiler.  Needs clang, bpftool, cc, make, binutils
# (readelf), shellcheck and dash; no root-only kernel features.  Everything that
# writes build outputs works in a copy of the tracked sources under the test's
# own scratch directory, never in the source tree.

bats_require_minimum_version 1.7.0

top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
obj_rel=bpf/same-cgroup-mark.bpf.o

# copy_tree DIR: copy the tracked files of the source tree (as they are in the
# work tree) into DIR, which must not exist yet.
copy_tree() {
	mkdir -p "$1"
	git -C "$top" ls-files -z | (cd "$top" && tar -cf - --null -T -) | tar -xf - -C "$1"
	[ -f "$1/Makefile" ] && [ -f "$1/bpf/same-cgroup-mark.bpf.c" ]
}

# makeq DIR ARGS...: make in DIR without directory noise.
makeq() {
	local dir=$1
	shift
	make --no-print-directory -C "$dir" "$@"
}

# The Makefile's VERSION.
makefile_version() {
	sed -n 's/^VERSION[[:space:]]*:*=[[:space:]]*//p' "$top/Makefile"
}

# hex_section OBJ SECTION: the bytes of SECTION as one lowercase hex string.
hex_section() {
	readelf -x "$2" "$1" 2>/dev/null |
		awk '/^  0x[0-9a-f]+ / { h = substr($0, 14, 35); gsub(/ /, "", h); printf "%s", h }'
}

# List of regular files and symlinks under DIR, relative to it, sorted.
list_files() {
	(cd "$1" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort)
}

@test "two builds of the same source in directories of different path length give byte-identical BPF objects" {
	local o
	a=$BATS_TEST_TMPDIR/a
	b=$BATS_TEST_TMPDIR/a-much-longer-directory-name/with/several/more/levels
	copy_tree "$a"
	copy_tree "$b"

	run makeq "$a" all
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run makeq "$b" all
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	for o in "$obj_rel" bpf/same-cgroup-mark-nobtf.bpf.o bpf/same-cgroup-mark-iter.bpf.o bpf/same-cgroup-mark-sockops.bpf.o; do
		[ -s "$a/$o" ]
		[ -s "$b/$o" ]
		run cmp "$a/$o" "$b/$o"
		[ "$status" -eq 0 ] || { echo "$output"; false; }
		# Neither build directory leaks into the object.
		run -1 grep -c -F -e "$a" -e "$b" "$a/$o" "$b/$o"
	done
}

@test "rebuilding after make clean in the same directory gives a byte-identical BPF object" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"

	run makeq "$a"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cp "$a/$obj_rel" "$BATS_TEST_TMPDIR/first.o"

	run makeq "$a" clean
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ ! -e "$a/$obj_rel" ]
	[ ! -e "$a/bpf/same-cgroup-mark.tmp.o" ]
	[ ! -e "$a/bpf/scm-set-rodata" ]

	run makeq "$a"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run cmp "$BATS_TEST_TMPDIR/first.o" "$a/$obj_rel"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "the BPF object holds the four cgroup programs, scm_mask 0x40000000 in .rodata, BTF and a GPL license" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"
	run makeq "$a" "$obj_rel"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	o=$a/$obj_rel

	run -0 readelf -h -W "$o"
	[[ "$output" == *"ELF64"* ]]
	[[ "$output" == *"little endian"* ]]
	[[ "$output" == *"Linux BPF"* ]]

	run -0 readelf -S -W "$o"
	sections=$(printf '%s\n' "$output" | sed -n 's/^ *\[ *[0-9]*\] \([^ ]*\) .*/\1/p')
	for s in cgroup/bind4 cgroup/bind6 cgroup/connect4 cgroup/connect6 .rodata .BTF license; do
		printf '%s\n' "$sections" | grep -qxF -e "$s" || {
			echo "section $s missing; sections: $sections"
			false
		}
	done
	# Each program section is executable code.
	for s in cgroup/bind4 cgroup/bind6 cgroup/connect4 cgroup/connect6; do
		line=$(printf '%s\n' "$output" | grep -F " $s " | head -n 1)
		[[ "$line" == *PROGBITS* ]]
		flags=$(printf '%s\n' "$line" | awk '{ print $(NF - 3) }')
		[[ "$flags" == *X* ]] || { echo "section $s flags: $flags"; false; }
	done

	# scm_mask: 4-byte object in .rodata (scan every symbol: sh_info is 0).
	rodata_idx=$(printf '%s\n' "$output" | sed -n 's/^ *\[ *\([0-9]*\)\] \.rodata .*/\1/p')
	[ -n "$rodata_idx" ]
	run -0 readelf -s -W "$o"
	symline=$(printf '%s\n' "$output" | awk '$8 == "scm_mask"')
	[ -n "$symline" ] || { echo "no scm_mask symbol: $output"; false; }
	read -r _ value size type _ _ ndx name <<<"$symline"
	[ "$name" = scm_mask ]
	[ "$size" = 4 ]
	[ "$type" = OBJECT ]
	[ "$ndx" = "$rodata_idx" ] || { echo "scm_mask in section $ndx, .rodata is $rodata_idx"; false; }

	rodata=$(hex_section "$o" .rodata)
	off=$((16#$value))
	mask=${rodata:$((off * 2)):8}
	[ "$mask" = 00000040 ] || { echo ".rodata: $rodata, scm_mask at $off: $mask"; false; }

	# GPL license (NUL-terminated string in the "license" section).
	run -0 readelf -p license "$o"
	lic=$(printf '%s\n' "$output" | sed -n 's/^ *\[ *[0-9a-f]*\] *//p')
	[ "$lic" = GPL ] || { echo "license: '$lic'"; false; }
	[ "$(hex_section "$o" license)" = 47504c00 ]

	# BTF is not empty.
	btf=$(hex_section "$o" .BTF)
	[ "${#btf}" -gt 48 ]
	# BTF magic 0xeb9f, little endian.
	[ "${btf:0:4}" = 9feb ]
}

@test "make install with prefix=/usr installs exactly the loader and its parts, the objects and the helper with the right modes" {
	a=$BATS_TEST_TMPDIR/tree
	dest=$BATS_TEST_TMPDIR/dest
	copy_tree "$a"
	mkdir -p "$dest"

	run makeq "$a" -s install DESTDIR="$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }

	run -0 list_files "$dest"
	expected='usr/lib/dracut/modules.d/90same-cgroup-mark/load-same-cgroup-mark.sh
usr/lib/dracut/modules.d/90same-cgroup-mark/module-setup.sh
usr/lib/same-cgroup-mark/changes.sh
usr/lib/same-cgroup-mark/config.sh
usr/lib/same-cgroup-mark/instances.sh
usr/lib/same-cgroup-mark/listeners.sh
usr/lib/same-cgroup-mark/same-cgroup-mark-iter.bpf.o
usr/lib/same-cgroup-mark/same-cgroup-mark-metrics
usr/lib/same-cgroup-mark/same-cgroup-mark-nobtf.bpf.o
usr/lib/same-cgroup-mark/same-cgroup-mark-sockops.bpf.o
usr/lib/same-cgroup-mark/same-cgroup-mark.bpf.o
usr/lib/same-cgroup-mark/scm-set-rodata
usr/lib/same-cgroup-mark/status.sh
usr/lib/systemd/system/same-cgroup-mark-metrics.service
usr/lib/systemd/system/same-cgroup-mark-metrics.timer
usr/lib/systemd/system/same-cgroup-mark.service
usr/sbin/same-cgroup-mark-load
usr/share/doc/same-cgroup-mark/nft-examples/audit.nft
usr/share/doc/same-cgroup-mark/nft-examples/local-isolation.nft
usr/share/doc/same-cgroup-mark/nft-examples/protect-ports.nft
usr/share/initramfs-tools/hooks/same-cgroup-mark
usr/share/initramfs-tools/scripts/init-top/same-cgroup-mark
usr/share/man/man5/same-cgroup-mark.conf.5
usr/share/man/man8/same-cgroup-mark-load.8'
	[ "$output" = "$expected" ] || { printf 'installed:\n%s\n' "$output"; false; }

	[ "$(stat -c %a "$dest/usr/sbin/same-cgroup-mark-load")" = 755 ]
	[ "$(stat -c %a "$dest/usr/lib/same-cgroup-mark/same-cgroup-mark.bpf.o")" = 644 ]
	[ "$(stat -c %a "$dest/usr/lib/same-cgroup-mark/scm-set-rodata")" = 755 ]
	[ "$(stat -c %a "$dest/usr/share/initramfs-tools/hooks/same-cgroup-mark")" = 755 ]
	[ "$(stat -c %a "$dest/usr/share/initramfs-tools/scripts/init-top/same-cgroup-mark")" = 755 ]
	grep -qx 'scm_loader=/usr/sbin/same-cgroup-mark-load' "$dest/usr/share/initramfs-tools/hooks/same-cgroup-mark"
	cmp "$a/initramfs-tools/init-top" "$dest/usr/share/initramfs-tools/scripts/init-top/same-cgroup-mark"

	cmp "$a/$obj_rel" "$dest/usr/lib/same-cgroup-mark/same-cgroup-mark.bpf.o"
	cmp "$a/bpf/scm-set-rodata" "$dest/usr/lib/same-cgroup-mark/scm-set-rodata"
	for f in "$a"/sbin/lib/*.sh; do
		[ "$(stat -c %a "$dest/usr/lib/same-cgroup-mark/${f##*/}")" = 644 ]
		cmp "$f" "$dest/usr/lib/same-cgroup-mark/${f##*/}"
	done
	for f in audit local-isolation protect-ports; do
		[ "$(stat -c %a "$dest/usr/share/doc/same-cgroup-mark/nft-examples/$f.nft")" = 644 ]
		cmp "$a/nft-examples/$f.nft" "$dest/usr/share/doc/same-cgroup-mark/nft-examples/$f.nft"
	done
}

@test "the installed loader points at the installed pkglibdir, its parts there, /etc config and the Makefile version" {
	a=$BATS_TEST_TMPDIR/tree
	dest=$BATS_TEST_TMPDIR/dest
	copy_tree "$a"
	mkdir -p "$dest"
	version=$(makefile_version)
	[ -n "$version" ]

	run makeq "$a" -s install DESTDIR="$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	s=$dest/usr/sbin/same-cgroup-mark-load

	run grep -x 'default_pkglibdir=.*' "$s"
	[ "$output" = default_pkglibdir=/usr/lib/same-cgroup-mark ]
	run grep -x 'default_config=.*' "$s"
	[ "$output" = default_config=/etc/same-cgroup-mark.conf ]
	run grep -x 'version=.*' "$s"
	[ "$output" = "version=$version" ]
	run grep -x 'shlibdir=.*' "$s"
	# shellcheck disable=SC2016 # the literal line
	[ "$output" = 'shlibdir=$pkglibdir' ]

	# Nothing else changed.
	run diff <(grep -v -e '^default_pkglibdir=' -e '^default_config=' -e '^version=' -e '^shlibdir=' "$a/sbin/same-cgroup-mark-load") \
		<(grep -v -e '^default_pkglibdir=' -e '^default_config=' -e '^version=' -e '^shlibdir=' "$s")
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run dash -n "$s"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "make install honours sbindir, libdir and sysconfdir, and the installed loader points at them" {
	a=$BATS_TEST_TMPDIR/tree
	dest=$BATS_TEST_TMPDIR/dest
	copy_tree "$a"
	mkdir -p "$dest"

	run makeq "$a" -s install DESTDIR="$dest" prefix=/usr sbindir=/sbin libdir=/usr/lib64 sysconfdir=/usr/etc
	[ "$status" -eq 0 ] || { echo "$output"; false; }

	run list_files "$dest"
	expected='sbin/same-cgroup-mark-load
usr/lib/dracut/modules.d/90same-cgroup-mark/load-same-cgroup-mark.sh
usr/lib/dracut/modules.d/90same-cgroup-mark/module-setup.sh
usr/lib/systemd/system/same-cgroup-mark-metrics.service
usr/lib/systemd/system/same-cgroup-mark-metrics.timer
usr/lib/systemd/system/same-cgroup-mark.service
usr/lib64/same-cgroup-mark/changes.sh
usr/lib64/same-cgroup-mark/config.sh
usr/lib64/same-cgroup-mark/instances.sh
usr/lib64/same-cgroup-mark/listeners.sh
usr/lib64/same-cgroup-mark/same-cgroup-mark-iter.bpf.o
usr/lib64/same-cgroup-mark/same-cgroup-mark-metrics
usr/lib64/same-cgroup-mark/same-cgroup-mark-nobtf.bpf.o
usr/lib64/same-cgroup-mark/same-cgroup-mark-sockops.bpf.o
usr/lib64/same-cgroup-mark/same-cgroup-mark.bpf.o
usr/lib64/same-cgroup-mark/scm-set-rodata
usr/lib64/same-cgroup-mark/status.sh
usr/share/doc/same-cgroup-mark/nft-examples/audit.nft
usr/share/doc/same-cgroup-mark/nft-examples/local-isolation.nft
usr/share/doc/same-cgroup-mark/nft-examples/protect-ports.nft
usr/share/initramfs-tools/hooks/same-cgroup-mark
usr/share/initramfs-tools/scripts/init-top/same-cgroup-mark
usr/share/man/man5/same-cgroup-mark.conf.5
usr/share/man/man8/same-cgroup-mark-load.8'
	[ "$output" = "$expected" ] || { printf 'installed:\n%s\n' "$output"; false; }

	[ "$(stat -c %a "$dest/sbin/same-cgroup-mark-load")" = 755 ]
	[ "$(stat -c %a "$dest/usr/lib64/same-cgroup-mark/same-cgroup-mark.bpf.o")" = 644 ]
	[ "$(stat -c %a "$dest/usr/lib64/same-cgroup-mark/scm-set-rodata")" = 755 ]

	s=$dest/sbin/same-cgroup-mark-load
	run grep -x 'default_pkglibdir=.*' "$s"
	[ "$output" = default_pkglibdir=/usr/lib64/same-cgroup-mark ]
	run grep -x 'default_config=.*' "$s"
	[ "$output" = default_config=/usr/etc/same-cgroup-mark.conf ]
	run grep -x 'shlibdir=.*' "$s"
	# shellcheck disable=SC2016 # the literal line
	[ "$output" = 'shlibdir=$pkglibdir' ]
	run grep -x 'version=.*' "$s"
	[ "$output" = "version=$(makefile_version)" ]
}

@test "make uninstall removes everything make install put there, removes pkglibdir and keeps a foreign file" {
	a=$BATS_TEST_TMPDIR/tree
	dest=$BATS_TEST_TMPDIR/dest
	copy_tree "$a"
	mkdir -p "$dest/usr/sbin"
	echo foreign >"$dest/usr/sbin/foreign-tool"
	chmod 0755 "$dest/usr/sbin/foreign-tool"

	run makeq "$a" -s install DESTDIR="$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -f "$dest/usr/sbin/same-cgroup-mark-load" ]
	[ -d "$dest/usr/lib/same-cgroup-mark" ]

	run makeq "$a" -s uninstall DESTDIR="$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }

	run list_files "$dest"
	[ "$output" = usr/sbin/foreign-tool ] || { printf 'left:\n%s\n' "$output"; false; }
	[ "$(cat "$dest/usr/sbin/foreign-tool")" = foreign ]

	[ ! -e "$dest/usr/lib/same-cgroup-mark" ]
	# Only standard directories may remain.
	# shellcheck disable=SC2016 # the script's own $1
	run -0 bash -c 'cd "$1" && find . -mindepth 1 -type d | sed "s|^\./||" | LC_ALL=C sort' _ "$dest"
	while IFS= read -r d; do
		case $d in
		usr | usr/sbin | usr/lib | usr/share | usr/share/doc) ;;
		usr/lib/systemd | usr/lib/systemd/system | usr/share/man | usr/share/man/man[58]) ;;
		usr/lib/dracut | usr/lib/dracut/modules.d) ;;
		usr/share/initramfs-tools | usr/share/initramfs-tools/hooks) ;;
		usr/share/initramfs-tools/scripts | usr/share/initramfs-tools/scripts/init-top) ;;
		*)
			echo "unexpected directory left: $d"
			false
			;;
		esac
	done <<<"$output"
}

@test "make uninstall into an empty DESTDIR succeeds and leaves no file" {
	a=$BATS_TEST_TMPDIR/tree
	dest=$BATS_TEST_TMPDIR/dest
	copy_tree "$a"
	mkdir -p "$dest"

	run makeq "$a" -s uninstall DESTDIR="$dest" prefix=/usr
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run list_files "$dest"
	[ -z "$output" ]
}

@test "make V=1 shows the full clang command line with -target bpf and -fdebug-prefix-map" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"
	real=$(cd "$a" && pwd -P)

	run makeq "$a" V=1
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	clang_line=$(printf '%s\n' "$output" | grep -E '(^|/)clang[^ ]* .*-target bpf' | head -n 1)
	[ -n "$clang_line" ] || { echo "$output"; false; }
	[[ "$clang_line" == *"-fdebug-prefix-map=$real=."* ]] || { echo "$clang_line"; false; }
	[[ "$clang_line" == *"bpf/same-cgroup-mark.bpf.c"* ]]
	[[ "$output" == *"gen object"* ]]
	# No short lines in verbose mode.
	run -1 grep -E '^  CLANG +' <<<"$output"
}

@test "plain make shows short CLANG lines instead of the full command" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"

	run makeq "$a"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[[ "$output" =~ (^|$'\n')"  CLANG    bpf/same-cgroup-mark.tmp.o"($'\n'|$) ]] || { echo "$output"; false; }
	[[ "$output" =~ (^|$'\n')"  GEN-OBJ  bpf/same-cgroup-mark.bpf.o"($'\n'|$) ]] || { echo "$output"; false; }
	[[ "$output" =~ (^|$'\n')"  CC       bpf/scm-set-rodata"($'\n'|$) ]] || { echo "$output"; false; }
	[[ "$output" != *"-target bpf"* ]]
	[[ "$output" != *"-fdebug-prefix-map"* ]]
	[ -s "$a/$obj_rel" ]
	[ -x "$a/bpf/scm-set-rodata" ]
}

@test "make CC=false fails building the helper" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"

	run makeq "$a" CC=false
	[ "$status" -ne 0 ]
	[[ "$output" == *"bpf/scm-set-rodata"* ]] || { echo "$output"; false; }
	[ ! -e "$a/bpf/scm-set-rodata" ]
}

@test "make CLANG=/nonexistent fails and leaves no BPF object" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"

	run makeq "$a" CLANG=/nonexistent "$obj_rel"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/nonexistent"* ]] || { echo "$output"; false; }
	[ ! -e "$a/$obj_rel" ]
	[ ! -e "$a/bpf/same-cgroup-mark.tmp.o" ]
}

@test "make uses the CLANG and BPFTOOL it is given" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"
	w=$BATS_TEST_TMPDIR/wrappers
	log=$BATS_TEST_TMPDIR/log
	mkdir -p "$w"
	real_clang=$(command -v clang)
	real_bpftool=$(command -v bpftool)
	printf '#!/bin/sh\necho "clang $*" >>"%s"\nexec "%s" "$@"\n' "$log" "$real_clang" >"$w/my-clang"
	printf '#!/bin/sh\necho "bpftool $*" >>"%s"\nexec "%s" "$@"\n' "$log" "$real_bpftool" >"$w/my-bpftool"
	chmod +x "$w/my-clang" "$w/my-bpftool"

	run makeq "$a" CLANG="$w/my-clang" BPFTOOL="$w/my-bpftool" "$obj_rel"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -q -e '^clang .*-target bpf.*-c bpf/same-cgroup-mark.bpf.c' "$log" || { cat "$log"; false; }
	grep -q -e '^bpftool gen object bpf/same-cgroup-mark.bpf.o ' "$log" || { cat "$log"; false; }

	run makeq "$a" clean
	run makeq "$a" BPFTOOL=false "$obj_rel"
	[ "$status" -ne 0 ]
	[ ! -e "$a/$obj_rel" ]
}

@test "make CFLAGS='-O0 -g' uses those flags for the helper and keeps the flags the BPF build needs" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"
	real=$(cd "$a" && pwd -P)

	run makeq "$a" V=1 CFLAGS='-O0 -g'
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cc_line=$(printf '%s\n' "$output" | grep -F -e '-o bpf/scm-set-rodata' | head -n 1)
	[[ "$cc_line" == *" -O0 -g "* ]] || { echo "$output"; false; }
	[[ "$cc_line" != *"-O2"* ]]
	clang_line=$(printf '%s\n' "$output" | grep -F -e '-target bpf' | head -n 1)
	[[ "$clang_line" == *"-fdebug-prefix-map=$real=."* ]] || { echo "$output"; false; }
	[ -x "$a/bpf/scm-set-rodata" ]

	# The BPF object does not depend on CFLAGS.
	b=$BATS_TEST_TMPDIR/ref
	copy_tree "$b"
	run makeq "$b" "$obj_rel"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	cmp "$a/$obj_rel" "$b/$obj_rel"
}

@test "make CC=... builds the helper with the given compiler" {
	a=$BATS_TEST_TMPDIR/tree
	copy_tree "$a"
	w=$BATS_TEST_TMPDIR/wrappers
	log=$BATS_TEST_TMPDIR/log
	mkdir -p "$w"
	real_cc=$(command -v cc)
	printf '#!/bin/sh\necho "cc $*" >>"%s"\nexec "%s" "$@"\n' "$log" "$real_cc" >"$w/my-cc"
	chmod +x "$w/my-cc"

	run makeq "$a" CC="$w/my-cc" bpf/scm-set-rodata
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	grep -q -e '-o bpf/scm-set-rodata bpf/scm-set-rodata.c' "$log" || { cat "$log"; false; }
	[ -x "$a/bpf/scm-set-rodata" ]
}

@test "the bats files and the test helpers pass shellcheck (bash, tests/.shellcheckrc)" {
	local f n=0
	for f in "$top"/tests/*.bats "$top"/tests/*.bash; do
		run shellcheck -x "$f"
		[ "$status" -eq 0 ] || { echo "shellcheck $f:"; echo "$output"; false; }
		n=$((n + 1))
	done
	[ "$n" -ge 20 ]
}

@test "the loader and every other tracked /bin/sh script pass shellcheck -s sh and dash -n" {
	scripts=()
	while IFS= read -r -d '' f; do
		[ -f "$top/$f" ] || continue
		first=$(head -n 1 "$top/$f")
		case $first in
		'#!/bin/sh' | '#!/bin/sh '* | '#! /bin/sh'* | '#!/usr/bin/env sh' | '#!/usr/bin/env sh '*)
			scripts+=("$f")
			;;
		esac
		# Sourced parts say so to shellcheck on their second line.
		case $(sed -n 2p "$top/$f") in
		'# shellcheck shell=sh'*) scripts+=("$f") ;;
		esac
	done < <(git -C "$top" ls-files -z)

	# The loader is always among them.
	found=
	for f in "${scripts[@]}"; do
		[ "$f" = sbin/same-cgroup-mark-load ] && found=1
	done
	[ -n "$found" ] || { echo "scripts: ${scripts[*]}"; false; }

	for f in "${scripts[@]}"; do
		run shellcheck -s sh -x "$top/$f"
		[ "$status" -eq 0 ] || { echo "shellcheck $f:"; echo "$output"; false; }
		run dash -n "$top/$f"
		[ "$status" -eq 0 ] || { echo "dash -n $f:"; echo "$output"; false; }
	done
}

@test "tests/scm-probe.c and bpf/scm-set-rodata.c compile without warnings with -Wall -Wextra -Werror -O2" {
	for src in tests/scm-probe.c bpf/scm-set-rodata.c; do
		out=$BATS_TEST_TMPDIR/$(basename "$src" .c)
		libs=
		[ "$src" != bpf/scm-set-rodata.c ] || libs=-lelf
		run cc -Wall -Wextra -Werror -O2 -o "$out" "$top/$src" $libs
		[ "$status" -eq 0 ] || { echo "cc $src:"; echo "$output"; false; }
		[ -z "$output" ] || { echo "cc $src printed:"; echo "$output"; false; }
		[ -x "$out" ]
	done
}
