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
	local netns
	_iter_obj=$pkglibdir/same-cgroup-mark-iter.bpf.o
	# The network namespaces: one path for each, a process's where one
	# is in it (ls sorts /proc before /run).
	# shellcheck disable=SC2012 # ls -i prints each namespace's inode
	netns=$(ls -iLd /proc/[0-9]*/ns/net /run/netns/* 2>/dev/null |
		awk '!seen[$1]++ { print $2 }')
	listeners_may_exist "$netns" || return 0
	if [ ! -r "$_iter_obj" ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
		warn "no $_iter_obj or no kernel BTF: listeners bound before loading are not recognised until bound again"
		return 0
	fi
	if ! { flock -w 60 8 && run_listener_iterator "$1" "$netns"; } 8<"$bpffs_mount"; then
		warn "listeners bound before loading are not recognised until bound again"
	fi
	return 0
}

# listeners_may_exist NETNS: does a TCP socket listen in one of the network
# namespaces NETNS?  Loading the iterator costs more than a load (bpftool
# reads the kernel's BTF): at boot, before any service runs, it is skipped.
# A namespace that only /run/netns knows of may hold listeners.
listeners_may_exist() {
	local ns tables
	tables=
	for ns in $1; do
		case $ns in
		/proc/*/ns/net) tables="$tables ${ns%/ns/net}/net/tcp ${ns%/ns/net}/net/tcp6" ;;
		*) return 0 ;;
		esac
	done
	[ -n "$tables" ] || return 1
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
	}' $tables
}

# run_listener_iterator INSTANCE NETNS: pin the maps by name, load and pin
# the iterator, read it in each namespace, remove the pins again.
run_listener_iterator() {
	local it="$bpffs_mount/same_cgroup_mark_iter_$$" obj m ns p pins rc=0
	batch_word "listener iterator" "$_iter_obj" || return 1
	obj=$_w
	if ! remove_iterator_leftovers; then
		warn "$_in_the_way is not ours and is in the way"
		return 1
	fi
	for m in $iterator_maps; do
		m=${m%%:*}
		queue "pinning $1/$m as $bpffs_mount/$m" \
			"map pin pinned $1/$m $bpffs_mount/$m" ""
	done
	queue "loading $_iter_obj" "iter pin $obj $it" ""
	if run_batch; then
		# The iterator walks the namespace of the task that reads it.
		for ns in $2; do
			nsenter --net="$ns" cat "$it" >/dev/null 2>&1
		done
	else
		warn "$batch_error"
		rc=1
	fi
	pins=
	for p in "$it" $iterator_maps; do
		p=${p%%:*}
		[ "$p" = "$it" ] || p=$bpffs_mount/$p
		[ ! -e "$p" ] || pins="$pins $p"
	done
	# shellcheck disable=SC2086 # bpffs paths we made, without blanks
	[ -z "$pins" ] || rm -f -- $pins
	return "$rc"
}

# remove_iterator_leftovers: remove the pins of a run killed while its
# iterator ran; call with the lock on the bpffs mount held, under which they
# cannot belong to a live run.  Fails, removing nothing and naming it in
# $_in_the_way, when a pin with the name of one of $iterator_maps is not our
# map of that type.
remove_iterator_leftovers() {
	local p m pins=''
	for p in "$bpffs_mount"/same_cgroup_mark_iter_*; do
		[ ! -e "$p" ] || rm -f -- "$p"
	done
	for m in $iterator_maps; do
		p=$bpffs_mount/${m%%:*}
		[ -e "$p" ] || continue
		case $("$BPFTOOL" -j map show pinned "$p" 2>/dev/null |
			awk "$json_val"'{ print val($0, "type") ":" val($0, "name") }') in
		"${m#*:}:${m%%:*}") pins="$pins $p" ;;
		*) _in_the_way=$p; return 1 ;;
		esac
	done
	# shellcheck disable=SC2086 # bpffs paths we made, without blanks
	[ -z "$pins" ] || rm -f -- $pins
}

# clean_iterator_leftovers: the same, for a load or unload that does not run
# the iterator itself.
clean_iterator_leftovers() {
	local p
	for p in "$bpffs_mount"/same_cgroup_mark_iter_* $iterator_maps; do
		case $p in
		*:*) p=$bpffs_mount/${p%%:*} ;;
		esac
		[ -e "$p" ] || continue
		{ flock -w 60 8 && remove_iterator_leftovers; } 8<"$bpffs_mount" || :
		return 0
	done
}
