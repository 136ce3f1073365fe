#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Who talks to whom (issue 12): local connects counted by pair of cgroups,
# "same-cgroup-mark-load -p" and "-j", and PAIRS=0.

bats_require_minimum_version 1.7.0
load test_helper

setup() {
	common_setup
}

pairs() {
	loader -d "$PINDIR" -p "$@"
}

# pairs_json PYTHON: run the Python expression PYTHON (it must be true) on
# the document of "-p -j", as d.
pairs_json() {
	local doc
	doc=$(pairs -j) || return 1
	printf '%s\n' "$doc" | python3 -c '
import json, sys
d = json.load(sys.stdin)
ok = eval(sys.argv[1])
if not ok:
    print(json.dumps(d, indent=1), file=sys.stderr)
sys.exit(0 if ok else 1)' "$1"
}

# pair_adds: the pairs added, as scm_pair_adds counts them (summed over the
# CPUs).
pair_adds() {
	bpftool -j map dump pinned "$(echo "$PINDIR"/g*/scm_pair_adds)" |
		python3 -c 'import json, sys; print(sum(v["value"] for v in json.load(sys.stdin)[0]["formatted"]["values"]))'
}

# rel CGROUP: CGROUP's path relative to the cgroup v2 mount, as -p shows it.
rel() {
	printf '%s\n' "${1#"$CGROOT"}"
}

@test "a same-cgroup pair and a cross-cgroup pair are counted, busiest first, with cgroups, port and marked" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	for _ in 1 2 3; do
		expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	done
	expect_mark "$Z" "$TCG/b" "$NS" ::ffff:127.0.0.1 "$PORT"
	# No listener: not counted.
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 1 || true
	run pairs
	echo "$output"
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "pairs since "*" UTC: 2 kept of at most 4096" ]]
	[[ "${lines[1]}" == *"connects marked  port  client -> listener" ]]
	[ "$(squeeze "${lines[2]}")" = "3 yes $PORT $(rel "$TCG/a") -> $(rel "$TCG/a")" ]
	[ "$(squeeze "${lines[3]}")" = "1 no $PORT $(rel "$TCG/b") -> $(rel "$TCG/a")" ]
	[ "${#lines[@]}" -eq 4 ]
	local a b
	a=$(stat -c %i "$TCG/a")
	b=$(stat -c %i "$TCG/b")
	pairs_json "d['counting'] and d['kept'] == 2 and d['max'] == 4096 and not d['full'] and d['dropped'] == 0 and d['level'] == 0"
	# One add per new pair, not per connect.
	[ "$(pair_adds)" -eq 2 ]
	pairs_json "abs(d['since'] - $(date +%s)) < 60"
	pairs_json "d['pairs'][0] == {'connects': 3, 'marked': True, 'shared_port': False, 'port': $PORT, 'client': {'id': $a, 'cgroup': '$(rel "$TCG/a")'}, 'listener': {'id': $a, 'cgroup': '$(rel "$TCG/a")', 'group_id': $a, 'group': '$(rel "$TCG/a")'}}"
	pairs_json "d['pairs'][1] == {'connects': 1, 'marked': False, 'shared_port': False, 'port': $PORT, 'client': {'id': $b, 'cgroup': '$(rel "$TCG/b")'}, 'listener': {'id': $a, 'cgroup': '$(rel "$TCG/a")', 'group_id': $a, 'group': '$(rel "$TCG/a")'}}"
}

@test "connects to the host's own other addresses are counted, connects to another host are not" {
	need_route
	setup_remote
	run -0 scm_load
	start_server "$TCG/a" "$NS" :: 0 --dualstack
	start_server "$TCG/b" "$EXTRA_NS" :: "$PORT" --dualstack
	expect_mark "$M" "$TCG/a" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" fd99::1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 10.99.0.1 "$PORT"
	expect_mark "$Z" "$TCG/a" "$NS" 10.99.0.2 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" fd99::2 "$PORT"
	pairs_json "len(d['pairs']) == 2"
	pairs_json "[(p['connects'], p['marked']) for p in d['pairs']] == [(2, True), (1, False)]"
}

@test "a listener bound before loading is counted with the cgroup the iterator recorded" {
	need_iterator
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	run -0 scm_load
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	run pairs
	echo "$output"
	[ "$(squeeze "${lines[2]}")" = "1 yes $PORT $(rel "$TCG/a") -> $(rel "$TCG/a")" ]
	[ "$(squeeze "${lines[3]}")" = "1 no $PORT $(rel "$TCG/b") -> $(rel "$TCG/a")" ]
}

@test "with a level, the listener's group is shown next to its cgroup" {
	mkdir -p "$TCG/a/x" "$TCG/a/y"
	run -0 scm_load -l 2
	start_server "$TCG/a/x" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a/y" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	run pairs
	echo "$output"
	[[ "${lines[1]}" == *"client -> listener (group at depth 2)" ]]
	[ "$(squeeze "${lines[2]}")" = "1 yes $PORT $(rel "$TCG/a/y") -> $(rel "$TCG/a/x") ($(rel "$TCG/a"))" ]
	[ "$(squeeze "${lines[3]}")" = "1 no $PORT $(rel "$TCG/b") -> $(rel "$TCG/a/x") ($(rel "$TCG/a"))" ]
	pairs_json "d['level'] == 2 and d['pairs'][0]['listener']['group_id'] == $(stat -c %i "$TCG/a")"
}

@test "a cgroup removed after its connects is shown as gone, with its id" {
	mkdir "$TCG/c"
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local c
	c=$(stat -c %i "$TCG/c")
	expect_mark "$Z" "$TCG/c" "$NS" 127.0.0.1 "$PORT"
	rmdir "$TCG/c"
	run pairs
	echo "$output"
	[ "$(squeeze "${lines[2]}")" = "1 no $PORT (gone, id $c) -> $(rel "$TCG/a")" ]
	pairs_json "d['pairs'][0]['client'] == {'id': $c, 'cgroup': None}"
}

@test "a full map says so and how many pairs it dropped to make room, and keeps the newest" {
	run -0 scm_load
	# 4304 listeners in a and as many connects from a, one each: 4304
	# pairs (a, a, a, port, marked) for a map of 4096.  Eight listening
	# processes of 538 sockets each: under the usual soft file limit of
	# 1024, which cannot be raised past the hard limit without
	# CAP_SYS_RESOURCE.
	local n=4304 i out=$BATS_TEST_TMPDIR/ports last
	for i in 1 2 3 4 5 6 7 8; do
		(in_cgroup "$TCG/a" "$NS" python3 -c '
import signal, socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    socks.append(s)
    print(s.getsockname()[1])
print("ready", flush=True)
signal.pause()' $((n / 8))) >"$out.$i" 2>&1 3>&- &
		PIDS="$PIDS $!"
	done
	for i in 1 2 3 4 5 6 7 8; do
		for _ in $(seq 1 600); do
			grep -qx ready "$out.$i" && break
			sleep 0.1
		done
		grep -qx ready "$out.$i" || { tail -n 3 "$out.$i"; false; }
	done
	grep -hvx ready "$out".[1-8] >"$out"
	[ "$(wc -l <"$out")" -eq "$n" ]
	(in_cgroup "$TCG/a" "$NS" python3 -c '
import socket, sys
for p in sys.stdin.read().split():
    socket.create_connection(("127.0.0.1", int(p))).close()') <"$out"
	last=$(sed -n "${n}p" "$out")
	run pairs
	echo "${lines[0]}"
	[[ "${lines[0]}" =~ ": "([0-9]+)" kept of at most 4096 (full: "([0-9]+)" dropped)"$ ]]
	local kept=${BASH_REMATCH[1]} dropped=${BASH_REMATCH[2]}
	# Every pair was added once: what is not kept was dropped.
	[ "$((kept + dropped))" -eq "$n" ]
	pairs_json "d['full'] and d['kept'] == $kept > 3000 and d['dropped'] == $dropped"
	pairs -o prometheus | grep -qx "same_cgroup_mark_pairs_dropped_total $dropped"
	# The newest pair is kept.  Which ones made room is the kernel's LRU
	# approximation: on 6.1 the very first pair may stay.
	pairs_json "any(p['port'] == $last and p['marked'] for p in d['pairs'])"
}

@test "pairs survive a reload; with PAIRS=0 the loaded programs hold no counting code and count nothing" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	local pairs_id adds_id
	pairs_id=$(map_id "$PINDIR"/g*/scm_pairs)
	adds_id=$(map_id "$PINDIR"/g*/scm_pair_adds)
	[ -n "$pairs_id" ] && [ -n "$adds_id" ]
	bpftool prog dump xlated pinned "$(echo "$PINDIR"/g*/scm_connect4)" | grep -q "map\[id:$pairs_id\]"
	[ "$(pair_adds)" -eq 1 ]
	printf 'PAIRS=0\n' >"$SAME_CGROUP_MARK_CONF"
	run -0 scm_load
	run scm_status
	[[ "$output" == *$'\n'"pairs:    not counted"$'\n'* ]]
	# The same maps, taken over, but no instruction of the connect
	# programs refers to the pairs any more.
	[ "$(map_id "$PINDIR"/g*/scm_pairs)" = "$pairs_id" ]
	[ "$(map_id "$PINDIR"/g*/scm_pair_adds)" = "$adds_id" ]
	[ "$(pair_adds)" -eq 1 ]
	local h
	for h in connect4 connect6; do
		run -0 bpftool prog dump xlated pinned "$(echo "$PINDIR"/g*/scm_$h)"
		[[ "$output" != *"map[id:$pairs_id]"* ]]
	done
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	pairs_json "not d['counting'] and len(d['pairs']) == 1 and d['pairs'][0]['connects'] == 1"
	run pairs
	[[ "${lines[0]}" == "pairs:    not counted (PAIRS=0)"* ]]
}

@test "-p and -j refuse what does not apply, and -p says when nothing is loaded" {
	run --separate-stderr pairs
	[ "$status" -eq 3 ]
	[[ "$output" == "state:    not loaded"* ]]
	run --separate-stderr pairs -j
	[ "$status" -eq 3 ]
	[ "$output" = "{\"state\":\"not loaded\",\"pin_dir\":\"$PINDIR\"}" ]
	run --separate-stderr loader -d "$PINDIR" -u -j
	[ "$status" -eq 2 ]
	[ "$stderr" = "same-cgroup-mark-load: -j only applies to -s and -p" ]
	run --separate-stderr loader -d "$PINDIR" -p -s
	[ "$status" -eq 2 ]
	run --separate-stderr scm_load -P 2
	[ "$status" -eq 2 ]
	[ "$stderr" = "same-cgroup-mark-load: invalid pair counting '2': expected 0 (off) or 1 (on)" ]
	printf 'PAIRS=yes\n' >"$SAME_CGROUP_MARK_CONF"
	run --separate-stderr scm_load
	[ "$status" -eq 2 ]
	[[ "$stderr" == *":1: invalid pair counting 'yes': expected 0 (off) or 1 (on)" ]]
	[ ! -e "$PINDIR" ]
}

@test "status -j is one JSON document with what status prints" {
	run -0 scm_load -m 0x10
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark 0x00000010 "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	run -0 loader -d "$PINDIR" -s -j
	printf '%s\n' "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
i = d["instances"][0]
assert d["state"] == "loaded" and d["pin_dir"] == sys.argv[1], d
assert i["mask"] == "0x00000010" and i["level"] == 0 and i["pairs"] is True, i
assert i["cgroup"] == sys.argv[2], i
assert all(p["attached"] and isinstance(p["id"], int) for p in i["programs"]), i
assert i["counters"]["marked"] == 1 and i["counters"]["binds"] == 1, i
assert len(i["programs"]) == int(sys.argv[3]), i
' "$PINDIR" "$TCG" "$SCM_PROGS"
	run loader -d "$PINDIR" -u
	run -3 loader -d "$PINDIR" -s -j
	[ "$output" = "{\"state\":\"not loaded\",\"pin_dir\":\"$PINDIR\",\"instances\":[]}" ]
}
