#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# scm-set-rodata under libFuzzer with ASan and UBSan (issue 6, item 7): a
# short run of tests/fuzz/run, seeded with the real objects.  "make fuzz"
# runs longer (FUZZ_SECONDS, default 60).

bats_require_minimum_version 1.7.0

top="$BATS_TEST_DIRNAME/.."

# Seconds of fuzzing in make check.
FUZZ_CHECK_SECONDS=${FUZZ_CHECK_SECONDS:-20}

@test "scm-set-rodata survives a short libFuzzer run seeded with the real objects" {
	[ -f "$top/bpf/same-cgroup-mark.bpf.o" ] || { echo "run make first" >&2; return 1; }
	local work=$BATS_TEST_TMPDIR/fuzz
	FUZZ_DIR=$work run sh "$top/tests/fuzz/run" "$FUZZ_CHECK_SECONDS"
	echo "$output"
	if [ "$status" -eq 3 ]; then
		skip "clang cannot link libFuzzer here (libclang-rt-dev missing)"
	fi
	[ "$status" -eq 0 ]
	[[ "$output" == *"fuzz: nothing found"* ]]
	# It really ran: thousands of inputs, the seeds all read.
	local runs
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' <<<"$output")
	[ "${runs:-0}" -ge 1000 ]
	[ "$(ls "$work/seeds" | wc -l)" -ge 10 ]
	[ -z "$(ls -A "$work/artifacts")" ]
}

@test "the fuzz harness reports a helper that breaks its promises" {
	# The harness itself is tested: built against a helper that leaves
	# its temporary file behind, it must find that at once.
	local work=$BATS_TEST_TMPDIR/fuzz-broken src=$BATS_TEST_TMPDIR/broken
	mkdir -p "$src/bpf" "$src/tests/fuzz"
	# The rename fails, and the temporary file is not removed.
	sed -e 's/^\t\tunlink(tmp);$/\t\t;/' -e 's/^\tif (!ret \&\& rename(tmp, path))$/\tif (!ret \&\& 1)/' \
		"$top/bpf/scm-set-rodata.c" >"$src/bpf/scm-set-rodata.c"
	if grep -q -F -x -e $'\t\tunlink(tmp);' -e $'\tif (!ret && rename(tmp, path))' "$src/bpf/scm-set-rodata.c" ||
		! grep -q -F -x $'\tif (!ret && 1)' "$src/bpf/scm-set-rodata.c"; then
		echo "the helper's source changed: update the breakage made here" >&2
		return 1
	fi
	cp "$top/tests/fuzz/set-rodata-fuzz.c" "$top/tests/fuzz/elf.dict" "$top/tests/fuzz/run" "$src/tests/fuzz/"
	cp "$top/bpf/same-cgroup-mark.bpf.o" "$src/bpf/"
	FUZZ_DIR=$work run sh "$src/tests/fuzz/run" 5
	echo "$output"
	if [ "$status" -eq 3 ]; then
		skip "clang cannot link libFuzzer here (libclang-rt-dev missing)"
	fi
	[ "$status" -eq 1 ]
	[[ "$output" == *"FOUND SOMETHING"* ]]
	grep -q 'set-rodata-fuzz: ' "$work/log"
	[ -n "$(ls -A "$work/artifacts")" ]
}
