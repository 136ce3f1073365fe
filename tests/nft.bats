#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# The nftables rulesets of nft-examples/, as shipped, with the real nft and
# real connections.  Each ruleset is loaded only into the test's own network
# namespace (NS): never into the host's ruleset, which every test checks is
# unchanged.  The programs are loaded for the test's cgroup with the test's
# own SAME_CGROUP_MARK_RUNDIR, and nft reads that directory's mask.nft as the
# rulesets' /run/same-cgroup-mark/mask.nft (see nft_ns).

bats_require_minimum_version 1.7.0
load test_helper

PROTECTED=5432 # the first example port in protect-ports.nft
OPEN=53        # the example port in open_ports

setup() {
	common_setup
	HOST_RULESET=$(nft -s list ruleset)
	LOG_ALL_NETNS_WAS=
	run scm_load
	[ "$status" -eq 0 ] || { echo "load failed: $output" >&2; return 1; }
}

teardown() {
	local rc=0 now
	if [ -n "$LOG_ALL_NETNS_WAS" ]; then
		sysctl -qw net.netfilter.nf_log_all_netns="$LOG_ALL_NETNS_WAS" || rc=1
	fi
	now=$(nft -s list ruleset)
	if [ "$now" != "$HOST_RULESET" ]; then
		printf 'the host ruleset changed:\n%s\n' "$now" >&2
		rc=1
	fi
	common_teardown
	return "$rc"
}

# talk CGROUP NETNS ADDR PORT [OPTIONS]: connect from CGROUP in NETNS, send
# a line, read the server's echo; TALK_MARK is the client's SO_MARK.
talk() {
	local cg=$1 ns=$2 out rc=0
	shift 2
	out=$( (in_cgroup "$cg" "$ns" "$PROBE" connect "$@" --talk --timeout 5) 2>&1) || rc=$?
	TALK_MARK=$(printf '%s\n' "$out" | sed -n 's/^mark=//p')
	if [ "$rc" -ne 0 ] || [[ "$out" != *"echo=ok"* ]]; then
		printf 'connect %s (cgroup %s, netns %s): status %s:\n%s\n' "$*" "${cg#"$CGROOT"/}" "$ns" "$rc" "$out" >&2
		return 1
	fi
}

# refused CGROUP NETNS ADDR PORT [OPTIONS]: the connect fails with
# ECONNREFUSED: the ruleset's reset (a dropped SYN would time out after
# 5 s instead).  Not timed: a loaded machine is no failure.
refused() {
	local cg=$1 ns=$2 out rc=0
	shift 2
	out=$( (in_cgroup "$cg" "$ns" "$PROBE" connect "$@" --talk --timeout 5) 2>&1) || rc=$?
	if [ "$rc" -ne 1 ] || [[ "$out" != *"scm-probe: connect: Connection refused"* ]]; then
		printf 'connect %s (cgroup %s, netns %s): status %s, expected a refusal:\n%s\n' \
			"$*" "${cg#"$CGROOT"/}" "$ns" "$rc" "$out" >&2
		return 1
	fi
}

# remote_traffic_passes PORT: with a ruleset loaded in NS, connections from
# NS to the remote host's listener (another cgroup) and from the remote
# host to NS's listener on PORT (another cgroup) go through.
remote_traffic_passes() {
	local port=$1
	setup_remote
	start_server "$TCG/b" "$EXTRA_NS" :: "$port" --dualstack --echo
	start_server "$TCG/a" "$NS" :: "$port" --dualstack --echo
	talk "$TCG/a" "$NS" 10.99.0.2 "$port"
	talk "$TCG/a" "$NS" fd99::2 "$port"
	talk "$TCG/a" "$NS" ::ffff:10.99.0.2 "$port"
	talk "$TCG/b" "$EXTRA_NS" 10.99.0.1 "$port"
	talk "$TCG/b" "$EXTRA_NS" fd99::1 "$port"
}

# mask_followed RULESET PORT: after "same-cgroup-mark-load -m 0x10" and a
# reload of RULESET, the rules test 0x10 and a same-cgroup client (mark
# 0x10) passes.  Leaves a server of cgroup a on PORT (0: any free port; PORT
# is set to it).  The callers check that a cross-cgroup client carrying only
# the old mask, TEST_MASK, set by itself with SO_MARK, is not taken for a
# same-cgroup one.
mask_followed() {
	run scm_load -m 0x10
	[ "$status" -eq 0 ] || { echo "reload with -m 0x10 failed: $output" >&2; return 1; }
	grep -qx 'define SCM_MASK = 0x00000010' "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
	load_ruleset "$1"
	ip netns exec "$NS" nft list chain inet "$TABLE" local_connect |
		grep -q 'meta mark & 0x00000010 == 0x00000010 counter name "same_cgroup" accept'
	start_server "$TCG/a" "$NS" :: "$2" --dualstack --echo
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	same_mark "$TALK_MARK" 0x00000010
	talk "$TCG/a" "$NS" ::1 "$PORT"
	same_mark "$TALK_MARK" 0x00000010
	expect_counters same_cgroup=2
}

# --- every ruleset ---------------------------------------------------------

@test "every ruleset loads into a namespace with the loader's mask, adds only its own table and keeps the others" {
	ip netns exec "$NS" nft -f - <<'EOF'
table inet admin {
	chain output {
		type filter hook output priority filter; policy accept;
		counter
	}
}
EOF
	local r mask
	mask=$(printf 0x%08x "$TEST_MASK")
	for r in local-isolation audit protect-ports local-isolation; do
		load_ruleset "$r"
		run ip netns exec "$NS" nft list tables
		[ "$output" = $'table inet admin\ntable inet same_cgroup_mark' ] || { echo "$r: $output"; false; }
		run ip netns exec "$NS" nft list chain inet "$TABLE" local_connect
		[[ "$output" == *"meta mark & $mask == $mask counter name \"same_cgroup\" accept"* ]] ||
			{ echo "$r: $output"; false; }
		run ip netns exec "$NS" nft list chain inet "$TABLE" output
		[[ "$output" == *"type filter hook output priority filter; policy accept;"* ]] ||
			{ echo "$r: $output"; false; }
	done
	# Each is an nft script.
	for r in local-isolation audit protect-ports; do
		[ "$(head -n 1 "$EX/$r.nft")" = '#!/usr/sbin/nft -f' ]
	done
}

@test "a ruleset is refused as a whole while the loader has not published the mask, and the loaded one stays" {
	load_ruleset local-isolation
	before=$(ip netns exec "$NS" nft -s list ruleset)
	rm "$SAME_CGROUP_MARK_RUNDIR/mask.nft"
	run nft_ns -f "$EX/audit.nft"
	[ "$status" -ne 0 ]
	[[ "$output" == *"/run/same-cgroup-mark/mask.nft"* ]] || { echo "$output"; false; }
	[ "$(ip netns exec "$NS" nft -s list ruleset)" = "$before" ]
	# The loader publishes it again on its next load.
	run -0 scm_load
	load_ruleset audit
}

# --- local-isolation.nft ---------------------------------------------------

@test "local-isolation.nft accepts a same-cgroup local connection over IPv4, IPv6 and v4-mapped, with data both ways" {
	load_ruleset local-isolation
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	same_mark "$TALK_MARK" "$TEST_MASK"
	talk "$TCG/a" "$NS" ::1 "$PORT"
	talk "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PORT"
	talk "$TCG/a" "$NS" 127.0.0.53 "$PORT"
	# Counted once per connection, not per packet.
	expect_counters same_cgroup=4 open_port=0 rejected=0
}

@test "local-isolation.nft refuses a cross-cgroup local connection at once with ECONNREFUSED over IPv4, IPv6 and v4-mapped" {
	load_ruleset local-isolation
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	refused "$TCG/b" "$NS" ::1 "$PORT"
	refused "$TCG/b" "$NS" ::ffff:127.0.0.1 "$PORT"
	# The parent of the listener's cgroup is another cgroup too.
	refused "$TCG" "$NS" 127.0.0.1 "$PORT"
	expect_counters same_cgroup=0 open_port=0 rejected=4
	# The listener's own cgroup still gets through.
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
}

@test "local-isolation.nft keeps the allow-listed port 53 open to every cgroup, and ports added at run time too" {
	load_ruleset local-isolation
	start_server "$TCG/a" "$NS" :: "$OPEN" --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$OPEN"
	talk "$TCG/b" "$NS" ::1 "$OPEN"
	expect_counters open_port=2 rejected=0
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	ip netns exec "$NS" nft add element inet "$TABLE" open_ports "{ $PORT }"
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/b" "$NS" ::1 "$PORT"
	expect_counters open_port=4 rejected=1
}

@test "local-isolation.nft leaves connections to and from another host alone, in both families" {
	load_ruleset local-isolation
	remote_traffic_passes 4711
	expect_counters same_cgroup=0 open_port=0 rejected=0
}

@test "local-isolation.nft accepts a same-cgroup connection to the host's own non-loopback addresses and refuses a cross-cgroup one" {
	need_route
	load_ruleset local-isolation
	setup_remote
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	talk "$TCG/a" "$NS" fd99::1 "$PORT"
	talk "$TCG/a" "$NS" ::ffff:10.99.0.1 "$PORT"
	refused "$TCG/b" "$NS" 10.99.0.1 "$PORT"
	refused "$TCG/b" "$NS" fd99::1 "$PORT"
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_counters same_cgroup=4 rejected=2
}

@test "local-isolation.nft follows a mask changed with -m once it is loaded again" {
	mask_followed local-isolation 0
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark "$TEST_MASK"
	refused "$TCG/b" "$NS" ::1 "$PORT" --mark "$TEST_MASK"
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_counters same_cgroup=2 rejected=3
}

@test "switching from audit.nft to local-isolation.nft and back replaces the table in one step" {
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	load_ruleset audit
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	load_ruleset local-isolation
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	run ip netns exec "$NS" nft list tables
	[ "$output" = 'table inet same_cgroup_mark' ]
	load_ruleset audit
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	expect_counters would_reject=1
}

# --- audit.nft -------------------------------------------------------------

@test "audit.nft lets a same-cgroup local connection through over IPv4 and IPv6 and does not report it" {
	load_ruleset audit
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/a" "$NS" ::1 "$PORT"
	talk "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PORT"
	expect_counters same_cgroup=3 open_port=0 would_reject=0
}

@test "audit.nft lets a cross-cgroup local connection through over IPv4 and IPv6 and counts each once" {
	load_ruleset audit
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/b" "$NS" ::1 "$PORT"
	talk "$TCG/b" "$NS" ::ffff:127.0.0.1 "$PORT"
	talk "$TCG" "$NS" 127.0.0.1 "$PORT"
	expect_counters same_cgroup=0 open_port=0 would_reject=4
}

@test "audit.nft logs a cross-cgroup local connection to the kernel log with its prefix and the client's UID" {
	# The kernel logs from other namespaces than the initial one only with
	# nf_log_all_netns=1; teardown puts the old value back.
	LOG_ALL_NETNS_WAS=$(sysctl -n net.netfilter.nf_log_all_netns)
	sysctl -qw net.netfilter.nf_log_all_netns=1
	local seen lines _
	seen=$(dmesg | wc -l)
	load_ruleset audit
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/b" "$NS" ::1 "$PORT"
	expect_counters same_cgroup=1 would_reject=2
	for _ in $(seq 1 20); do
		lines=$(dmesg | tail -n +$((seen + 1)) | grep -F 'same-cgroup-mark audit: ' |
			grep -E " DPT=$PORT .* SYN " || true)
		[ "$(printf '%s\n' "$lines" | grep -c .)" -ge 2 ] && break
		sleep 0.1
	done
	printf '%s\n' "$lines" | grep -q 'SRC=127\.0\.0\.1 DST=127\.0\.0\.1 .* UID=0 ' ||
		{ echo "log: $lines"; false; }
	printf '%s\n' "$lines" | grep -q 'SRC=0000:0000:0000:0000:0000:0000:0000:0001 DST=0000:0000:0000:0000:0000:0000:0000:0001 .* UID=0 ' ||
		{ echo "log: $lines"; false; }
	# Exactly the two cross-cgroup connections, not the same-cgroup one.
	[ "$(printf '%s\n' "$lines" | grep -c .)" -eq 2 ] || { echo "log: $lines"; false; }
}

@test "audit.nft counts the allow-listed port 53 as open, not as a violation" {
	load_ruleset audit
	start_server "$TCG/a" "$NS" :: "$OPEN" --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$OPEN"
	talk "$TCG/b" "$NS" ::1 "$OPEN"
	expect_counters same_cgroup=0 open_port=2 would_reject=0
}

@test "audit.nft leaves connections to and from another host alone and does not count them" {
	load_ruleset audit
	remote_traffic_passes 4711
	expect_counters same_cgroup=0 open_port=0 would_reject=0
}

@test "audit.nft follows a mask changed with -m once it is loaded again" {
	mask_followed audit 0
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT" --mark "$TEST_MASK"
	talk "$TCG/b" "$NS" ::1 "$PORT" --mark "$TEST_MASK"
	expect_counters same_cgroup=2 would_reject=2
}

# --- protect-ports.nft -----------------------------------------------------

@test "protect-ports.nft accepts a same-cgroup connection to a protected port over IPv4 and IPv6, with data both ways" {
	load_ruleset protect-ports
	start_server "$TCG/a" "$NS" :: "$PROTECTED" --dualstack --echo
	talk "$TCG/a" "$NS" 127.0.0.1 "$PROTECTED"
	talk "$TCG/a" "$NS" ::1 "$PROTECTED"
	talk "$TCG/a" "$NS" ::ffff:127.0.0.1 "$PROTECTED"
	expect_counters same_cgroup=3 rejected=0
}

@test "protect-ports.nft refuses a cross-cgroup connection to a protected port at once with ECONNREFUSED over IPv4 and IPv6" {
	load_ruleset protect-ports
	start_server "$TCG/a" "$NS" :: "$PROTECTED" --dualstack --echo
	refused "$TCG/b" "$NS" 127.0.0.1 "$PROTECTED"
	refused "$TCG/b" "$NS" ::1 "$PROTECTED"
	refused "$TCG/b" "$NS" ::ffff:127.0.0.1 "$PROTECTED"
	expect_counters same_cgroup=0 rejected=3
}

@test "protect-ports.nft leaves ports it does not list open to every cgroup" {
	load_ruleset protect-ports
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/b" "$NS" ::1 "$PORT"
	start_server "$TCG/a" "$NS" :: "$OPEN" --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$OPEN"
	expect_counters same_cgroup=0 rejected=0
}

@test "protect-ports.nft protects a port added at run time" {
	load_ruleset protect-ports
	start_server "$TCG/a" "$NS" :: 0 --dualstack --echo
	talk "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	ip netns exec "$NS" nft add element inet "$TABLE" protected_ports "{ $PORT }"
	refused "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	talk "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_counters same_cgroup=1 rejected=1
}

@test "protect-ports.nft leaves connections to and from another host alone, also on a protected port" {
	load_ruleset protect-ports
	remote_traffic_passes "$PROTECTED"
	expect_counters same_cgroup=0 rejected=0
}

@test "protect-ports.nft follows a mask changed with -m once it is loaded again" {
	mask_followed protect-ports "$PROTECTED"
	refused "$TCG/b" "$NS" 127.0.0.1 "$PROTECTED" --mark "$TEST_MASK"
	refused "$TCG/b" "$NS" ::1 "$PROTECTED" --mark "$TEST_MASK"
	expect_counters same_cgroup=2 rejected=2
}
