# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "listeners": recognise the TCP listeners that
# were bound before the bind programs were attached.
#
# The iter/tcp program of same-cgroup-mark-iter.bpf.o, run once in every
# network namespace that may hold a listener, records each listener's
# cgroup and port in the new instance's scm_owner, scm_binders and
# scm_ports.  It finds those maps by libbpf's pin-by-name, pinned as
# $bpffs_mount/NAME only while it runs, under a lock on the bpffs mount.  Best effort: the load has succeeded already; a failure only
# warns.  Sourced by same-cgroup-mark-load.

# record_existing_listeners INSTANCE
record_existing_listeners() {
	_iter_obj=$pkglibdir/same-cgroup-mark-iter.bpf.o
	# The network namespaces: one path for each, a process's where one
	# is in it (ls sorts /proc before /run).
	# shellcheck disable=SC2012 # ls -i prints each namespace's inode
	_netns=$(ls -iLd /proc/[0-9]*/ns/net /run/netns/* 2>/dev/null |
		awk '!seen[$1]++ { print $2 }')
	listeners_may_exist "$_netns" || return 0
	if [ ! -r "$_iter_obj" ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
		warn "no $_iter_obj or no kernel BTF: listeners bound before loading are not recognised until bound again"
		return 0
	fi
	if ! { flock -w 60 8 && run_listener_iterator "$1" "$_netns"; } 8<"$bpffs_mount"; then
		warn "listeners bound before loading are not recognised until bound again"
	fi
	return 0
}

# listeners_may_exist NETNS: does a TCP socket listen in one of the network
# namespaces NETNS?  Loading the iterator costs more than a load (bpftool
# reads the kernel's BTF): at boot, before any service runs, it is skipped.
# A namespace that only /run/netns knows of may hold listeners.
listeners_may_exist() {
	_tables=
	for _ns in $1; do
		case $_ns in
		/proc/*/ns/net) _tables="$_tables ${_ns%/ns/net}/net/tcp ${_ns%/ns/net}/net/tcp6" ;;
		*) return 0 ;;
		esac
	done
	[ -n "$_tables" ] || return 1
	# Field 4 of /proc/net/tcp is the state; 0A is TCP_LISTEN.  A table
	# that cannot be read (its process just exited) may hold listeners.
	# shellcheck disable=SC2086 # /proc paths have no blanks
	awk 'BEGIN {
		for (i = 1; i < ARGC; i++) {
			while ((r = (getline l < ARGV[i])) > 0) {
				split(l, f)
				if (f[4] == "0A")
					exit 0
			}
			if (r < 0)
				exit 0
		}
		exit 1
	}' $_tables
}

# run_listener_iterator INSTANCE NETNS: pin the maps by name, load and pin
# the iterator, read it in each namespace, remove the pins again.
run_listener_iterator() {
	_it=$bpffs_mount/same_cgroup_mark_iter_$$
	batch_word "listener iterator" "$_iter_obj" || return 1
	if ! remove_iterator_leftovers; then
		warn "$_in_the_way is not ours and is in the way"
		return 1
	fi
	for _m in $iterator_maps; do
		_m=${_m%%:*}
		queue "pinning $1/$_m as $bpffs_mount/$_m" \
			"map pin pinned $1/$_m $bpffs_mount/$_m" ""
	done
	queue "loading $_iter_obj" "iter pin $_bw $_it" ""
	_rc=0
	if run_batch; then
		# The iterator walks the namespace of the task that reads it.
		for _ns in $2; do
			nsenter --net="$_ns" cat "$_it" >/dev/null 2>&1
		done
	else
		warn "$batch_error"
		_rc=1
	fi
	_pins=
	for _p in "$_it" $iterator_maps; do
		_p=${_p%%:*}
		[ "$_p" = "$_it" ] || _p=$bpffs_mount/$_p
		[ ! -e "$_p" ] || _pins="$_pins $_p"
	done
	# shellcheck disable=SC2086 # bpffs paths we made, without blanks
	[ -z "$_pins" ] || rm -f -- $_pins
	return "$_rc"
}

# remove_iterator_leftovers: remove the pins of a run killed while its
# iterator ran; call with the lock on the bpffs mount held, under which they
# cannot belong to a live run.  Fails, removing nothing and naming it in
# $_in_the_way, when a pin with the name of one of $iterator_maps is not our
# map of that type.
remove_iterator_leftovers() {
	for _p in "$bpffs_mount"/same_cgroup_mark_iter_*; do
		[ ! -e "$_p" ] || rm -f -- "$_p"
	done
	_pins=
	for _m in $iterator_maps; do
		_p=$bpffs_mount/${_m%%:*}
		[ -e "$_p" ] || continue
		case $("$BPFTOOL" -j map show pinned "$_p" 2>/dev/null |
			awk "$json_val"'{ print val($0, "type") ":" val($0, "name") }') in
		"${_m#*:}:${_m%%:*}") _pins="$_pins $_p" ;;
		*) _in_the_way=$_p; return 1 ;;
		esac
	done
	# shellcheck disable=SC2086 # bpffs paths we made, without blanks
	[ -z "$_pins" ] || rm -f -- $_pins
}

# clean_iterator_leftovers: the same, for a load or unload that does not run
# the iterator itself.
clean_iterator_leftovers() {
	for _p in "$bpffs_mount"/same_cgroup_mark_iter_* $iterator_maps; do
		case $_p in
		*:*) _p=$bpffs_mount/${_p%%:*} ;;
		esac
		[ -e "$_p" ] || continue
		{ flock -w 60 8 && remove_iterator_leftovers; } 8<"$bpffs_mount" || :
		return 0
	done
}
