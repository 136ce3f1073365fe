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
	local m
	m=${1#0[xX]}
	case $m in
	'' | *[!0-9a-fA-F]*) return 1 ;;
	esac
	[ "${#m}" -le 8 ] || return 1
	m=$(printf '%d' "0x$m") || return 1
	[ "$m" -ne 0 ] || return 1
	printf '0x%08x\n' "$m"
}

# normalize_level VALUE: print VALUE as a decimal from 0 to max_level.
normalize_level() {
	local l
	l=$1
	case $l in
	'' | *[!0-9]*) return 1 ;;
	esac
	while [ "${#l}" -gt 1 ] && [ "${l#0}" != "$l" ]; do
		l=${l#0}
	done
	[ "${#l}" -le 2 ] && [ "$l" -le "$max_level" ] || return 1
	printf '%s\n' "$l"
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
	local bytes eol n perm size line
	[ -e "$config" ] || [ -L "$config" ] || return 0
	if [ ! -f "$config" ] || [ ! -r "$config" ]; then
		usage_error "cannot read configuration file $config"
	fi
	# Mode, numeric owner and size: fields 1, 3 and 5 of ls -ln.
	# shellcheck disable=SC2012 # ls -ln is the portable way to get them
	perm=$(ls -ldnL -- "$config" 2>/dev/null)
	set -f
	# shellcheck disable=SC2086 # split on purpose
	set -- $perm
	set +f
	case ${1:-}:${3:-} in
	?????w???*:* | ????????w?*:*)
		usage_error "configuration file $config is writable by group or others" ;;
	*:0) ;;
	*) usage_error "configuration file $config is not owned by root" ;;
	esac
	size=${5:-}

	# The bytes read are counted: fewer than the file has means NUL
	# bytes, refused before any other error in it is reported.
	n=0
	bytes=0
	_err=
	while :; do
		eol=1
		IFS= read -r line || {
			eol=0
			[ -n "$line" ] || break
		}
		n=$((n + 1))
		bytes=$((bytes + ${#line} + eol))
		[ -z "$_err" ] || continue
		# Long lines are refused before the pattern matching below,
		# whose cost grows with the square of the length.
		if [ "${#line}" -gt "$max_line" ]; then
			_err="$config:$n: line longer than $max_line characters"
			continue
		fi
		config_line "$line" || _err="$config:$n: $_err"
	done <"$config" || usage_error "cannot read configuration file $config"
	[ "$bytes" = "$size" ] ||
		usage_error "configuration file $config contains NUL bytes"
	[ -z "$_err" ] || usage_error "$_err"
}

# config_line LINE: take the setting of one line of the configuration; on
# an error set _err to what is wrong and fail.
config_line() {
	local key val line
	trim "$1"
	case $_t in
	'' | '#'*) return 0 ;;
	*=*) ;;
	*) _err="expected KEY=VALUE"; return 1 ;;
	esac
	line=$_t
	trim "${line%%=*}"
	key=$_t
	trim "${line#*=}"
	val=$_t
	case $val in
	\"*\" | \'*\') val=${val#?} val=${val%?} ;;
	esac
	case $key in
	MASK | LEVEL | PAIRS | CGROUP | PIN_DIR) ;;
	*) _err="unknown setting '$key'"; return 1 ;;
	esac
	if [ -z "$val" ]; then
		_err="empty value for $key"
		return 1
	fi
	case $key in
	MASK)
		cfg_mask=$(normalize_mask "$val") || {
			_err="invalid mask '$val': $mask_rule"
			return 1
		} ;;
	LEVEL)
		cfg_level=$(normalize_level "$val") || {
			_err="invalid level '$val': $level_rule"
			return 1
		} ;;
	PAIRS)
		case $val in
		0 | 1) cfg_pairs=$val ;;
		*) _err="invalid pair counting '$val': $pairs_rule"; return 1 ;;
		esac ;;
	CGROUP) cfg_cgroup=$val ;;
	PIN_DIR) cfg_pindir=$val ;;
	esac
}

# fs_magic PATH: print the filesystem magic of PATH in hex.
fs_magic() {
	stat -f -c %t -- "$1" 2>/dev/null
}

# cgroup2_mount: print the first cgroup v2 mount point (/sys/fs/cgroup, or
# /sys/fs/cgroup/unified on a hybrid host).
cgroup2_mount() {
	local mp
	mp=$(awk '{
		for (i = 7; i < NF; i++)
			if ($i == "-") {
				if ($(i + 1) == "cgroup2") { print $5; exit }
				break
			}
	}' /proc/self/mountinfo) || return 1
	[ -n "$mp" ] || return 1
	# mountinfo escapes space, tab, newline and backslash as \ooo.
	printf '%b\n' "$mp"
}

# check_pindir DIR: DIR must be absolute, made of letters, digits, "_", "-"
# and "/" only (bpffs refuses "."; no blanks or glob characters keeps every
# path derived from it safe to split) and lie on bpffs, or below the usual
# bpffs mount point, which is mounted on demand.
check_pindir() {
	local p m
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
	p=$1
	while :; do
		while [ ! -e "$p" ]; do
			p=${p%/*}
			[ -n "$p" ] || p=/
		done
		[ -d "$p" ] || usage_error "pin directory '$1': $p is not a directory"
		m=$(fs_magic "$p")
		if [ -n "$m" ] || [ -e "$p" ]; then
			break
		fi
	done
	[ "$m" = "$BPF_FS_MAGIC" ] || [ "$p" = "$bpffs_mount" ] ||
		usage_error "pin directory '$1' is not on a BPF filesystem (bpffs)"
}

check_cgroup() {
	[ "${#1}" -le "$max_path" ] ||
		usage_error "cgroup directory is longer than $max_path characters"
	[ -d "$1" ] || usage_error "cgroup directory '$1' does not exist"
	[ "$(fs_magic "$1")" = "$CGROUP2_SUPER_MAGIC" ] ||
		usage_error "cgroup directory '$1' is not on a cgroup v2 filesystem"
	batch_word "cgroup directory" "$1" || exit 2
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
	local f fam fm r rules
	command -v ip >/dev/null 2>&1 || return 0
	for fam in 4 6; do
		rules=$(ip -"$fam" rule show 2>/dev/null) || continue
		while IFS= read -r r; do
			case $r in
			*[[:space:]]fwmark\ *) ;;
			*) continue ;;
			esac
			f=${r#*fwmark }
			f=${f%%[[:space:]]*}
			case $f in
			*/*) fm=${f#*/} ;;
			*) fm=0xffffffff ;;
			esac
			# ip prints hexadecimal; anything else is not evaluated.
			case $fm in
			0x | 0x*[!0-9a-fA-F]* | 0x?????????*) continue ;;
			0x*) ;;
			*) continue ;;
			esac
			[ $((mask & fm)) -ne 0 ] || continue
			trim "${r#*:}"
			warn "mask $mask shares bits with IPv$fam routing rule ${r%%:*} ($_t): marked connections may be routed by other tables"
		done <<END_OF_RULES
$rules
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
