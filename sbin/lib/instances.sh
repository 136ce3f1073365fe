# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "instances": the pin directory and the
# instances in it.
#
# Each load is an instance, PIN_DIR/gN, holding the four programs and the
# maps ($instance_pins).  The symbolic link PIN_DIR/cgroup names the cgroup
# they are attached to; an instance loaded for another cgroup than the
# newest has a link "cgroup" of its own.  More than one instance means a
# run was interrupted: the next load or unload removes all but its own.
# Sourced by same-cgroup-mark-load.

# take_lock: serialise runs on $lockfile (fd 9, held until exit).
take_lock() {
	[ -d "$rundir" ] || mkdir -p -- "$rundir" || die "cannot create $rundir"
	exec 9>>"$lockfile" || die "cannot open lock file $lockfile"
	flock -w 60 9 || die "another $me holds $lockfile"
}

# mount_bpffs: mount bpffs on its usual mount point when the pin directory
# is below it and nothing is mounted there yet (a bare initramfs, a host
# without systemd).
mount_bpffs() {
	case $pindir in
	"$bpffs_mount"/*) ;;
	*) return 0 ;;
	esac
	[ "$(fs_magic "$bpffs_mount")" = "$BPF_FS_MAGIC" ] && return 0
	mount -t bpf -o mode=0700 bpf "$bpffs_mount" ||
		die "cannot mount bpffs on $bpffs_mount"
}

# list_instances: print the instance directories in PIN_DIR, oldest first.
list_instances() {
	local d n
	for d in "$pindir"/g*; do
		n=${d##*/g}
		case $n in
		'' | 0* | *[!0-9]*) continue ;;
		esac
		[ "${#n}" -le 9 ] && [ -d "$d" ] && printf '%s\n' "$n"
	done | sort -n | sed "s|^|$pindir/g|"
}

# instance_cgroup DIR: set _cg to the cgroup instance DIR was attached to:
# its own link "cgroup" when it has one, else the pin directory's.  Fails
# when that cgroup no longer exists (the kernel detached its programs).
instance_cgroup() {
	if [ -L "$1/cgroup" ]; then
		_cg=$(readlink -e -- "$1/cgroup")
	else
		_cg=$(readlink -e -- "$pindir/cgroup")
	fi
}

# pinned_progs DIR: print "TYPE PIN" for each program pinned in DIR.
pinned_progs() {
	local h
	for h in $hooks $route_hook; do
		[ ! -e "$1/scm_${h%%:*}" ] || printf '%s %s\n' "${h#*:}" "$1/scm_${h%%:*}"
	done
}

# attached_progs DIR: print "TYPE PIN" for each program of instance DIR
# that is attached to the instance's cgroup (asking bpftool).
attached_progs() {
	local list h pin id
	instance_cgroup "$1" || return 0
	list=$(attached_ids "$_cg") || return 1
	for h in $hooks $route_hook; do
		pin=$1/scm_${h%%:*}
		[ -e "$pin" ] || continue
		id=$(prog_id "$pin") || return 1
		[ -n "$id" ] || continue
		if is_attached "$id" "${h#*:}" "$list"; then
			printf '%s %s\n' "${h#*:}" "$pin"
		fi
	done
}

# make_pindir: create PIN_DIR if needed (rollback removes it again, with
# the cgroup link made in it).
make_pindir() {
	[ ! -d "$pindir" ] || return 0
	made_pindir=1
	mkdir -p -- "$pindir" || die "cannot create $pindir"
}

# record_cgroup: point PIN_DIR/cgroup to $cgroup, for the instance about to
# be loaded.  When it pointed elsewhere, the old instances without a link
# of their own get one first, so that the cgroup of every instance stays
# known whenever this run stops.
record_cgroup() {
	local want prev inst
	want=$(readlink -e -- "$cgroup") || die "cannot enter $cgroup"
	if [ -L "$pindir/cgroup" ]; then
		instance_cgroup "$pindir" && [ "$_cg" = "$want" ] && return 0
		prev=$(readlink -- "$pindir/cgroup") ||
			die "cannot read $pindir/cgroup"
		for inst in $old; do
			[ -L "$inst/cgroup" ] || ln -s -- "$prev" "$inst/cgroup" ||
				die "cannot record the cgroup of $inst"
		done
		rm -f -- "$pindir/cgroup" || die "cannot replace $pindir/cgroup"
	elif [ -e "$pindir/cgroup" ]; then
		die "$pindir/cgroup is not a symbolic link"
	fi
	ln -s -- "$cgroup" "$pindir/cgroup" ||
		die "cannot record the cgroup in $pindir/cgroup"
}

# detach_instances DIR...: detach the programs of the instances from the
# cgroups they are attached to; set keep_detached to how many of $keep's
# were.  One instance, what a completed run leaves, has its pins detached
# without asking first; a detach that fails there is a failure only when
# the program is still attached, and what is left is then asked for.  Of
# several instances (an interrupted run), what is attached is asked for.
detach_instances() {
	local ask='' inst progs rc
	keep_detached=0
	[ "$#" -le 1 ] || ask=1
	for inst in "$@"; do
		instance_cgroup "$inst" || continue
		if [ -n "$ask" ]; then
			progs=$(attached_progs "$inst") || return 1
		else
			progs=$(pinned_progs "$inst")
		fi
		while [ -n "$progs" ]; do
			while read -r _type _pin; do
				queue_detach "$_cg" "$_type" "$_pin" || return 1
			done <<END_OF_LIST
$progs
END_OF_LIST
			run_batch
			rc=$?
			[ "$inst" != "$keep" ] || keep_detached=$((keep_detached + batch_done))
			[ "$rc" -ne 0 ] || break
			failed_prog
			if [ -n "$ask" ] || still_attached "$_cg" "$_type" "$_pin"; then
				warn "$batch_error"
				return 1
			fi
			# It was not attached: detach what still is.
			progs=$(attached_progs "$inst") || return 1
		done
	done
}

# rollback_attached DIR: set _att to what of instance DIR is attached
# (attached_progs), or say that it cannot be told and fail (rollback).
rollback_attached() {
	_att=$(attached_progs "$1") && return 0
	warn "rollback: cannot tell what of $1 is attached; run $me again"
	return 1
}

# restore_instance DIR: attach again what of instance DIR is pinned but not
# attached (rollback).
restore_instance() {
	instance_cgroup "$1" || return 0
	rollback_attached "$1" || return 1
	while read -r _type _pin; do
		case $nl$_att$nl in
		*"$nl$_type $_pin$nl"*) ;;
		*) [ -z "$_type" ] || queue_attach "$_cg" "$_type" "$_pin" || return 1 ;;
		esac
	done <<END_OF_LIST
$(pinned_progs "$1")
END_OF_LIST
	run_all
}

# teardown_instance DIR: detach what of instance DIR is attached, then
# remove its pins (rollback).  The pins stay when a detach failed or what
# is attached cannot be told: a program attached without pins could not
# be detached by the next run.
teardown_instance() {
	if [ -n "$(pinned_progs "$1")" ] && instance_cgroup "$1"; then
		rollback_attached "$1" || return 1
		while read -r _type _pin; do
			[ -z "$_type" ] || queue_detach "$_cg" "$_type" "$_pin" || return 1
		done <<END_OF_LIST
$_att
END_OF_LIST
		run_all || return 1
	fi
	remove_instances "$1"
}

# remove_instances [-p] DIR...: remove exactly the pins we make, then the
# DIRs (rm -d removes a directory only when it is empty by then); with -p,
# then the pin directory's link and the pin directory, if empty, too.
remove_instances() {
	local pins='' and_pindir='' d pin left
	if [ "${1:-}" = -p ]; then
		and_pindir=1
		shift
	fi
	for d in "$@"; do
		for pin in $instance_pins cgroup; do
			[ ! -e "$d/$pin" ] && [ ! -L "$d/$pin" ] || pins="$pins $d/$pin"
		done
		pins="$pins $d"
	done
	if [ -n "$and_pindir" ]; then
		[ ! -L "$pindir/cgroup" ] || pins="$pins $pindir/cgroup"
		# Anything else in it keeps it: not ours to remove.
		left=
		for d in "$pindir"/* "$pindir"/.[!.]*; do
			[ -e "$d" ] || [ -L "$d" ] || continue
			case " $pins " in
			*" $d "*) ;;
			*) left=1 ;;
			esac
		done
		[ -n "$left" ] || pins="$pins $pindir"
	fi
	[ -n "$pins" ] || return 0
	# shellcheck disable=SC2086 # our paths never contain blanks
	rm -f -d -- $pins 2>/dev/null || warn "cannot remove all of $pins (unexpected files?)"
}
