#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Attacks (issue 19): an unprivileged user (uid/gid 65534, no capabilities)
# in cgroup b tries to carry the mark to a listener of cgroup a, with
# nft-examples/local-isolation.nft loaded in the test's namespace.  Each
# attempt must end as any connect from b to a does: refused at once
# (ECONNREFUSED) and counted by the ruleset's "rejected" counter.  Next to
# each attack, the legitimate use of the same kernel path stays marked.
# Destinations: loopback, the namespace's own non-loopback addresses
# (10.99.0.1, fd99::1: the sock_ops path), IPv6 and v4-mapped.

bats_require_minimum_version 1.7.0
load test_helper

NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all)

setup() {
	common_setup
	HOST_RULESET=$(nft -s list ruleset)
	[ -x "$SCM_TOP/tests/scm-attack" ] || {
		echo "run 'make tests/scm-attack' first (make check does)" >&2
		return 1
	}
	# The helpers, where uid 65534 can run them; the Unix sockets of
	# the tests that hand a listener over go there too.
	TOOLS=$(mktemp -d /tmp/scm-attacks.XXXXXX)
	chmod 0755 "$TOOLS"
	cp "$PROBE" "$SCM_TOP/tests/scm-attack" "$TOOLS/"
	chmod 0755 "$TOOLS/scm-probe" "$TOOLS/scm-attack"
	mkdir "$TOOLS/run"
	chmod 0777 "$TOOLS/run"
	REFUSALS=0
}

teardown() {
	local rc=0
	[ "$(nft -s list ruleset)" = "$HOST_RULESET" ] || {
		echo "the host ruleset changed" >&2
		rc=1
	}
	common_teardown
	rm -rf -- "$TOOLS"
	return "$rc"
}

# arm [LOADER OPTIONS]: load the programs, local-isolation.nft in NS, and the
# addresses 10.99.0.1 and fd99::1 on a veth in NS.
arm() {
	run scm_load "$@"
	[ "$status" -eq 0 ] || { echo "load failed: $output" >&2; return 1; }
	load_ruleset local-isolation
	setup_remote
}

# Destinations: loopback always; the own non-loopback addresses where the
# sock_ops program loads.
dests() {
	echo 127.0.0.1 ::1 ::ffff:127.0.0.1
	[ -z "$SCM_ROUTE" ] || echo 10.99.0.1 fd99::1 ::ffff:10.99.0.1
}

# serve_as_nobody CGROUP ADDR PORT [OPTIONS]: a scm-probe listener run by
# uid 65534 in CGROUP (in NS); sets PORT.
serve_as_nobody() {
	local cg=$1 addr=$2 port=$3 out
	shift 3
	out=$(mktemp "$BATS_TEST_TMPDIR/server.XXXXXX")
	(in_cgroup "$cg" "$NS" "${NOBODY[@]}" "$TOOLS/scm-probe" listen "$addr" "$port" "$@") >"$out" 2>&1 3>&- &
	PIDS="$PIDS $!"
	wait_port "$out" "$!"
}

# wait_port FILE PID: wait for the port a listener prints; sets PORT.
wait_port() {
	for _ in $(seq 1 100); do
		PORT=$(head -n 1 "$1")
		case $PORT in
		'') ;;
		*[!0-9]*) echo "listener failed: $(cat "$1")" >&2; return 1 ;;
		*) return 0 ;;
		esac
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	echo "listener did not start: $(cat "$1")" >&2
	return 1
}

# nobody CGROUP TOOL ARGS...: run a helper as uid 65534 in CGROUP, in NS.
nobody() {
	local cg=$1 tool=$2
	shift 2
	(in_cgroup "$cg" "$NS" "${NOBODY[@]}" "$TOOLS/$tool" "$@") 2>&1
}

# refused_as_nobody CGROUP TOOL ARGS...: the helper's connect fails with
# ECONNREFUSED (a reset: a dropped SYN would time out instead); counted in
# REFUSALS, which expect_rejected compares with the ruleset's own counter
# of the resets it sent.  Not timed: a loaded machine is no failure.
refused_as_nobody() {
	run nobody "$@"
	if [ "$status" -ne 1 ] || [[ "$output" != *"connect: Connection refused"* ]]; then
		printf '%s (cgroup %s): status %s, expected a refusal:\n%s\n' \
			"$*" "${1#"$CGROOT"/}" "$status" "$output" >&2
		return 1
	fi
	REFUSALS=$((REFUSALS + 1))
}

# marked_as_nobody CGROUP TOOL ARGS...: the helper connects, marked.
marked_as_nobody() {
	run nobody "$@"
	local m
	m=$(printf '%s\n' "$output" | sed -n 's/^mark=//p' | tail -n 1)
	if [ "$status" -ne 0 ] || ! same_mark "${m:-0}" "$TEST_MASK"; then
		printf '%s (cgroup %s): status %s, mark %s, expected a marked connection:\n%s\n' \
			"$*" "${1#"$CGROOT"/}" "$status" "${m:-none}" "$output" >&2
		return 1
	fi
}

# expect_rejected: the ruleset refused exactly the REFUSALS counted.
expect_rejected() {
	expect_counters rejected="$REFUSALS"
}

# carry_attacks OWN_CGROUP OWN_PORT VICTIM_PORT: every way of using a socket
# on the attacker's own listener (OWN_PORT, any address) first and then on
# the victim's (VICTIM_PORT), from OWN_CGROUP, to every destination.
carry_attacks() {
	local cg=$1 own=$2 victim=$3 d how
	for d in $(dests); do
		for how in unspec family nonblock; do
			refused_as_nobody "$cg" scm-attack carry "$how" "$d" "$own" "$d" "$victim"
		done
		# Marked on a listener of its own, which then goes away.
		refused_as_nobody "$cg" scm-attack carry refused "$d" 0 "$d" "$victim"
		# A socket that connected once may not listen (EINVAL) on some
		# kernels (6.18); where it may, its accepted sockets do not
		# carry the mark it had.
		if ! child_refused_listen "$cg" "$d" "$own"; then
			refused_as_nobody "$cg" scm-attack carry child "$d" "$own" "$d" "$victim"
			marked_as_nobody "$cg" scm-attack carry child "$d" "$own" "$d" "$own"
		fi
		refused_as_nobody "$cg" scm-attack carry unspec "$d" "$own" "$d" "$victim" --fastopen
		refused_as_nobody "$cg" scm-attack carry unspec "$d" "$own" "$d" "$victim" --fastopen-connect
		# The same socket, used again on the own listener: marked.
		marked_as_nobody "$cg" scm-attack carry unspec "$d" "$own" "$d" "$own"
	done
}

# child_refused_listen CGROUP ADDR OWN_PORT: the kernel refuses listen() on
# a socket that connected to ADDR OWN_PORT and was disconnected.
child_refused_listen() {
	run nobody "$1" scm-attack carry child "$2" "$3" "$2" "$3"
	[ "$status" -eq 4 ] && [[ "$output" == *"listen: Invalid argument"* ]]
}

# carry_test [LOADER OPTIONS]: the carry attacks from TCG/b against a
# listener of TCG/a, the attacker's own listener in TCG/b.
carry_test() {
	arm "$@"
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	local victim=$PORT
	serve_as_nobody "$TCG/b" :: 0 --dualstack
	carry_attacks "$TCG/b" "$PORT" "$victim"
	expect_rejected
}

@test "a socket marked on an earlier connect does not carry the mark to another group's listener" {
	carry_test
}

@test "no earlier mark carried with pairs off (-P 0, the sock_ops notes without pairs)" {
	carry_test -P 0
}

@test "no earlier mark carried with -l 2, from a sibling cgroup of another group" {
	arm -l 2
	mkdir "$TCG/a/svc" "$TCG/b/att" "$TCG/b/own"
	start_server "$TCG/a/svc" "$NS" :: 0 --dualstack
	local victim=$PORT
	serve_as_nobody "$TCG/b/own" :: 0 --dualstack
	carry_attacks "$TCG/b/att" "$PORT" "$victim"
	expect_rejected
}

@test "bits that root set with SO_MARK stay across the connect" {
	arm
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$TEST_MASK" "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark "$TEST_MASK"
	expect_mark $((TEST_MASK | 0x1)) "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark $((TEST_MASK | 0x1))
}

@test "a second bind() on a listener does not relabel it, also from a process it was handed to" {
	arm
	local out
	out=$(mktemp "$BATS_TEST_TMPDIR/share.XXXXXX")
	(in_cgroup "$TCG/a" "$NS" "${NOBODY[@]}" "$TOOLS/scm-attack" share 127.0.0.1 0 "$TOOLS/run/l.sock") >"$out" 2>&1 3>&- &
	PIDS="$PIDS $!"
	wait_port "$out" "$!"
	local p=$PORT binds
	binds=$(counter "TCP binds recorded")
	local addr
	for addr in 127.0.0.1 0.0.0.0; do
		run nobody "$TCG/b" scm-attack rebind "$TOOLS/run/l.sock" "$addr" "$p"
		[ "$status" -eq 0 ] || { echo "rebind $addr: $status: $output" >&2; return 1; }
	done
	[ "$(counter "TCP binds recorded")" -eq "$binds" ]
	refused_as_nobody "$TCG/b" scm-probe connect 127.0.0.1 "$p"
	marked_as_nobody "$TCG/a" scm-probe connect 127.0.0.1 "$p"
	expect_rejected
}

@test "a listener that listens without bind() is recorded at listen() from its socket's cgroup" {
	need_route
	arm
	serve_as_nobody "$TCG/a" 0.0.0.0 0 --nobind
	local d
	for d in 127.0.0.1 10.99.0.1; do
		marked_as_nobody "$TCG/a" scm-probe connect "$d" "$PORT"
		refused_as_nobody "$TCG/b" scm-probe connect "$d" "$PORT"
	done
	[ "$(counter "not marked: listener bound before loading")" -eq 0 ]
	expect_rejected
}

# reuseport_pair ADDR: a listener of uid 65534 in TCG/a on ADDR with
# SO_REUSEPORT, and a member of its group from the same uid in TCG/b whose
# classic BPF program steers every connection to the first member (TCG/a's).
reuseport_pair() {
	serve_as_nobody "$TCG/a" "$1" 0 --reuseport
	serve_as_nobody "$TCG/b" "$1" "$PORT" --reuseport --steer-first
}

@test "a reuseport group with a member of another group is no match: refused from both groups, counted as shared" {
	need_route
	arm
	reuseport_pair ::
	local d
	for d in $(dests); do
		for _ in 1 2 3 4 5; do
			refused_as_nobody "$TCG/b" scm-probe connect "$d" "$PORT"
			refused_as_nobody "$TCG/a" scm-probe connect "$d" "$PORT"
		done
	done
	expect_rejected
	[ "$(counter "not marked: port shared with another group")" -gt 0 ]
	[ "$(counter marked)" -eq 0 ]
	run loader -d "$PINDIR" -p
	[[ "$output" == *" shared "* ]]
	run loader -d "$PINDIR" -s -j
	[[ "$output" == *'"shared_port":'[1-9]* ]]
}

@test "a mixed reuseport group is no match with pairs off and with -l 2 either" {
	local opts
	for opts in "-P 0" "-l 2"; do
		# shellcheck disable=SC2086 # two words
		arm $opts
		reuseport_pair 127.0.0.1
		for _ in 1 2 3 4 5 6; do
			refused_as_nobody "$TCG/b" scm-probe connect 127.0.0.1 "$PORT"
			refused_as_nobody "$TCG/a" scm-probe connect 127.0.0.1 "$PORT"
		done
		expect_rejected
		common_teardown
		common_setup
		REFUSALS=0
	done
}

@test "a reuseport group within one group stays marked, also across cgroups of one -l group" {
	arm
	serve_as_nobody "$TCG/a" :: 0 --reuseport --dualstack
	serve_as_nobody "$TCG/a" :: "$PORT" --reuseport --dualstack --steer-first
	local d
	for d in $(dests); do
		for _ in 1 2 3; do
			marked_as_nobody "$TCG/a" scm-probe connect "$d" "$PORT"
			refused_as_nobody "$TCG/b" scm-probe connect "$d" "$PORT"
		done
	done
	expect_rejected
	[ "$(counter "not marked: port shared with another group")" -eq 0 ]
	common_teardown
	common_setup
	REFUSALS=0
	arm -l 2
	mkdir "$TCG/a/x" "$TCG/a/y" "$TCG/a/z"
	serve_as_nobody "$TCG/a/x" 127.0.0.1 0 --reuseport
	serve_as_nobody "$TCG/a/y" 127.0.0.1 "$PORT" --reuseport --steer-first
	for _ in 1 2 3 4; do
		marked_as_nobody "$TCG/a/z" scm-probe connect 127.0.0.1 "$PORT"
		refused_as_nobody "$TCG/b" scm-probe connect 127.0.0.1 "$PORT"
	done
	expect_rejected
}

@test "a device-bound listener of the same uid on the port makes it no match, in both directions" {
	arm
	local d
	# The service's listener bound to lo, the other group's unbound one.
	serve_as_nobody "$TCG/a" 127.0.0.1 0 --reuseport --device lo
	serve_as_nobody "$TCG/b" 127.0.0.1 "$PORT" --reuseport
	for d in 1 2 3; do
		refused_as_nobody "$TCG/b" scm-probe connect 127.0.0.1 "$PORT"
		refused_as_nobody "$TCG/a" scm-probe connect 127.0.0.1 "$PORT"
	done
	# The other way round: the other group's listener bound to lo.
	serve_as_nobody "$TCG/a" ::1 0 --reuseport
	serve_as_nobody "$TCG/b" ::1 "$PORT" --reuseport --device lo
	for d in 1 2 3; do
		refused_as_nobody "$TCG/a" scm-probe connect ::1 "$PORT"
		refused_as_nobody "$TCG/b" scm-probe connect ::1 "$PORT"
	done
	expect_rejected
	[ "$(counter "not marked: port shared with another group")" -gt 0 ]
	# A device-bound listener is never found by the connect programs'
	# lookup (README, Limitations): not marked, even from its own group.
	serve_as_nobody "$TCG/a" 127.0.0.1 0 --device lo
	local nl
	nl=$(counter "not marked: no listener")
	refused_as_nobody "$TCG/a" scm-probe connect 127.0.0.1 "$PORT"
	[ "$(counter "not marked: no listener")" -eq $((nl + 1)) ]
	expect_rejected
}

@test "the socket-activation recipe still marks: socket made in one cgroup, served from another of the same slice (-l 2)" {
	arm -l 2
	mkdir "$TCG/a/foo.socket" "$TCG/a/foo.service" "$TCG/b/other.service"
	local out
	out=$(mktemp "$BATS_TEST_TMPDIR/share.XXXXXX")
	(in_cgroup "$TCG/a/foo.socket" "$NS" "${NOBODY[@]}" "$TOOLS/scm-attack" share 127.0.0.1 0 "$TOOLS/run/l.sock") >"$out" 2>&1 3>&- &
	PIDS="$PIDS $!"
	wait_port "$out" "$!"
	marked_as_nobody "$TCG/a/foo.service" scm-probe connect 127.0.0.1 "$PORT"
	refused_as_nobody "$TCG/b/other.service" scm-probe connect 127.0.0.1 "$PORT"
	expect_rejected
}
