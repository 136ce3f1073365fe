#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# Crashes (issue 6, item 3): a reload killed with SIGKILL (the loader and
# every bpftool and helper it runs) at random moments; a reload stopped with
# SIGTERM, whose trap takes back what the run did.  Marking must not stop
# between the kill and the next run, and the next plain run must recover by
# itself: one instance, four programs attached, marking right, nothing left
# in the run directory.

bats_require_minimum_version 1.7.0
load test_helper

ITERATIONS=25
OTHER=0x00000010

# now_ms: milliseconds since the epoch.
now_ms() {
	local t
	t=$(date +%s%N)
	echo $((t / 1000000))
}

setup() {
	common_setup
	# shellcheck disable=SC2034 # read by no_stray_pins
	GLOBAL_PINS_BEFORE=$(global_iter_pins)
}

teardown() {
	common_teardown
	# What a killed listener iterator left in the bpffs root: only pins
	# that a load killed here made (recorded by killed_load).
	local name id pgid
	while read -r name id; do
		[ "$(map_id "/sys/fs/bpf/$name")" = "$id" ] &&
			rm -f "/sys/fs/bpf/$name"
	done <"$BATS_TEST_TMPDIR/killed-map-ids" 2>/dev/null
	while read -r pgid; do
		rm -f "/sys/fs/bpf/same_cgroup_mark_iter_$pgid"
	done <"$BATS_TEST_TMPDIR/killed-pgids" 2>/dev/null
	true
}

# record_iterator_maps: note the ids of the instances' maps that a killed
# listener iterator may have left pinned in the bpffs root, for teardown.
record_iterator_maps() {
	local name g
	for name in scm_owner scm_binders; do
		for g in "$PINDIR"/g*/"$name"; do
			[ -e "$g" ] && echo "$name $(map_id "$g")" >>"$BATS_TEST_TMPDIR/killed-map-ids"
		done
	done
	true
}

# alive_in_group PGID: the processes of group PGID that are not zombies.
alive_in_group() {
	ps -eo pgid=,stat=,pid=,comm= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { print $3 "(" $4 ")" }' | xargs
}

# killed_load DELAY_MS: start a load of OTHER as the leader of a new
# process group, SIGKILL the whole group DELAY_MS later.  Prints what the
# run had left behind (instances, temporary files) when it was killed.
killed_load() {
	local pidfile=$BATS_TEST_TMPDIR/loader.pid pgid w
	rm -f "$pidfile"
	# sh makes itself a session and group leader, tells its PID (the group
	# id) and execs the loader, so the group is the loader and its children.
	# shellcheck disable=SC2016 # expanded by the inner sh
	setsid sh -c 'echo $$ >"$0" && exec "$@"' "$pidfile" \
		dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m "$OTHER" >/dev/null 2>&1 3>&- &
	local bg=$!
	for w in $(seq 1 200); do
		[ -s "$pidfile" ] && break
		sleep 0.005
	done
	pgid=$(cat "$pidfile")
	[ -n "$pgid" ] && [ "$pgid" -gt 1 ]
	echo "$pgid" >>"$BATS_TEST_TMPDIR/killed-pgids"
	sleep "$(printf '0.%03d' "$1")"
	kill -KILL -- "-$pgid" 2>/dev/null || true
	wait "$bg" 2>/dev/null || true
	# Nothing of the group may survive (zombies waiting for init aside).
	for w in $(seq 1 100); do
		[ -z "$(alive_in_group "$pgid")" ] && break
		sleep 0.01
	done
	[ -z "$(alive_in_group "$pgid")" ] || { echo "survived the kill: $(alive_in_group "$pgid")" >&2; return 1; }
	# The maps of a killed listener iterator, pinned in the bpffs root.
	record_iterator_maps
	echo "instances: $(ls "$PINDIR" 2>/dev/null | xargs), run dir: $(ls -A "$SAME_CGROUP_MARK_RUNDIR" | xargs)"
}

@test "a reload killed at random moments never stops the marking, and the next run recovers" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local p4=$PORT
	start_server "$TCG/a" "$NS" ::1 0
	local p6=$PORT
	local both=$((TEST_MASK | OTHER))

	# How long an undisturbed reload takes: the kills are spread over it.
	local t0 t1 span
	t0=$(now_ms)
	run -0 scm_load -m "$OTHER"
	run -0 scm_load
	t1=$(now_ms)
	span=$(((t1 - t0) / 2 + 20))
	[ "$span" -le 999 ] || span=999
	echo "a reload takes about $((span - 20)) ms; kills at 0-$span ms"

	local n delay left got g4 g6 leftovers=0
	for ((n = 1; n <= ITERATIONS; n++)); do
		delay=$((RANDOM % (span + 1)))
		left=$(killed_load "$delay")
		[[ "$left" == "instances: g"[0-9]*" g"* ]] && leftovers=$((leftovers + 1))
		echo "kill $n after $delay ms: $left"

		# Right after the kill: the old or the new instance (or both) is
		# attached and marks the same cgroup; never the other one.
		for got in "$(mark_of "$TCG/a" "$NS" 127.0.0.1 "$p4")" "$(mark_of "$TCG/a" "$NS" ::1 "$p6")"; do
			if [ $((got & both)) -eq 0 ]; then
				echo "kill $n after $delay ms: same-cgroup connect not marked ($got): marking stopped" >&2
				return 1
			fi
		done
		g4=$(mark_of "$TCG/b" "$NS" 127.0.0.1 "$p4")
		g6=$(mark_of "$TCG/b" "$NS" ::1 "$p6")
		if [ $((g4 & both)) -ne 0 ] || [ $((g6 & both)) -ne 0 ]; then
			echo "kill $n: cross-cgroup connect marked ($g4, $g6)" >&2
			return 1
		fi

		# The next plain run recovers.
		run --separate-stderr scm_load
		[ "$status" -eq 0 ] || { echo "recovery after kill $n: exit $status: $stderr" >&2; return 1; }
		exactly_one_instance "$TEST_MASK"
		rundir_clean "$TEST_MASK"
		no_stray_pins
		expect_mark "$TEST_MASK" "$TCG/a" "$NS" 127.0.0.1 "$p4"
		expect_mark "$TEST_MASK" "$TCG/a" "$NS" ::1 "$p6"
		expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$p4"
	done
	echo "kills that left a second instance behind: $leftovers of $ITERATIONS"
}

# termed_reload DELAY_MS: start a reload to OTHER and send SIGTERM to the
# loader alone DELAY_MS later (the bpftool it runs goes on to its end, then
# the loader's trap runs); wait for it to end.  Its stderr is kept in
# termed.err.
termed_reload() {
	dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m "$OTHER" >/dev/null 2>"$BATS_TEST_TMPDIR/termed.err" 3>&- &
	local pid=$!
	sleep "$(printf '0.%03d' "$1")"
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
}

# attached_instances: "gN:ATTACHED/PINNED" for each instance in PINDIR,
# the programs of it attached to TCG and pinned in it.
attached_instances() {
	local at g p id n a
	at=" $(prog_ids_at "$TCG") "
	for g in "$PINDIR"/g*; do
		[ -d "$g" ] || continue
		n=0 a=0
		for p in "$g"/scm_bind4 "$g"/scm_bind6 "$g"/scm_connect4 "$g"/scm_connect6 "$g"/scm_sockops; do
			[ -e "$p" ] || continue
			n=$((n + 1))
			id=$("$BPFTOOL" prog show pinned "$p" | sed -n '1s/:.*//p')
			case $at in *" $id "*) a=$((a + 1)) ;; esac
		done
		printf '%s:%d/%d\n' "${g##*/}" "$a" "$n"
	done | xargs
}

# one_whole_instance LIST: of the instances in LIST (attached_instances),
# one has all its 4 or 5 programs attached, the others none.
one_whole_instance() {
	local i whole=0
	for i in $1; do
		case ${i#*:} in
		0/*) ;;
		4/4 | 5/5) whole=$((whole + 1)) ;;
		*) return 1 ;;
		esac
	done
	[ "$whole" -eq 1 ]
}

@test "a reload stopped with SIGTERM at random moments ends with one whole instance attached, old or new" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local p4=$PORT
	local both=$((TEST_MASK | OTHER))
	local t0 span n delay got att
	t0=$(now_ms)
	run -0 scm_load -m "$OTHER"
	span=$(($(now_ms) - t0 + 20))
	[ "$span" -le 999 ] || span=999
	local seen_old=0 seen_new=0
	for ((n = 1; n <= ITERATIONS; n++)); do
		delay=$((RANDOM % (span + 1)))
		termed_reload "$delay"
		# What is attached is one instance, all of its programs: the
		# old one (rolled back) or the new one (committed; the old
		# one's pins may be left for the next run).
		att=$(attached_instances)
		echo "SIGTERM $n after $delay ms: $att"
		one_whole_instance "$att" || {
			echo "not one whole instance attached: $att; the loader said: $(cat "$BATS_TEST_TMPDIR/termed.err")" >&2
			return 1
		}
		got=$(mark_of "$TCG/a" "$NS" 127.0.0.1 "$p4")
		case $((got & both)) in
		$((TEST_MASK))) seen_old=$((seen_old + 1)) ;;
		$((OTHER))) seen_new=$((seen_new + 1)) ;;
		*) echo "SIGTERM $n: same-cgroup connect marked $got" >&2; return 1 ;;
		esac
		expect_mark 0x00000000 "$TCG/b" "$NS" 127.0.0.1 "$p4"
		run --separate-stderr scm_load
		[ "$status" -eq 0 ] || { echo "the run after SIGTERM $n: exit $status: $stderr" >&2; return 1; }
		exactly_one_instance "$TEST_MASK"
		rundir_clean "$TEST_MASK"
		no_stray_pins
	done
	echo "ended with the old mask $seen_old times, the new $seen_new times"
}

@test "a first load killed at random moments leaves nothing that the next load or unload does not remove" {
	local t0 t1 span n delay
	t0=$(now_ms)
	run -0 scm_load
	t1=$(now_ms)
	run -0 scm_unload
	span=$((t1 - t0 + 20))
	[ "$span" -le 999 ] || span=999
	echo "a first load takes about $((span - 20)) ms; kills at 0-$span ms"
	for ((n = 1; n <= 10; n++)); do
		delay=$((RANDOM % (span + 1)))
		echo "kill $n after $delay ms: $(killed_load "$delay") $(ls /sys/fs/bpf | grep -e '^scm_owner$' -e '^scm_binders$' -e '^same_cgroup_mark_iter_' | xargs)"
		if ((n % 2)); then
			# The next load recovers, also from a killed listener iterator.
			run --separate-stderr scm_load
			[ "$status" -eq 0 ] || { echo "load after kill $n: exit $status: $stderr" >&2; return 1; }
			exactly_one_instance "$TEST_MASK"
			rundir_clean "$TEST_MASK"
			no_stray_pins
			run -0 scm_unload
		else
			# So does an unload: nothing of the killed load may stay.
			run --separate-stderr scm_unload
			[ "$status" -eq 0 ] || { echo "unload after kill $n: exit $status: $stderr" >&2; return 1; }
		fi
		nothing_loaded
		no_stray_pins
	done
}

# killed_in_iterator: a first load, SIGKILLed (with its whole process group)
# when it starts the listener iterator, after its instance is attached and
# while the maps are pinned as /sys/fs/bpf/scm_owner and scm_binders for the
# iterator.
killed_in_iterator() {
	local w=$BATS_TEST_TMPDIR/bpftool-kill-in-iter real
	real=$(command -v "$BPFTOOL")
	cat >"$w" <<WRAP
#!/bin/sh
# The loader runs "iter pin" in a batch read from standard input.
if [ "\$*" = "-j batch file -" ]; then
	cmds=\$(cat)
	case \$cmds in
	*"iter pin "*)
		pgid=\$(ps -o pgid= -p \$\$ | tr -d ' ')
		echo "\$pgid" >>'$BATS_TEST_TMPDIR/killed-pgids'
		# The pins of the maps are made before the iterator loads.
		printf '%s\\n' "\$cmds" | grep '^map pin ' | '$real' "\$@" >/dev/null 2>&1
		kill -9 "-\$pgid" ;;
	esac
	printf '%s\\n' "\$cmds" | '$real' "\$@"
	exit
fi
exec '$real' "\$@"
WRAP
	chmod 0755 "$w"
	# A listener to recognise: without any, the loader skips the iterator.
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	BPFTOOL=$w setsid -w dash "$SCM_LOADER" -d "$PINDIR" -c "$TCG" -m "$OTHER" >/dev/null 2>&1 3>&- || true
	record_iterator_maps
	# Killed there: attached, and the iterator's pins of the maps are left.
	exactly_one_instance "$OTHER"
	[ -e /sys/fs/bpf/scm_owner ]
	[ -e /sys/fs/bpf/scm_binders ]
}

@test "the load after a first load killed in its listener iterator removes the iterator's pins" {
	killed_in_iterator
	run --separate-stderr scm_load
	[ "$status" -eq 0 ]
	exactly_one_instance "$TEST_MASK"
	no_stray_pins
}

@test "the unload after a first load killed in its listener iterator removes the iterator's pins" {
	killed_in_iterator
	run --separate-stderr scm_unload
	[ "$status" -eq 0 ]
	nothing_loaded
	no_stray_pins
}
