# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "config": the settings of a run, from the
# options, else from the configuration file, else the defaults; each
# checked before anything is changed (usage_error: exit 2).
# Sourced by same-cgroup-mark-load.

mask_rule='expected 1 to 8 hexadecimal digits (optional 0x), not zero'
level_rule="expected a depth from 0 (same cgroup) to $max_level"
pairs_rule='expected 0 (off) or 1 (on)'

# normalize_mask VALUE: print VALUE as 0x%08x, or fail if it is not 1 to 8
# hexadecimal digits (optional 0x/0X) with a non-zero value.
normalize_mask() {
	_m=${1#0[xX]}
	case $_m in
	'' | *[!0-9a-fA-F]*) return 1 ;;
	esac
	[ "${#_m}" -le 8 ] || return 1
	_m=$(printf '%d' "0x$_m") || return 1
	[ "$_m" -ne 0 ] || return 1
	printf '0x%08x\n' "$_m"
}

# normalize_level VALUE: print VALUE as a decimal from 0 to max_level.
normalize_level() {
	_l=$1
	case $_l in
	'' | *[!0-9]*) return 1 ;;
	esac
	while [ "${#_l}" -gt 1 ] && [ "${_l#0}" != "$_l" ]; do
		_l=${_l#0}
	done
	[ "${#_l}" -le 2 ] && [ "$_l" -le "$max_level" ] || return 1
	printf '%s\n' "$_l"
}

# trim TEXT: set _t to TEXT without leading and trailing blanks.
trim() {
	_t=$1
	_t=${_t#"${_t%%[![:space:]]*}"}
	_t=${_t%"${_t##*[![:space:]]}"}
}

# read_config: fill cfg_* from $config, a KEY=VALUE file read as data,
# never executed.  Root reads it at boot: one that others may write, or
# that holds NUL bytes (which the shell's read would drop), is refused.
cfg_mask=
cfg_level=
cfg_pairs=
cfg_cgroup=
cfg_pindir=
read_config() {
	[ -e "$config" ] || [ -L "$config" ] || return 0
	if [ ! -f "$config" ] || [ ! -r "$config" ]; then
		usage_error "cannot read configuration file $config"
	fi
	# Mode, numeric owner and size: fields 1, 3 and 5 of ls -ln.
	# shellcheck disable=SC2012 # ls -ln is the portable way to get them
	_perm=$(ls -ldnL -- "$config" 2>/dev/null)
	set -f
	# shellcheck disable=SC2086 # split on purpose
	set -- $_perm
	set +f
	case ${1:-}:${3:-} in
	?????w???*:* | ????????w?*:*)
		usage_error "configuration file $config is writable by group or others" ;;
	*:0) ;;
	*) usage_error "configuration file $config is not owned by root" ;;
	esac
	_size=${5:-}

	# The bytes read are counted: fewer than the file has means NUL
	# bytes, refused before any other error in it is reported.
	_n=0
	_bytes=0
	_err=
	while :; do
		_eol=1
		IFS= read -r _line || {
			_eol=0
			[ -n "$_line" ] || break
		}
		_n=$((_n + 1))
		_bytes=$((_bytes + ${#_line} + _eol))
		[ -z "$_err" ] || continue
		# Long lines are refused before the pattern matching below,
		# whose cost grows with the square of the length.
		if [ "${#_line}" -gt "$max_line" ]; then
			_err="$config:$_n: line longer than $max_line characters"
			continue
		fi
		config_line "$_line" || _err="$config:$_n: $_err"
	done <"$config" || usage_error "cannot read configuration file $config"
	[ "$_bytes" = "$_size" ] ||
		usage_error "configuration file $config contains NUL bytes"
	[ -z "$_err" ] || usage_error "$_err"
}

# config_line LINE: take the setting of one line of the configuration; on
# an error set _err to what is wrong and fail.
config_line() {
	trim "$1"
	case $_t in
	'' | '#'*) return 0 ;;
	*=*) ;;
	*) _err="expected KEY=VALUE"; return 1 ;;
	esac
	_line=$_t
	trim "${_line%%=*}"
	_key=$_t
	trim "${_line#*=}"
	_val=$_t
	case $_val in
	\"*\" | \'*\') _val=${_val#?} _val=${_val%?} ;;
	esac
	case $_key in
	MASK | LEVEL | PAIRS | CGROUP | PIN_DIR) ;;
	*) _err="unknown setting '$_key'"; return 1 ;;
	esac
	if [ -z "$_val" ]; then
		_err="empty value for $_key"
		return 1
	fi
	case $_key in
	MASK)
		cfg_mask=$(normalize_mask "$_val") || {
			_err="invalid mask '$_val': $mask_rule"
			return 1
		} ;;
	LEVEL)
		cfg_level=$(normalize_level "$_val") || {
			_err="invalid level '$_val': $level_rule"
			return 1
		} ;;
	PAIRS)
		case $_val in
		0 | 1) cfg_pairs=$_val ;;
		*) _err="invalid pair counting '$_val': $pairs_rule"; return 1 ;;
		esac ;;
	CGROUP) cfg_cgroup=$_val ;;
	PIN_DIR) cfg_pindir=$_val ;;
	esac
}

# fs_magic PATH: print the filesystem magic of PATH in hex.
fs_magic() {
	stat -f -c %t -- "$1" 2>/dev/null
}

# cgroup2_mount: print the first cgroup v2 mount point (/sys/fs/cgroup, or
# /sys/fs/cgroup/unified on a hybrid host).
cgroup2_mount() {
	_mp=$(awk '{
		for (i = 7; i < NF; i++)
			if ($i == "-") {
				if ($(i + 1) == "cgroup2") { print $5; exit }
				break
			}
	}' /proc/self/mountinfo) || return 1
	[ -n "$_mp" ] || return 1
	# mountinfo escapes space, tab, newline and backslash as \ooo.
	printf '%b\n' "$_mp"
}

# check_pindir DIR: DIR must be absolute, made of letters, digits, "_", "-"
# and "/" only (bpffs refuses "."; no blanks or glob characters keeps every
# path derived from it safe to split) and lie on bpffs, or below the usual
# bpffs mount point, which is mounted on demand.
check_pindir() {
	[ "${#1}" -le "$max_path" ] ||
		usage_error "pin directory is longer than $max_path characters"
	case $1 in
	/*) ;;
	*) usage_error "pin directory '$1' is not an absolute path" ;;
	esac
	case $1 in
	*.*) usage_error "pin directory '$1' contains '.', which bpffs does not allow" ;;
	*[!A-Za-z0-9_/-]*)
		usage_error "pin directory '$1' may only contain letters, digits, '_', '-' and '/'" ;;
	esac
	# The deepest part that exists.  An unload running now may remove
	# it while it is looked at: then look again.
	_p=$1
	while :; do
		while [ ! -e "$_p" ]; do
			_p=${_p%/*}
			[ -n "$_p" ] || _p=/
		done
		[ -d "$_p" ] || usage_error "pin directory '$1': $_p is not a directory"
		_m=$(fs_magic "$_p")
		if [ -n "$_m" ] || [ -e "$_p" ]; then
			break
		fi
	done
	[ "$_m" = "$BPF_FS_MAGIC" ] || [ "$_p" = "$bpffs_mount" ] ||
		usage_error "pin directory '$1' is not on a BPF filesystem (bpffs)"
}

check_cgroup() {
	[ "${#1}" -le "$max_path" ] ||
		usage_error "cgroup directory is longer than $max_path characters"
	[ -d "$1" ] || usage_error "cgroup directory '$1' does not exist"
	[ "$(fs_magic "$1")" = "$CGROUP2_SUPER_MAGIC" ] ||
		usage_error "cgroup directory '$1' is not on a cgroup v2 filesystem"
	batch_word "cgroup directory" "$1" >/dev/null || exit 2
}

# settle_settings: set mask, level, pairs and pindir from the options (opt_*),
# else the configuration, else the defaults, and check them.
settle_settings() {
	read_config
	if [ -n "$opt_mask" ]; then
		mask=$(normalize_mask "$opt_mask") ||
			usage_error "invalid mask '$opt_mask': $mask_rule"
	else
		mask=${cfg_mask:-$default_mask}
	fi
	if [ -n "$opt_level" ]; then
		level=$(normalize_level "$opt_level") ||
			usage_error "invalid level '$opt_level': $level_rule"
	else
		level=${cfg_level:-0}
	fi
	case ${opt_pairs:-${cfg_pairs:-1}} in
	0 | 1) pairs=${opt_pairs:-${cfg_pairs:-1}} ;;
	*) usage_error "invalid pair counting '$opt_pairs': $pairs_rule" ;;
	esac
	pindir=${opt_pindir:-${cfg_pindir:-$default_pindir}}
	case $pindir in
	*/) [ "$pindir" = / ] || pindir=${pindir%/} ;;
	esac
	check_pindir "$pindir"
}

# warn_mask_collisions: warn, naming the rule, about each policy routing
# rule of this network namespace (IPv4 and IPv6) whose fwmark shares bits
# with the mask: ORing the mask into a socket's mark changes what such a
# rule sees.  A rule without a mask tests every bit.  Only a warning: the
# administrator may mean it.
warn_mask_collisions() {
	command -v ip >/dev/null 2>&1 || return 0
	for _fam in 4 6; do
		_rules=$(ip -"$_fam" rule show 2>/dev/null) || continue
		while IFS= read -r _r; do
			case $_r in
			*[[:space:]]fwmark\ *) ;;
			*) continue ;;
			esac
			_f=${_r#*fwmark }
			_f=${_f%%[[:space:]]*}
			case $_f in
			*/*) _fm=${_f#*/} ;;
			*) _fm=0xffffffff ;;
			esac
			# ip prints hexadecimal; anything else is not evaluated.
			case $_fm in
			0x | 0x*[!0-9a-fA-F]* | 0x?????????*) continue ;;
			0x*) ;;
			*) continue ;;
			esac
			[ $((mask & _fm)) -ne 0 ] || continue
			trim "${_r#*:}"
			warn "mask $mask shares bits with IPv$_fam routing rule ${_r%%:*} ($_t): marked connections may be routed by other tables"
		done <<END_OF_RULES
$_rules
END_OF_RULES
	done
}

# settle_cgroup: set cgroup, for a load, and check it.
settle_cgroup() {
	cgroup=${opt_cgroup:-$cfg_cgroup}
	if [ -z "$cgroup" ]; then
		cgroup=$(cgroup2_mount) || die "no cgroup v2 filesystem is mounted"
	fi
	check_cgroup "$cgroup"
}
