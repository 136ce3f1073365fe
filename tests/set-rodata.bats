#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
#
# scm-set-rodata: writes 32-bit values into .rodata variables of a copy of a
# BPF object.  What is judged: the bytes written (offsets cross-checked with
# readelf), the atomic replacement of OUTPUT, the refusals and the exit
# codes; not the wording of messages.  Broken objects are made by poking
# bytes with dd; a tiny big-endian object is built with python3.  Needs
# "make" first (the object and the helper).

bats_require_minimum_version 1.7.0

top="$BATS_TEST_DIRNAME/.."
obj="$top/bpf/same-cgroup-mark.bpf.o"
tool="$top/bpf/scm-set-rodata"

setup_file() {
	if [ ! -f "$obj" ] || [ ! -x "$tool" ]; then
		echo "missing $obj or $tool: run 'make' in $top first" >&2
		return 1
	fi
}

setup() {
	in="$BATS_TEST_TMPDIR/in"
	out="$BATS_TEST_TMPDIR/out"
	mkdir -p "$in" "$out"
	cp "$obj" "$in/scm.o"
	pindir=
}

teardown() {
	if [ -n "$pindir" ]; then
		rm -rf "$pindir"
	fi
}

# --- helpers ------------------------------------------------------------

# Column of the section header line of section NAME, from readelf -S -W
# (after the "[Nr]" prefix): 1 name, 2 type, 3 address, 4 offset, 5 size.
sec_col() {
	readelf -S -W "$1" 2>/dev/null |
		sed -n 's/^ *\[ *\([0-9]*\)\] /\1 /p' |
		awk -v n="$2" -v c="$3" '$2 == n { print $(c + 1) }'
}

# Index of section NAME.
sec_idx() {
	readelf -S -W "$1" 2>/dev/null |
		sed -n 's/^ *\[ *\([0-9]*\)\] /\1 /p' |
		awk -v n="$2" '$2 == n { print $1 }'
}

# Field of symbol NAME from readelf -s -W: 1 Num, 2 Value, 3 Size, 7 Ndx.
sym_col() {
	readelf -s -W "$1" 2>/dev/null |
		awk -v n="$2" -v c="$3" '$8 == n { sub(":", "", $1); print $c }'
}

e_shoff() {
	readelf -h "$1" | sed -n 's/^ *Start of section headers: *\([0-9]*\).*/\1/p'
}

# File offset of the .rodata variable NAME: .rodata sh_offset + st_value.
var_offset() {
	echo $((0x$(sec_col "$1" .rodata 4) + 0x$(sym_col "$1" "$2" 2)))
}

# File offset of the .symtab entry of symbol NAME.
sym_entry() {
	echo $((0x$(sec_col "$1" .symtab 4) + 24 * $(sym_col "$1" "$2" 1)))
}

# File offset of section header IDX.
shdr_at() {
	echo $(($(e_shoff "$1") + 64 * $2))
}

# poke FILE OFFSET HEXBYTES...: overwrite bytes in place; each HEXBYTES
# argument is one or more hex bytes separated by blanks.
poke() {
	local f="$1" off="$2" esc='' b
	shift 2
	# shellcheck disable=SC2048 # split the byte lists
	for b in $*; do
		esc="$esc\\x$b"
	done
	printf '%b' "$esc" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

# changed A B: the bytes that differ, one "OFFSET OLD NEW" line each
# (cmp -l: 1-based offset, octal bytes), blanks squeezed.
changed() {
	cmp -l "$1" "$2" | awk '{ print $1, $2, $3 }'
}

# le N BYTES: N as BYTES little-endian hex bytes.
le() {
	local n="$1" i
	for ((i = 0; i < $2; i++)); do
		printf '%02x ' $(((n >> (8 * i)) & 0xff))
	done
}

# Four bytes at OFFSET of FILE, as "aa bb cc dd".
bytes4() {
	od -An -tx1 -j "$2" -N4 "$1" | tr -s ' ' | sed 's/^ //; s/ $//'
}

# Build a minimal relocatable EM_BPF ELF64 object: .rodata (8 bytes,
# "scm_other" at 0 and "scm_mask" at 4, both 0xa1b2c3d4), .symtab,
# .strtab, .shstrtab.  ENDIAN is lsb or msb; "xindex" stores e_shstrndx
# as SHN_XINDEX with the real index in section 0's sh_link.
mkelf() {
	python3 - "$@" <<'EOF'
import struct, sys

path, endian = sys.argv[1], sys.argv[2]
xindex = len(sys.argv) > 3 and sys.argv[3] == "xindex"
o = ">" if endian == "msb" else "<"

rodata = struct.pack(o + "II", 0xa1b2c3d4, 0xa1b2c3d4)
strtab = b"\0scm_other\0scm_mask\0"
shstr = b"\0.rodata\0.symtab\0.strtab\0.shstrtab\0"

def sym(name, info, shndx, value, size):
    return struct.pack(o + "IBBHQQ", name, info, 0, shndx, value, size)

symtab = (sym(0, 0, 0, 0, 0) +
          sym(strtab.index(b"scm_other"), 0x11, 1, 0, 4) +
          sym(strtab.index(b"scm_mask"), 0x11, 1, 4, 4))

body = b""
offs = []
for data in (rodata, symtab, strtab, shstr):
    while (64 + len(body)) % 8:
        body += b"\0"
    offs.append(64 + len(body))
    body += data
while (64 + len(body)) % 8:
    body += b"\0"
shoff = 64 + len(body)

def shdr(name, typ, off, size, link, info, align, entsize):
    return struct.pack(o + "IIQQQQIIQQ", name, typ, 0, 0, off, size,
                       link, info, align, entsize)

shstrndx = 4
shdrs = (shdr(0, 0, 0, 0, shstrndx if xindex else 0, 0, 0, 0) +
         shdr(shstr.index(b".rodata"), 1, offs[0], len(rodata), 0, 0, 4, 0) +
         shdr(shstr.index(b".symtab"), 2, offs[1], len(symtab), 3, 1, 8, 24) +
         shdr(shstr.index(b".strtab"), 3, offs[2], len(strtab), 0, 0, 1, 0) +
         shdr(shstr.index(b".shstrtab"), 3, offs[3], len(shstr), 0, 0, 1, 0))

ident = b"\x7fELF" + bytes([2, 2 if endian == "msb" else 1, 1]) + b"\0" * 9
ehdr = ident + struct.pack(o + "HHIQQQIHHHHHH", 1, 247, 1, 0, 0, shoff, 0,
                           64, 0, 0, 64, 5, 0xffff if xindex else shstrndx)
with open(path, "wb") as f:
    f.write(ehdr + body + shdrs)
EOF
}

# expect_broken [NAME=VALUE...]: patching $in/scm.o (default scm_mask=1)
# is refused: exit 1, one line naming the input, and nothing in the output
# directory (no OUTPUT, no temporary file).
expect_broken() {
	[ $# -gt 0 ] || set -- scm_mask=1
	run -1 "$tool" "$in/scm.o" "$out/scm.o" "$@"
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "scm-set-rodata: $in/scm.o: "* ]]
	[ -z "$(ls -A "$out")" ]
}

# expect_usage ARG...: exit 2, one line of diagnostics, no output file.
expect_usage() {
	run "$tool" "$in/scm.o" "$out/scm.o" "$@"
	echo "status=$status output=$output"
	[ "$status" -eq 2 ]
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "scm-set-rodata: "* ]]
	[ -z "$(ls -A "$out")" ]
}

# --- patching -----------------------------------------------------------

@test "patching scm_mask changes only its 4 bytes, little-endian, at the offset readelf gives" {
	local off
	off=$(var_offset "$in/scm.o" scm_mask)
	[ "$(sym_col "$in/scm.o" scm_mask 3)" = 4 ]
	[ "$(sym_col "$in/scm.o" scm_mask 7)" = "$(sec_idx "$in/scm.o" .rodata)" ]
	[ "$(bytes4 "$in/scm.o" "$off")" = "00 00 00 40" ]

	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x12345678
	[ -z "$output" ]

	[ "$(bytes4 "$out/scm.o" "$off")" = "78 56 34 12" ]
	run changed "$in/scm.o" "$out/scm.o"
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "$((off + 1)) 0 170" ]
	[ "${lines[1]}" = "$((off + 2)) 0 126" ]
	[ "${lines[2]}" = "$((off + 3)) 0 64" ]
	[ "${lines[3]}" = "$((off + 4)) 100 22" ]
	[ "$(stat -c %s "$in/scm.o")" = "$(stat -c %s "$out/scm.o")" ]
}

@test "the output file is mode 0644 and no temporary file is left behind" {
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=7
	[ "$(stat -c %a "$out/scm.o")" = 644 ]
	[ "$(ls -A "$out")" = scm.o ]
}

@test "the patched object loads with bpftool and its .rodata map holds the new value" {
	if [ "$(id -u)" -ne 0 ]; then
		skip "loading BPF programs needs root"
	fi
	if ! mountpoint -q /sys/fs/bpf; then
		mount -t bpf bpf /sys/fs/bpf
	fi
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x00a0b0c0

	pindir="/sys/fs/bpf/scm-set-rodata-test-$$-$BATS_TEST_NUMBER"
	[ ! -e "$pindir" ]
	run bpftool prog loadall "$out/scm.o" "$pindir" pinmaps "$pindir"
	echo "$output"
	[ "$status" -eq 0 ]
	run bpftool -j map dump pinned "$pindir/scm_rodata"
	echo "$output"
	[ "$status" -eq 0 ]
	# scm_mask is the first variable of .rodata.
	[ "$(sym_col "$out/scm.o" scm_mask 2)" = 0000000000000000 ]
	[[ "$output" == *'"value":["0xc0","0xb0","0xa0","0x00"'* ]]
	[[ "$output" == *'"scm_mask":10531008}'* ]]
}

@test "VALUE may be decimal, 0x or 0X hexadecimal, from 0 up to 0xffffffff" {
	local off spec want
	off=$(var_offset "$in/scm.o" scm_mask)
	for spec in "0:00 00 00 00" "1:01 00 00 00" "4294967295:ff ff ff ff" \
	    "0010:0a 00 00 00" "0x0:00 00 00 00" "0xdeadBEEF:ef be ad de" \
	    "0X1:01 00 00 00" "0xffffffff:ff ff ff ff" \
	    "0x00000000ffffffff:ff ff ff ff"; do
		rm -f "$out/scm.o"
		run "$tool" "$in/scm.o" "$out/scm.o" "scm_mask=${spec%%:*}"
		echo "$spec: status=$status output=$output"
		[ "$status" -eq 0 ]
		[ -z "$output" ]
		want="${spec#*:}"
		[ "$(bytes4 "$out/scm.o" "$off")" = "$want" ]
	done
}

@test "a VALUE that is empty, signed, not a number or wider than 32 bits is a usage error" {
	local v
	for v in "" "-1" "+1" " 1" "1 " "0x" "0x 1" "0x-1" "0x+1" "0X" "x1" "abc" "1a" "0x1g" \
	    "4294967296" "0x100000000" "99999999999999999999999" "1e3" "0b1" \
	    "0xffffffff0"; do
		expect_usage "scm_mask=$v"
		[[ "$output" == *"'scm_mask=$v'"* ]]
	done
}

@test "an argument without '=' or with an empty NAME is a usage error" {
	expect_usage scm_mask
	[[ "$output" == *"'scm_mask'"* ]]
	expect_usage '=1'
	[[ "$output" == *"'=1'"* ]]
}

@test "the same NAME given twice is a usage error, even with equal values" {
	expect_usage scm_mask=1 scm_mask=1
	[[ "$output" == *"'scm_mask'"* ]]
}

@test "too few arguments is a usage error that shows the usage" {
	local args
	for args in "" "$in/scm.o" "$in/scm.o $out/scm.o" --help; do
		# shellcheck disable=SC2086 # split on purpose
		run -2 --separate-stderr "$tool" $args
		[ -z "$output" ]
		# shellcheck disable=SC2154 # set by run
		[[ "$stderr" == *"INPUT OUTPUT NAME=VALUE"* ]]
		# shellcheck disable=SC2154 # set by run
		[ "${#stderr_lines[@]}" -eq 1 ]
	done
	[ -z "$(ls -A "$out")" ]
}

@test "the input file is never modified" {
	local before
	before=$(stat -c '%i %s %Y' "$in/scm.o")
	cp "$in/scm.o" "$BATS_TEST_TMPDIR/orig.o"
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0xffffffff
	cmp "$in/scm.o" "$BATS_TEST_TMPDIR/orig.o"
	[ "$(stat -c '%i %s %Y' "$in/scm.o")" = "$before" ]
}

@test "INPUT and OUTPUT may be the same file, which is then replaced by a new one" {
	local off ino
	off=$(var_offset "$in/scm.o" scm_mask)
	ino=$(stat -c %i "$in/scm.o")
	cp "$in/scm.o" "$BATS_TEST_TMPDIR/orig.o"
	run -0 "$tool" "$in/scm.o" "$in/scm.o" scm_mask=5
	[ -z "$output" ]
	[ "$(bytes4 "$in/scm.o" "$off")" = "05 00 00 00" ]
	[ "$(stat -c %i "$in/scm.o")" != "$ino" ]
	[ "$(ls -A "$in")" = scm.o ]
	run cmp -l "$BATS_TEST_TMPDIR/orig.o" "$in/scm.o"
	[ "${#lines[@]}" -eq 2 ]	# 0x40 -> 0x00, 0x00 -> 0x05
}

@test "an existing OUTPUT is left untouched when patching fails" {
	local before
	echo "previous output" >"$out/scm.o"
	before=$(stat -c '%i %s %Y' "$out/scm.o")
	run -1 "$tool" "$in/scm.o" "$out/scm.o" no_such_symbol=1
	[[ "$output" == "scm-set-rodata: $in/scm.o: "*"'no_such_symbol'"* ]]
	[ "$(cat "$out/scm.o")" = "previous output" ]
	[ "$(stat -c '%i %s %Y' "$out/scm.o")" = "$before" ]
	[ "$(ls -A "$out")" = scm.o ]

	run -2 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x
	[ "$(cat "$out/scm.o")" = "previous output" ]
}

@test "an OUTPUT in a missing directory is an I/O error" {
	run -1 "$tool" "$in/scm.o" "$out/nodir/scm.o" scm_mask=1
	[ "${#lines[@]}" -eq 1 ]
	[[ "$output" == "scm-set-rodata: $out/nodir/scm.o: "*"No such file or directory" ]]
}

@test "a missing INPUT is an I/O error naming the file" {
	run -1 "$tool" "$in/nope.o" "$out/scm.o" scm_mask=1
	[ "$output" = "scm-set-rodata: $in/nope.o: No such file or directory" ]
	[ -z "$(ls -A "$out")" ]
}

# --- broken or unsuitable objects ----------------------------------------

@test "an empty file is rejected" {
	: >"$in/scm.o"
	expect_broken
}

@test "a file of garbage bytes is rejected for its magic" {
	local i
	for i in $(seq 200); do
		printf 'this is not a BPF object. '
	done >"$in/scm.o"
	expect_broken
}

@test "a bad ELF magic is rejected" {
	poke "$in/scm.o" 1 58	# "\x7fELF" -> "\x7fXLF"
	expect_broken
	printf '\177EL' >"$in/scm.o"
	expect_broken
}

@test "an object truncated inside the ELF header is rejected" {
	local n full="$BATS_TEST_TMPDIR/full.o"
	cp "$in/scm.o" "$full"
	head -c 10 "$full" >"$in/scm.o"
	expect_broken
	for n in 16 40 63; do
		head -c "$n" "$full" >"$in/scm.o"
		expect_broken
	done
}

@test "an object truncated inside the section header table is rejected" {
	local shoff size n full="$BATS_TEST_TMPDIR/full.o"
	cp "$in/scm.o" "$full"
	shoff=$(e_shoff "$full")
	size=$(stat -c %s "$full")
	[ "$size" -eq $((shoff + 64 * 16)) ]	# the table is at the end
	for n in $((shoff + 100)) $((size - 1)); do
		head -c "$n" "$full" >"$in/scm.o"
		expect_broken
	done
	head -c $((shoff + 10)) "$full" >"$in/scm.o"
	expect_broken
}

@test "an object truncated inside .rodata is rejected" {
	local off full="$BATS_TEST_TMPDIR/full.o"
	cp "$in/scm.o" "$full"
	off=$(var_offset "$full" scm_mask)
	head -c $((off + 2)) "$full" >"$in/scm.o"
	# the section headers come last, so they are the first thing missing
	expect_broken
}

@test "a .rodata whose bytes lie beyond the end of the file is rejected" {
	local sh size
	sh=$(shdr_at "$in/scm.o" "$(sec_idx "$in/scm.o" .rodata)")
	size=$(stat -c %s "$in/scm.o")
	local rosize=$((0x$(sec_col "$in/scm.o" .rodata 5)))
	poke "$in/scm.o" $((sh + 24)) "$(le $((size - 2)) 8)"	# sh_offset
	expect_broken
}

@test "an ELFCLASS32 object is rejected" {
	poke "$in/scm.o" 4 01
	expect_broken
	poke "$in/scm.o" 4 00
	expect_broken
}

@test "a bad EI_DATA byte order is rejected" {
	poke "$in/scm.o" 5 00
	expect_broken
	poke "$in/scm.o" 5 03
	expect_broken
}

@test "a bad EI_VERSION is rejected" {
	poke "$in/scm.o" 6 02
	expect_broken
}

@test "an object that is not a relocatable EM_BPF object is rejected" {
	local full="$BATS_TEST_TMPDIR/full.o"
	cp "$in/scm.o" "$full"
	poke "$in/scm.o" 18 3e 00	# EM_X86_64
	expect_broken
	cp "$full" "$in/scm.o"
	poke "$in/scm.o" 16 02 00	# ET_EXEC
	expect_broken
}

@test "an e_shoff pointing beyond the end of the file is rejected" {
	local size
	size=$(stat -c %s "$in/scm.o")
	poke "$in/scm.o" 40 "$(le $((size + 4096)) 8)"
	expect_broken
	poke "$in/scm.o" 40 ff ff ff ff ff ff ff ff
	expect_broken
}

@test "an e_shnum larger than the section header table is rejected" {
	local shoff size
	shoff=$(e_shoff "$in/scm.o")
	size=$(stat -c %s "$in/scm.o")
	poke "$in/scm.o" 60 ff fe	# e_shnum 0xfeff
	expect_broken
}

@test "an e_shstrndx out of range is rejected" {
	poke "$in/scm.o" 62 10 00	# 16 sections: 0..15
	expect_broken
	poke "$in/scm.o" 62 00 00
	expect_broken
}

@test "an e_shstrndx of SHN_XINDEX with nothing in section 0 is rejected" {
	poke "$in/scm.o" 62 ff ff
	expect_broken
}

@test "a section name offset outside the section name table is rejected" {
	local sh
	sh=$(shdr_at "$in/scm.o" 9)
	poke "$in/scm.o" "$sh" ff ff 00 00	# sh_name
	expect_broken
}

@test "a missing symbol is rejected" {
	expect_broken scm_nomask=1
	expect_broken scm_mas=1
	expect_broken scm_mask2=1
}

@test "a symbol whose size is not 4 is rejected" {
	local ent
	ent=$(sym_entry "$in/scm.o" scm_mask)
	poke "$in/scm.o" $((ent + 16)) "$(le 8 8)"	# st_size
	[ "$(sym_col "$in/scm.o" scm_mask 3)" = 8 ]
	expect_broken
}

@test "a symbol outside .rodata is rejected" {
	expect_broken scm_owner=1
	expect_broken _license=1
	expect_broken scm_connect4=1
}

@test "a symbol past the end of .rodata is rejected" {
	local ent
	ent=$(sym_entry "$in/scm.o" scm_mask)
	local rosize=$((0x$(sec_col "$in/scm.o" .rodata 5)))
	poke "$in/scm.o" $((ent + 8)) "$(le $((rosize - 2)) 8)"	# st_value
	expect_broken
	poke "$in/scm.o" $((ent + 8)) ff ff ff ff ff ff ff ff
	expect_broken
}

@test "a name that occurs twice in the symbol table is rejected" {
	local ent name
	ent=$(sym_entry "$in/scm.o" scm_mask)
	name=$(od -An -tx1 -j "$ent" -N4 "$in/scm.o")
	poke "$in/scm.o" "$(sym_entry "$in/scm.o" _license)" "$name"
	expect_broken
}

@test "a symbol name offset outside the symbol string table is rejected" {
	poke "$in/scm.o" "$(sym_entry "$in/scm.o" scm_bind4)" 00 00 01 00	# st_name
	expect_broken
}

@test "a .rodata of type SHT_NOBITS is rejected" {
	local sh
	sh=$(shdr_at "$in/scm.o" "$(sec_idx "$in/scm.o" .rodata)")
	poke "$in/scm.o" $((sh + 4)) 08 00 00 00	# sh_type
	expect_broken
}

@test "an object without .rodata is rejected" {
	local sh
	sh=$(shdr_at "$in/scm.o" "$(sec_idx "$in/scm.o" .rodata)")
	# point sh_name of .rodata at the "rodata" inside ".rodata"
	local name
	name=$(od -An -tu4 -j "$sh" -N4 "$in/scm.o")
	poke "$in/scm.o" "$sh" "$(le $((name + 1)) 4)"
	expect_broken
}

@test "entry sizes libelf does not go by never move the bytes written" {
	# e_shentsize, the symbol table's sh_entsize and a size that is not
	# a multiple of 24: libelf reads by the type's own size.  Either the
	# object is refused, or exactly scm_mask's 4 bytes change.
	local sh off full="$BATS_TEST_TMPDIR/full.o" edit
	cp "$in/scm.o" "$full"
	off=$(var_offset "$full" scm_mask)
	sh=$(shdr_at "$full" "$(sec_idx "$full" .symtab)")
	for edit in "58 $(le 40 2)" "$((sh + 56)) $(le 16 8)" \
	    "$((sh + 32)) $(le $((0x$(sec_col "$full" .symtab 5) - 1)) 8)"; do
		cp "$full" "$in/scm.o"
		# shellcheck disable=SC2086 # OFFSET BYTES
		poke "$in/scm.o" $edit
		rm -f "$out/scm.o"
		run "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x01020304
		echo "edit $edit: status=$status output=$output"
		if [ "$status" -eq 1 ]; then
			[ -z "$(ls -A "$out")" ]
			continue
		fi
		[ "$status" -eq 0 ]
		[ "$(bytes4 "$out/scm.o" "$off")" = "04 03 02 01" ]
		run cmp -l "$in/scm.o" "$out/scm.o"
		[ "${#lines[@]}" -eq 4 ]	# 00 00 00 40 -> 04 03 02 01
	done
}

@test "a symbol table whose sh_link is not a string table is rejected" {
	local sh full="$BATS_TEST_TMPDIR/full.o"
	cp "$in/scm.o" "$full"
	sh=$(shdr_at "$in/scm.o" "$(sec_idx "$in/scm.o" .symtab)")
	poke "$in/scm.o" $((sh + 40)) "$(le 7 4)"	# .rodata
	expect_broken
	cp "$full" "$in/scm.o"
	poke "$in/scm.o" $((sh + 40)) "$(le 99 4)"
	expect_broken
}

# --- byte order and extended numbering -----------------------------------

@test "a big-endian object gets the value written big-endian" {
	local off
	mkelf "$in/scm.o" msb
	# readelf agrees the generated object is sane
	[ "$(sym_col "$in/scm.o" scm_mask 7)" = 1 ]
	off=$(var_offset "$in/scm.o" scm_mask)
	[ "$(bytes4 "$in/scm.o" "$off")" = "a1 b2 c3 d4" ]

	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x11223344
	[ -z "$output" ]
	[ "$(bytes4 "$out/scm.o" "$off")" = "11 22 33 44" ]
	run changed "$in/scm.o" "$out/scm.o"
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]}" = "$((off + 1)) 241 21" ]
}

@test "the same minimal object in little-endian gets the value written little-endian" {
	local off
	mkelf "$in/scm.o" lsb
	off=$(var_offset "$in/scm.o" scm_mask)
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0x11223344
	[ "$(bytes4 "$out/scm.o" "$off")" = "44 33 22 11" ]
	run cmp -l "$in/scm.o" "$out/scm.o"
	[ "${#lines[@]}" -eq 4 ]
}

@test "several variables are patched in one run" {
	mkelf "$in/scm.o" msb
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=1 scm_other=0x02030405
	[ "$(bytes4 "$out/scm.o" "$(var_offset "$in/scm.o" scm_other)")" = "02 03 04 05" ]
	[ "$(bytes4 "$out/scm.o" "$(var_offset "$in/scm.o" scm_mask)")" = "00 00 00 01" ]
}

@test "an e_shstrndx of SHN_XINDEX is resolved through section 0" {
	local off
	mkelf "$in/scm.o" msb xindex
	off=$(var_offset "$in/scm.o" scm_mask)
	run -0 "$tool" "$in/scm.o" "$out/scm.o" scm_mask=0xcafe
	[ "$(bytes4 "$out/scm.o" "$off")" = "00 00 ca fe" ]
}
