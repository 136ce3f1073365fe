# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "status": -s.  For each instance: its cgroup,
# the mask, level and mode read back from its .rodata map, whether each
# program is attached, and the counters.  Exit 0 when one instance is fully
# attached, 1 when anything is missing, 3 when nothing is loaded.
# Sourced by same-cgroup-mark-load.

do_status() {
	# Under the lock: a load or unload in progress is waited for.
	take_lock
	_insts=
	[ ! -d "$pindir" ] || _insts=$(list_instances)
	if [ -z "$_insts" ]; then
		printf 'state:    not loaded\npin dir:  %s\n' "$pindir"
		return 3
	fi
	_rc=0
	[ "$(printf '%s\n' "$_insts" | wc -l)" -eq 1 ] || _rc=1
	for _inst in $_insts; do
		if [ -L "$_inst/cgroup" ]; then
			_cg=$(readlink -- "$_inst/cgroup") || _cg='(unknown)'
		else
			_cg=$(readlink -- "$pindir/cgroup") || _cg='(unknown)'
		fi
		_rodata=$("$BPFTOOL" map dump pinned "$_inst/scm_rodata" 2>/dev/null)
		_mask=$(printf '%s\n' "$_rodata" | sed -n 's/.*"scm_mask": *\([0-9][0-9]*\).*/\1/p')
		[ -z "$_mask" ] || _mask=$(printf '0x%08x' "$_mask")
		_level=$(printf '%s\n' "$_rodata" | sed -n 's/.*"scm_level": *\([0-9][0-9]*\).*/\1/p')
		case $_level in
		'') _level='(unreadable)' ;;
		0) _level='0 (same cgroup)' ;;
		*) _level="$_level (same ancestor at depth $_level)" ;;
		esac
		# The sock_ops program belongs to an instance loaded with
		# scm_route_check 1 (older versions had no such setting).
		_route=$(printf '%s\n' "$_rodata" | sed -n 's/.*"scm_route_check": *\([0-9][0-9]*\).*/\1/p')
		_want=$hooks
		if [ "${_route:-0}" = 1 ]; then
			_mode='every local address (sock_ops program checks the route)'
			_want="$_want $route_hook"
		else
			_mode='loopback only (no sock_ops program)'
		fi
		_list=$(attached_ids "$_cg") || _rc=1
		_progs=
		_n=0
		_of=0
		for _h in $_want; do
			_of=$((_of + 1))
			_name=${_h%%:*}
			_id=
			if [ -e "$_inst/scm_$_name" ]; then
				_id=$(prog_id "$_inst/scm_$_name") || _rc=1
			fi
			if [ -n "$_id" ] && is_attached "$_id" "${_h#*:}" "$_list"; then
				_n=$((_n + 1))
				_how=attached
			else
				_how='NOT attached'
			fi
			_progs="$_progs$(printf '  %-9s id %-6s %-21s %s' "$_name" "${_id:--}" "${_h#*:}" "$_how")$nl"
		done
		[ "$_n" -eq "$_of" ] || _rc=1
		if [ "$_rc" -eq 0 ]; then
			echo "state:    loaded"
		else
			echo "state:    partly loaded (run $me to repair, or $me -u)"
		fi
		printf 'mask:     %s\nlevel:    %s\nmarking:  %s\ncgroup:   %s\npin dir:  %s\ninstance: %s\nprograms:\n%s' \
			"${_mask:-(unreadable)}" "$_level" "$_mode" "$_cg" "$pindir" "$_inst" "$_progs"
		print_counters "$_inst/scm_stats"
	done
	return "$_rc"
}

# print_counters PIN: the per-CPU counters of the programs, summed.
print_counters() {
	[ -e "$1" ] || return 0
	"$BPFTOOL" map dump pinned "$1" 2>/dev/null | awk '
		/"key":/ { k = $2; gsub(/[^0-9]/, "", k) }
		/"value":/ { v = $2; gsub(/[^0-9]/, "", v); sum[k] += v }
		END {
			# Key (enum scm_counter in the BPF source) and name, in
			# the order printed.
			n = split("0|marked|1|not marked: listener of another group|2|not marked: no listener|5|not marked: client group never bound TCP|7|not marked: group listens on no such port|6|not marked: destination not on this host|3|not marked: listener bound before loading|4|TCP binds recorded", f, "|")
			print "counters:"
			for (i = 1; i < n; i += 2)
				printf "  %-44s %.0f\n", f[i + 1], sum[f[i]]
		}'
}
