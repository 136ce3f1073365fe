# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "status": -s and -p, as text, as one JSON
# document (-j, -o json) or in Prometheus's text exposition format
# (-o prometheus), for node_exporter's textfile collector.
#   -s  for each instance: its cgroup, the mask, level, mode and pair
#       counting read back from its .rodata map, whether each program is
#       attached, and the counters.  Exit 0 when one instance is fully
#       attached, 1 when anything is missing, 3 when nothing is loaded.
#   -p  the local connections counted by pair of cgroups, busiest first.
#       Exit 0, or 3 when nothing is loaded.
# Sourced by same-cgroup-mark-load.

# json_awk: awk functions for JSON output.  js(S) is S as a JSON string:
# quote, backslash and control characters escaped.  Call js_init() first.
json_awk='
function js_init(   i) {
	for (i = 1; i < 32; i++)
		esc[sprintf("%c", i)] = sprintf("\\u%04x", i)
	esc["\n"] = "\\n"
	esc["\""] = "\\\""
	esc["\\"] = "\\\\"
}
function js(s,   out, i, n, c) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		out = out ((c in esc) ? esc[c] : c)
	}
	return "\"" out "\""
}
'

# json_str TEXT: TEXT as a JSON string.
json_str() {
	SCM_JS=$1 awk "$json_awk"'BEGIN { js_init(); printf "%s", js(ENVIRON["SCM_JS"]) }'
}

# prom_awk: awk functions for Prometheus output.  lv(S) is S as a label
# value: backslash, double quote and line break escaped, and what is not
# UTF-8 (or another control character) replaced by U+FFFD, so that no
# cgroup name can break the file.  Call prom_init() first.
prom_awk='
function prom_init(   i) {
	for (i = 0; i < 256; i++)
		ord[sprintf("%c", i)] = i
}
function lv(s,   out, i, n, c, b, b2, need, j, ok) {
	out = ""
	n = length(s)
	for (i = 1; i <= n; i++) {
		c = substr(s, i, 1)
		b = ord[c]
		if (c == "\\") { out = out "\\\\"; continue }
		if (c == "\"") { out = out "\\\""; continue }
		if (c == "\n") { out = out "\\n"; continue }
		if (b >= 32 && b < 127) { out = out c; continue }
		need = (b >= 194 && b < 224) ? 1 : (b >= 224 && b < 240) ? 2 : (b >= 240 && b < 245) ? 3 : 0
		ok = need > 0 && i + need <= n
		for (j = 1; ok && j <= need; j++) {
			b2 = ord[substr(s, i + j, 1)]
			ok = b2 >= 128 && b2 < 192
			# No overlong forms, surrogates or code points past U+10FFFF.
			if (ok && j == 1)
				ok = !(b == 224 && b2 < 160) && !(b == 237 && b2 >= 160) &&
				    !(b == 240 && b2 < 144) && !(b == 244 && b2 >= 144)
		}
		if (ok) {
			out = out substr(s, i, need + 1)
			i += need
		} else {
			out = out "\357\277\275"
		}
	}
	return "\"" out "\""
}
function help(name, type, text) {
	printf "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type
}
'

# map_dump PIN: the entries of the map pinned at PIN as bpftool's BTF
# shows them (the "formatted" part of "bpftool -j map dump"), one member
# with a number or string value per line: "ENTRY NAME VALUE", ENTRY
# counting from 0.  A struct's members come under its own member's name
# (ENTRY client 12); a per-CPU value as "ENTRY cpu N" then "ENTRY value
# V".  Nothing for a map without BTF, or when bpftool fails.
map_dump() {
	"$BPFTOOL" -j map dump pinned "$1" 2>/dev/null | awk '
		{ buf = buf $0 }
		END {
			# One token per line: ids, names and numbers hold none of
			# these characters.
			gsub(/[][{}:,]/, "\n&\n", buf)
			n = split(buf, t, "\n")
			depth = 0; entry = -1; fdepth = 0; key = ""; isval = 0
			for (i = 1; i <= n; i++) {
				x = t[i]
				if (x == "" || x == ",")
					continue
				if (x == ":") {
					isval = 1
				} else if (x == "{" || x == "[") {
					type[++depth] = x
					if (depth == 2 && x == "{")
						entry++
					if (depth == 3 && key == "formatted")
						fdepth = 3
					isval = 0
				} else if (x == "}" || x == "]") {
					if (depth == fdepth)
						fdepth = 0
					depth--
				} else if (type[depth] == "{" && !isval) {
					key = x
					gsub(/"/, "", key)
				} else {
					if (fdepth && type[depth] == "{") {
						gsub(/"/, "", x)
						print entry, key, x
					}
					isval = 0
				}
			}
		}'
}

# rodata_field DUMP NAME: the value of .rodata variable NAME in DUMP (the
# map_dump of the instance's scm_rodata), or nothing.
rodata_field() {
	printf '%s\n' "$1" | awk -v name="$2" '$2 == name { print $3; exit }'
}

# loaded_instances [JSON]: under the lock (a load or unload in progress is
# waited for), set _insts to the instances; when there are none, say so
# (as text, or as a JSON object ending in JSON) and fail.
loaded_instances() {
	take_lock
	_insts=
	[ ! -d "$pindir" ] || _insts=$(list_instances)
	[ -z "$_insts" ] || return 0
	if [ -n "$prom" ]; then
		# -s: the gauge at 0; -p: nothing.
		[ -z "${1:-}" ] || prom_status 0
	elif [ -n "$json" ]; then
		printf '{"state":"not loaded","pin_dir":%s%s}\n' "$(json_str "$pindir")" "${1:-}"
	else
		printf 'state:    not loaded\npin dir:  %s\n' "$pindir"
	fi
	return 1
}

do_status() {
	loaded_instances ',"instances":[]' || return 3
	_rc=0
	[ "$(printf '%s\n' "$_insts" | wc -l)" -eq 1 ] || _rc=1
	_text=
	_jinst=
	for _inst in $_insts; do
		status_instance "$_inst"
	done
	if [ "$_rc" -eq 0 ]; then
		_state=loaded
	else
		_state="partly loaded"
	fi
	if [ -n "$prom" ]; then
		if [ "$_rc" -eq 0 ]; then
			prom_status 1
		else
			prom_status 0
		fi
	elif [ -n "$json" ]; then
		printf '{"state":"%s","pin_dir":%s,"instances":[%s]}\n' \
			"$_state" "$(json_str "$pindir")" "${_jinst#,}"
	else
		printf '%s' "$_text"
	fi
	return "$_rc"
}

# status_instance DIR: add instance DIR to _text and _jinst; clear _rc
# when anything of it is missing.
status_instance() {
	if [ -L "$1/cgroup" ]; then
		_cg=$(readlink -- "$1/cgroup") || _cg=
	else
		_cg=$(readlink -- "$pindir/cgroup") || _cg=
	fi
	_rodata=$(map_dump "$1/scm_rodata")
	_mask=$(rodata_field "$_rodata" scm_mask)
	[ -z "$_mask" ] || _mask=$(printf '0x%08x' "$_mask")
	_level=$(rodata_field "$_rodata" scm_level)
	# Older versions had neither setting.
	_route=$(rodata_field "$_rodata" scm_route_check)
	_pairs=$(rodata_field "$_rodata" scm_pairs_on)
	_want=$hooks
	if [ "${_route:-0}" = 1 ]; then
		_mode='every local address'
		_want="$_want $route_hook"
	else
		_mode='loopback only'
	fi
	# The object without kernel BTF reads has scm_marked.
	if [ -e "$1/scm_marked" ]; then
		_reuse=false
		_rtext='NOT looked into (no kernel BTF): a same-uid member of another group may get marked connections'
	else
		_reuse=true
		_rtext='looked into: a member of another group, or a device-bound listener on the port, is no match'
	fi
	_list=$(attached_ids "$_cg") || _rc=1
	_progs=
	_jprogs=
	_pprogs=
	_n=0
	_of=0
	for _h in $_want; do
		_of=$((_of + 1))
		_name=${_h%%:*}
		_id=
		if [ -e "$1/scm_$_name" ]; then
			_id=$(prog_id "$1/scm_$_name") || _rc=1
		fi
		_att=false
		if [ -n "$_id" ] && is_attached "$_id" "${_h#*:}" "$_list"; then
			_n=$((_n + 1))
			_att=true
		fi
		_how=attached
		[ "$_att" = true ] || _how='NOT attached'
		_progs="$_progs$(printf '  %-9s id %-6s %-21s %s' "$_name" "${_id:--}" "${_h#*:}" "$_how")$nl"
		_jprogs="$_jprogs,{\"name\":\"$_name\",\"id\":${_id:-null},\"attach_type\":\"${_h#*:}\",\"attached\":$_att}"
		_pprogs="$_pprogs$_name ${_h#*:} $_att$nl"
	done
	[ "$_n" -eq "$_of" ] || _rc=1
	# Up to 0.2.0 the counters were in scm_stats.
	_cpin=$1/scm_counts
	[ -e "$_cpin" ] || _cpin=$1/scm_stats
	_counters=$(print_counters "$_cpin")
	if [ -n "$prom" ]; then
		# The newest instance's (the last): the others share its maps.
		_p_inst=$1 _p_cg=$_cg _p_mask=$_mask _p_level=$_level _p_mode=$_mode
		_p_reuse=$_reuse _p_pairs=${_pairs:-0} _p_progs=$_pprogs _p_counters=$_counters
		return 0
	fi
	if [ -n "$json" ]; then
		_jinst="$_jinst,{\"instance\":$(json_str "$1"),\"cgroup\":$(json_str "$_cg"),\"mask\":${_mask:+\"}${_mask:-null}${_mask:+\"},\"level\":${_level:-null},\"marking\":\"$_mode\",\"reuseport_checked\":$_reuse,\"pairs\":$([ "${_pairs:-0}" = 1 ] && echo true || echo false),\"programs\":[${_jprogs#,}],\"counters\":{${_counters}}}"
		return 0
	fi
	case $_level in
	'') _level='(unreadable)' ;;
	0) _level='0 (same cgroup)' ;;
	*) _level="$_level (same ancestor at depth $_level)" ;;
	esac
	[ "$_mode" = 'loopback only' ] || _mode="$_mode (sock_ops program checks the route)"
	if [ "${_pairs:-0}" = 1 ]; then
		_pairs='counted (see -p)'
	else
		_pairs='not counted'
	fi
	if [ "$_rc" -eq 0 ]; then
		_text="${_text}state:    loaded$nl"
	else
		_text="${_text}state:    partly loaded (run $me to repair, or $me -u)$nl"
	fi
	_text="$_text$(printf 'mask:     %s\nlevel:    %s\nmarking:  %s\nreuseport: %s\npairs:    %s\ncgroup:   %s\npin dir:  %s\ninstance: %s\nprograms:\n%s' \
		"${_mask:-(unreadable)}" "$_level" "$_mode" "$_rtext" "$_pairs" "${_cg:-(unknown)}" "$pindir" "$1" "$_progs")$nl"
	[ -z "$_counters" ] || _text="${_text}counters:$nl$_counters$nl"
}

# prom_status LOADED: -s in the exposition format: the gauge LOADED (1: one
# instance, fully attached), and for the newest instance its settings, its
# programs and the counters (set by status_instance).
prom_status() {
	SCM_LOADED=$1 SCM_INST=${_p_inst:-} SCM_CG=${_p_cg:-} SCM_MASK=${_p_mask:-} \
	SCM_LEVEL=${_p_level:-} SCM_MODE=${_p_mode:-} SCM_REUSE=${_p_reuse:-} \
	SCM_PAIRS=${_p_pairs:-} SCM_PROGS=${_p_progs:-} SCM_COUNTERS=${_p_counters:-} \
	SCM_PINDIR=$pindir awk "$prom_awk"'
	BEGIN {
		prom_init()
		help("same_cgroup_mark_loaded", "gauge",
		    "1 when one instance is loaded with all its programs attached, else 0.")
		printf "same_cgroup_mark_loaded %d\n", ENVIRON["SCM_LOADED"]
		if (ENVIRON["SCM_INST"] == "")
			exit
		help("same_cgroup_mark_info", "gauge",
		    "The settings of the loaded programs, as labels (value 1).")
		printf "same_cgroup_mark_info{mask=%s,level=%s,marking=%s,reuseport_checked=%s,pairs=%s,cgroup=%s,pin_dir=%s,instance=%s} 1\n",
		    lv(ENVIRON["SCM_MASK"]), lv(ENVIRON["SCM_LEVEL"]), lv(ENVIRON["SCM_MODE"]),
		    lv(ENVIRON["SCM_REUSE"]), lv(ENVIRON["SCM_PAIRS"] == 1 ? "true" : "false"),
		    lv(ENVIRON["SCM_CG"]), lv(ENVIRON["SCM_PINDIR"]), lv(ENVIRON["SCM_INST"])
		help("same_cgroup_mark_program_attached", "gauge",
		    "1 when the program is attached to the cgroup, else 0.")
		n = split(ENVIRON["SCM_PROGS"], l, "\n")
		for (i = 1; i <= n; i++)
			if (split(l[i], w, " ") == 3)
				printf "same_cgroup_mark_program_attached{program=%s,attach_type=%s} %d\n",
				    lv(w[1]), lv(w[2]), w[3] == "true"
		n = split(ENVIRON["SCM_COUNTERS"], l, "\n")
		for (i = 1; i <= n; i++) {
			if (split(l[i], w, " ") != 2)
				continue
			if (w[1] == "binds") {
				binds = w[2]
				continue
			}
			if (!header++)
				help("same_cgroup_mark_connects_total", "counter",
				    "TCP connects the connect programs decided on, by reason: marked, or why not.")
			printf "same_cgroup_mark_connects_total{reason=%s} %s\n", lv(w[1]), w[2]
		}
		if (binds != "") {
			help("same_cgroup_mark_binds_total", "counter", "TCP binds recorded.")
			printf "same_cgroup_mark_binds_total %s\n", binds
		}
	}'
}

# print_counters PIN: the per-CPU counters of the programs, summed: lines
# of text, with -j the members of a JSON object, with -o prometheus
# "NAME VALUE" lines.
print_counters() {
	[ -e "$1" ] || return 0
	map_dump "$1" | awk -v json="$json" -v prom="$prom" '
		$2 == "key" { k[$1] = $3 }
		$2 == "value" { sum[k[$1]] += $3 }
		END {
			# Key (enum scm_counter in the BPF source), text and
			# JSON name, in the order printed.
			n = split("0|marked|marked|" \
				"1|not marked: listener of another group|other_group|" \
				"2|not marked: no listener|no_listener|" \
				"5|not marked: client group never bound TCP|group_never_bound|" \
				"7|not marked: group listens on no such port|no_group_port|" \
				"6|not marked: destination not on this host|not_local|" \
				"8|not marked: port shared with another group|shared_port|" \
				"3|not marked: listener bound before loading|unknown_listener|" \
				"4|TCP binds recorded|binds", f, "|")
			for (i = 1; i < n; i += 3) {
				if (prom != "")
					printf "%s %.0f\n", f[i + 2], sum[f[i]]
				else if (json != "")
					printf "%s\"%s\":%.0f", (i > 1 ? "," : ""), f[i + 2], sum[f[i]]
				else
					printf "  %-44s %.0f\n", f[i + 1], sum[f[i]]
			}
		}'
}

# --- pairs ------------------------------------------------------------------

do_pairs() {
	local tab
	tab=$(printf '\t')
	loaded_instances || return 3
	# The newest instance: the others share its maps or are leftovers.
	_inst=${_insts##*"$nl"}
	_rodata=$(map_dump "$_inst/scm_rodata")
	_level=$(rodata_field "$_rodata" scm_level)
	_on=$(rodata_field "$_rodata" scm_pairs_on)
	_max=$("$BPFTOOL" -j map show pinned "$_inst/scm_pairs" 2>/dev/null |
		awk "$json_val"'{ print val($0, "max_entries") }')
	_since=$(map_dump "$_inst/scm_pair_since" | awk '$2 == "value" { print $3; exit }')
	# Boot-time ns of the first count, as wall-clock seconds.
	_since_s=
	if [ -n "$_since" ] && [ "$_since" != 0 ]; then
		read -r _up _ </proc/uptime
		_since_s=$(awk -v now="$(date +%s)" -v up="$_up" -v ns="$_since" \
			'BEGIN { printf "%d\n", now - up + ns / 1e9 }')
	fi
	_cgroot=$(cgroup2_mount) || _cgroot=
	# Every cgroup by id (the inode of its directory), one per line, with
	# backslash and line break escaped (a cgroup name may hold either), then
	# the pairs, one per line ("p", the per-CPU counts summed, client,
	# listener, group, port, marked), busiest first, then marked ones, then
	# by client, and the number of CPUs the map counts on ("n").
	{
		[ -z "$_cgroot" ] || find "$_cgroot" -xdev -type d -printf 'cg\t%i\t/%P\0' 2>/dev/null |
			sed -z 's/\\/\\\\/g; s/\n/\\n/g' | tr '\0' '\n'
		map_dump "$_inst/scm_pairs" | awk '
			# map_dump lines: "ENTRY NAME VALUE".
			$1 != e { done(); e = $1 }
			$2 ~ /^(client|listener|group|port|marked)$/ { key[$2] = $3 }
			$2 == "value" { n += $3; have = 1 }
			$2 == "cpu" && np == 0 { ncpu++ }
			function done() {
				if (!have)
					return
				np++
				# Marked (1) first among the same count.
				printf "p\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", n, key["marked"] != 1,
				    key["client"], key["listener"], key["group"], key["port"], key["marked"]
				n = 0; have = 0
			}
			END { done(); printf "n\t%d\n", ncpu }' |
			LC_ALL=C sort -s -t "$tab" -k1,1r -k2,2nr -k3,3n -k4,4n
	} | awk -v json="$json" -v prom="$prom" -v level="${_level:-0}" -v on="${_on:-0}" \
		-v max="${_max:-0}" -v since="$_since_s" "$prom_awk$json_awk"'
		function cg(id) {
			return (id in path) ? path[id] : "(gone, id " id ")"
		}
		function jcg(id) {
			return (id in path) ? js(path[id]) : "null"
		}
		BEGIN {
			FS = "\t"
			js_init()
		}
		# What follows the second tab, unescaped.
		function unesc(s,   out, i, c) {
			out = ""
			for (i = 1; i <= length(s); i++) {
				c = substr(s, i, 1)
				if (c == "\\" && i < length(s)) {
					c = substr(s, ++i, 1)
					if (c == "n")
						c = "\n"
				}
				out = out c
			}
			return out
		}
		$1 == "cg" { path[$2] = unesc(substr($0, length($1) + length($2) + 3)); next }
		$1 == "p" {
			np++
			c[np] = $2; cl[np] = $4; li[np] = $5; gr[np] = $6; po[np] = $7; ma[np] = $8
		}
		$1 == "n" { ncpu = $2 }
		END {
			# An LRU map keeps free entries on per-CPU lists (128
			# each in the kernel): within that of max_entries, new
			# pairs push out the ones counted longest ago.
			full = max > 0 && np >= max - 128 * (ncpu ? ncpu : 1)
			if (prom != "") {
				# One series per label set: the pairs of cgroups
				# that had the same path (a service restarted into
				# a new cgroup) are summed.
				prom_init()
				for (o = 1; o <= np; o++) {
					l = sprintf("client=%s,listener=%s,group=%s,port=\"%d\",marked=\"%s\"",
					    lv(cg(cl[o])), lv(cg(li[o])), lv(cg(gr[o])), po[o],
					    (ma[o] == 1 ? "yes" : ma[o] == 2 ? "shared" : "no"))
					if (!(l in sum))
						ls[++nl] = l
					sum[l] += c[o]
				}
				if (nl == 0)
					exit
				help("same_cgroup_mark_pair_connects_total", "counter",
				    "Local TCP connects by pair of cgroups: the client, the listener, the listener\47s group (-l), the port, and marked: yes, no, or shared (the port is shared with another group).")
				for (i = 1; i <= nl; i++)
					printf "same_cgroup_mark_pair_connects_total{%s} %d\n", ls[i], sum[ls[i]]
				exit
			}
			if (json != "") {
				printf "{\"counting\":%s,\"since\":%s,\"level\":%d,\"kept\":%d,\"max\":%d,\"full\":%s,\"pairs\":[",
					(on == 1 ? "true" : "false"), (since == "" ? "null" : since),
					level, np, max, (full ? "true" : "false")
				for (o = 1; o <= np; o++) {
					printf "%s{\"connects\":%d,\"marked\":%s,\"shared_port\":%s,\"port\":%d,", (o > 1 ? "," : ""),
						c[o], (ma[o] == 1 ? "true" : "false"), (ma[o] == 2 ? "true" : "false"), po[o]
					printf "\"client\":{\"id\":%s,\"cgroup\":%s},", cl[o], jcg(cl[o])
					printf "\"listener\":{\"id\":%s,\"cgroup\":%s,\"group_id\":%s,\"group\":%s}}",
						li[o], jcg(li[o]), gr[o], jcg(gr[o])
				}
				print "]}"
				exit
			}
			if (on != 1) {
				print "pairs:    not counted (PAIRS=0); counts of an earlier instance, if any, follow"
			}
			printf "pairs since %s: %d kept of at most %d%s\n",
				(since == "" ? "(nothing counted yet)" : strftime_utc(since)), np, max,
				(full ? " (full: the pairs counted longest ago are dropped)" : "")
			printf "%9s %-6s %5s  %s\n", "connects", "marked", "port", "client -> listener" ((level > 0) ? " (group at depth " level ")" : "")
			for (o = 1; o <= np; o++) {
				# 2: not marked, the port is shared with another group.
				printf "%9d %-6s %5d  %s -> %s", c[o], (ma[o] == 1 ? "yes" : ma[o] == 2 ? "shared" : "no"), po[o], cg(cl[o]), cg(li[o])
				if (level > 0)
					printf " (%s)", cg(gr[o])
				printf "\n"
			}
		}
		function strftime_utc(t,   cmd, out) {
			cmd = "date -u -d @" t " \"+%Y-%m-%d %H:%M:%S UTC\""
			cmd | getline out
			close(cmd)
			return out
		}'
}
