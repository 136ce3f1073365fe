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
	for _d in "$pindir"/g*; do
		_n=${_d##*/g}
		case $_n in
		'' | 0* | *[!0-9]*) continue ;;
		esac
		[ "${#_n}" -le 9 ] && [ -d "$_d" ] && printf '%s\n' "$_n"
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
	for _h in $hooks $route_hook; do
		[ ! -e "$1/scm_${_h%%:*}" ] || printf '%s %s\n' "${_h#*:}" "$1/scm_${_h%%:*}"
	done
}

# attached_progs DIR: print "TYPE PIN" for each program of instance DIR
# that is attached to the instance's cgroup (asking bpftool).
attached_progs() {
	instance_cgroup "$1" || return 0
	_list=$(attached_ids "$_cg") || return 1
	for _h in $hooks $route_hook; do
		_pin=$1/scm_${_h%%:*}
		[ -e "$_pin" ] || continue
		_id=$(prog_id "$_pin") || return 1
		[ -n "$_id" ] || continue
		if is_attached "$_id" "${_h#*:}" "$_list"; then
			printf '%s %s\n' "${_h#*:}" "$_pin"
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
	_want=$(readlink -e -- "$cgroup") || die "cannot enter $cgroup"
	if [ -L "$pindir/cgroup" ]; then
		instance_cgroup "$pindir" && [ "$_cg" = "$_want" ] && return 0
		_prev=$(readlink -- "$pindir/cgroup") ||
			die "cannot read $pindir/cgroup"
		for _inst in $old; do
			[ -L "$_inst/cgroup" ] || ln -s -- "$_prev" "$_inst/cgroup" ||
				die "cannot record the cgroup of $_inst"
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
	_ask=
	keep_detached=0
	[ "$#" -le 1 ] || _ask=1
	for _inst in "$@"; do
		instance_cgroup "$_inst" || continue
		if [ -n "$_ask" ]; then
			_progs=$(attached_progs "$_inst") || return 1
		else
			_progs=$(pinned_progs "$_inst")
		fi
		while [ -n "$_progs" ]; do
			while read -r _type _pin; do
				queue_detach "$_cg" "$_type" "$_pin" || return 1
			done <<END_OF_LIST
$_progs
END_OF_LIST
			run_batch
			_rc=$?
			[ "$_inst" != "$keep" ] || keep_detached=$((keep_detached + batch_done))
			[ "$_rc" -ne 0 ] || break
			failed_prog
			if [ -n "$_ask" ] || still_attached "$_cg" "$_type" "$_pin"; then
				warn "$batch_error"
				return 1
			fi
			# It was not attached: detach what still is.
			_progs=$(attached_progs "$_inst") || return 1
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
	_pins=
	_and_pindir=
	if [ "${1:-}" = -p ]; then
		_and_pindir=1
		shift
	fi
	for _d in "$@"; do
		for _pin in $instance_pins cgroup; do
			[ ! -e "$_d/$_pin" ] && [ ! -L "$_d/$_pin" ] || _pins="$_pins $_d/$_pin"
		done
		_pins="$_pins $_d"
	done
	if [ -n "$_and_pindir" ]; then
		[ ! -L "$pindir/cgroup" ] || _pins="$_pins $pindir/cgroup"
		# Anything else in it keeps it: not ours to remove.
		_left=
		for _d in "$pindir"/* "$pindir"/.[!.]*; do
			[ -e "$_d" ] || [ -L "$_d" ] || continue
			case " $_pins " in
			*" $_d "*) ;;
			*) _left=1 ;;
			esac
		done
		[ -n "$_left" ] || _pins="$_pins $pindir"
	fi
	[ -n "$_pins" ] || return 0
	# shellcheck disable=SC2086 # our paths never contain blanks
	rm -f -d -- $_pins 2>/dev/null || warn "cannot remove all of $_pins (unexpected files?)"
}
