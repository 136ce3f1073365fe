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
		[ -z "${1:-}" ] || printf '' | awk -v fmt=prometheus "$json_awk$prom_awk$status_awk"
	elif [ -n "$json" ]; then
		printf '{"state":"not loaded","pin_dir":%s%s}\n' "$(json_str "$pindir")" "${1:-}"
	else
		printf 'state:    not loaded\npin dir:  %s\n' "$pindir"
	fi
	return 1
}

do_status() {
	local rc=0 facts inst
	loaded_instances ',"instances":[]' || return 3
	[ "$(printf '%s\n' "$_insts" | wc -l)" -eq 1 ] || rc=1
	facts=
	for inst in $_insts; do
		facts="$facts$(instance_facts "$inst")$nl" || rc=1
		# The state so far, as the text view shows it for each instance.
		facts="$facts$(printf 'state\t%s' "$rc")$nl"
	done
	printf '%s' "$facts" | SCM_PINDIR=$pindir awk -v fmt="${prom:+prometheus}${json:+json}" \
		-v me="$me" "$json_awk$prom_awk$status_awk"
	return "$rc"
}

# instance_facts DIR: what -s shows of instance DIR, one fact per line,
# "NAME<tab>VALUE" (status_awk lists them); fail when anything of it is
# missing or cannot be read.
instance_facts() {
	local cg rodata hexmask route_on list h id att rc=0
	if [ -L "$1/cgroup" ]; then
		cg=$(readlink -- "$1/cgroup") || cg=
	else
		cg=$(readlink -- "$pindir/cgroup") || cg=
	fi
	rodata=$(map_dump "$1/scm_rodata")
	hexmask=$(rodata_field "$rodata" scm_mask)
	[ -z "$hexmask" ] || hexmask=$(printf '0x%08x' "$hexmask")
	# Older versions had neither the route check nor pair counting.
	route_on=$(rodata_field "$rodata" scm_route_check)
	printf 'instance\t%s\ncgroup\t%s\nmask\t%s\nlevel\t%s\nroute\t%s\npairs\t%s\n' \
		"$1" "$cg" "$hexmask" "$(rodata_field "$rodata" scm_level)" "${route_on:-0}" \
		"$(rodata_field "$rodata" scm_pairs_on)"
	# The object without kernel BTF reads has scm_marked.
	if [ -e "$1/scm_marked" ]; then
		printf 'reuseport\tfalse\n'
	else
		printf 'reuseport\ttrue\n'
	fi
	list=$(attached_ids "$cg") || rc=1
	for h in $hooks $route_hook; do
		[ "${route_on:-0}" = 1 ] || [ "$h" != "$route_hook" ] || continue
		id=
		if [ -e "$1/scm_${h%%:*}" ]; then
			id=$(prog_id "$1/scm_${h%%:*}") || rc=1
		fi
		att=false
		if [ -n "$id" ] && is_attached "$id" "${h#*:}" "$list"; then
			att=true
		else
			rc=1
		fi
		printf 'program\t%s %s %s %s\n' "${h%%:*}" "${id:--}" "${h#*:}" "$att"
	done
	# Up to 0.2.0 the counters were in scm_stats.
	if [ -e "$1/scm_counts" ]; then
		print_counters "$1/scm_counts"
	else
		print_counters "$1/scm_stats"
	fi
	return "$rc"
}

# print_counters PIN: the per-CPU counters of the programs, summed, as
# facts "counter<tab>NAME VALUE", in the order shown.
print_counters() {
	[ -e "$1" ] || return 0
	map_dump "$1" | awk '
		$2 == "key" { k[$1] = $3 }
		$2 == "value" { sum[k[$1]] += $3 }
		END {
			# Key (enum scm_counter in the BPF source) and name.
			n = split("0 marked 1 other_group 2 no_listener " \
				"5 group_never_bound 7 no_group_port 6 not_local " \
				"8 shared_port 3 unknown_listener 4 binds", f, " ")
			for (i = 1; i < n; i += 2)
				printf "counter\t%s %.0f\n", f[i + 1], sum[f[i]]
		}'
}

# status_awk: -s from the facts of instance_facts, each instance's ending
# with "state<tab>RC" (0: all is well so far), as text, JSON or (fmt
# "prometheus") the exposition format, which shows the newest instance
# (the last; the others share its maps); with no facts, the gauge at 0.
# shellcheck disable=SC2016 # awk code
status_awk='
BEGIN {
	FS = "\t"
	js_init()
	prom_init()
	# The counters: text of each, in the order shown.
	split("marked|not marked: listener of another group|" \
	    "not marked: no listener|not marked: client group never bound TCP|" \
	    "not marked: group listens on no such port|" \
	    "not marked: destination not on this host|" \
	    "not marked: port shared with another group|" \
	    "not marked: listener bound before loading|TCP binds recorded", ctext, "|")
	split("marked other_group no_listener group_never_bound no_group_port " \
	    "not_local shared_port unknown_listener binds", cname, " ")
	for (i = 1; i in cname; i++)
		label[cname[i]] = ctext[i]
}
{ v = substr($0, length($1) + 2) }
$1 == "instance" { ni++; nprog[ni] = 0; ncount[ni] = 0 }
$1 == "program" { prog[ni, ++nprog[ni]] = v; next }
$1 == "counter" { count[ni, ++ncount[ni]] = v; next }
{ f[ni, $1] = v }
function mode(i) {
	return f[i, "route"] == 1 ? "every local address" : "loopback only"
}
function bool(x) {
	return x == 1 ? "true" : "false"
}
function text(i,   j, w, l) {
	if (f[i, "state"] == 0)
		print "state:    loaded"
	else
		printf "state:    partly loaded (run %s to repair, or %s -u)\n", me, me
	l = f[i, "level"]
	printf "mask:     %s\n", f[i, "mask"] == "" ? "(unreadable)" : f[i, "mask"]
	printf "level:    %s\n", l == "" ? "(unreadable)" : l == 0 ? "0 (same cgroup)" : \
	    l " (same ancestor at depth " l ")"
	printf "marking:  %s\n", mode(i) (f[i, "route"] == 1 ? " (sock_ops program checks the route)" : "")
	printf "reuseport: %s\n", f[i, "reuseport"] == "true" ? \
	    "looked into: a member of another group, or a device-bound listener on the port, is no match" : \
	    "NOT looked into (no kernel BTF): a same-uid member of another group may get marked connections"
	printf "pairs:    %s\n", f[i, "pairs"] == 1 ? "counted (see -p)" : "not counted"
	printf "cgroup:   %s\n", f[i, "cgroup"] == "" ? "(unknown)" : f[i, "cgroup"]
	printf "pin dir:  %s\n", ENVIRON["SCM_PINDIR"]
	printf "instance: %s\n", f[i, "instance"]
	print "programs:"
	for (j = 1; j <= nprog[i]; j++) {
		split(prog[i, j], w, " ")
		printf "  %-9s id %-6s %-21s %s\n", w[1], w[2], w[3], w[4] == "true" ? "attached" : "NOT attached"
	}
	if (ncount[i])
		print "counters:"
	for (j = 1; j <= ncount[i]; j++) {
		split(count[i, j], w, " ")
		printf "  %-44s %s\n", label[w[1]], w[2]
	}
}
function json(i,   j, w) {
	printf "{\"instance\":%s,\"cgroup\":%s,\"mask\":%s,\"level\":%s,\"marking\":\"%s\",\"reuseport_checked\":%s,\"pairs\":%s,\"programs\":[",
	    js(f[i, "instance"]), js(f[i, "cgroup"]), f[i, "mask"] == "" ? "null" : "\"" f[i, "mask"] "\"",
	    f[i, "level"] == "" ? "null" : f[i, "level"], mode(i), f[i, "reuseport"], bool(f[i, "pairs"])
	for (j = 1; j <= nprog[i]; j++) {
		split(prog[i, j], w, " ")
		printf "%s{\"name\":\"%s\",\"id\":%s,\"attach_type\":\"%s\",\"attached\":%s}",
		    (j > 1 ? "," : ""), w[1], (w[2] == "-" ? "null" : w[2]), w[3], w[4]
	}
	printf "],\"counters\":{"
	for (j = 1; j <= ncount[i]; j++) {
		split(count[i, j], w, " ")
		printf "%s\"%s\":%s", (j > 1 ? "," : ""), w[1], w[2]
	}
	printf "}}"
}
function prometheus(i,   j, w, header) {
	help("same_cgroup_mark_loaded", "gauge",
	    "1 when one instance is loaded with all its programs attached, else 0.")
	printf "same_cgroup_mark_loaded %d\n", (i > 0 && f[i, "state"] == 0)
	if (i == 0)
		return
	help("same_cgroup_mark_info", "gauge",
	    "The settings of the loaded programs, as labels (value 1).")
	printf "same_cgroup_mark_info{mask=%s,level=%s,marking=%s,reuseport_checked=%s,pairs=%s,cgroup=%s,pin_dir=%s,instance=%s} 1\n",
	    lv(f[i, "mask"]), lv(f[i, "level"]), lv(mode(i)), lv(f[i, "reuseport"]),
	    lv(bool(f[i, "pairs"])), lv(f[i, "cgroup"]), lv(ENVIRON["SCM_PINDIR"]), lv(f[i, "instance"])
	help("same_cgroup_mark_program_attached", "gauge",
	    "1 when the program is attached to the cgroup, else 0.")
	for (j = 1; j <= nprog[i]; j++) {
		split(prog[i, j], w, " ")
		printf "same_cgroup_mark_program_attached{program=%s,attach_type=%s} %d\n",
		    lv(w[1]), lv(w[3]), w[4] == "true"
	}
	for (j = 1; j <= ncount[i]; j++) {
		split(count[i, j], w, " ")
		if (w[1] == "binds")
			continue
		if (!header++)
			help("same_cgroup_mark_connects_total", "counter",
			    "TCP connects the connect programs decided on, by reason: marked, or why not.")
		printf "same_cgroup_mark_connects_total{reason=%s} %s\n", lv(w[1]), w[2]
	}
	for (j = 1; j <= ncount[i]; j++) {
		split(count[i, j], w, " ")
		if (w[1] != "binds")
			continue
		help("same_cgroup_mark_binds_total", "counter", "TCP binds recorded.")
		printf "same_cgroup_mark_binds_total %s\n", w[2]
	}
}
END {
	if (fmt == "prometheus") {
		prometheus(ni)
	} else if (fmt == "json") {
		printf "{\"state\":\"%s\",\"pin_dir\":%s,\"instances\":[", \
		    f[ni, "state"] == 0 ? "loaded" : "partly loaded", js(ENVIRON["SCM_PINDIR"])
		for (i = 1; i <= ni; i++) {
			if (i > 1)
				printf ","
			json(i)
		}
		print "]}"
	} else {
		for (i = 1; i <= ni; i++)
			text(i)
	}
}
'

# --- pairs ------------------------------------------------------------------

do_pairs() {
	local tab adds cgroot inst lvl max on rodata since since_s up
	tab=$(printf '\t')
	loaded_instances || return 3
	# The newest instance: the others share its maps or are leftovers.
	inst=${_insts##*"$nl"}
	rodata=$(map_dump "$inst/scm_rodata")
	lvl=$(rodata_field "$rodata" scm_level)
	on=$(rodata_field "$rodata" scm_pairs_on)
	max=$("$BPFTOOL" -j map show pinned "$inst/scm_pairs" 2>/dev/null |
		awk "$json_val"'{ print val($0, "max_entries") }')
	since=$(map_dump "$inst/scm_pair_since" | awk '$2 == "value" { print $3; exit }')
	# The pairs added, summed over the CPUs.  A version without this map
	# did not count them: after an upgrade, the pairs it added are not in.
	adds=$(map_dump "$inst/scm_pair_adds" | awk '$2 == "value" { n += $3 } END { print n + 0 }')
	# Boot-time ns of the first count, as wall-clock seconds.
	since_s=
	if [ -n "$since" ] && [ "$since" != 0 ]; then
		read -r up _ </proc/uptime
		since_s=$(awk -v now="$(date +%s)" -v up="$up" -v ns="$since" \
			'BEGIN { printf "%d\n", now - up + ns / 1e9 }')
	fi
	cgroot=$(cgroup2_mount) || cgroot=
	# Every cgroup by id (the inode of its directory), one per line, with
	# backslash and line break escaped (a cgroup name may hold either), then
	# the pairs, one per line ("p", the per-CPU counts summed, client,
	# listener, group, port, marked), busiest first, then marked ones, then
	# by client.
	{
		[ -z "$cgroot" ] || find "$cgroot" -xdev -type d -printf 'cg\t%i\t/%P\0' 2>/dev/null |
			sed -z 's/\\/\\\\/g; s/\n/\\n/g' | tr '\0' '\n'
		map_dump "$inst/scm_pairs" | awk '
			# map_dump lines: "ENTRY NAME VALUE".
			$1 != e { done(); e = $1 }
			$2 ~ /^(client|listener|group|port|marked)$/ { key[$2] = $3 }
			$2 == "value" { n += $3; have = 1 }
			function done() {
				if (!have)
					return
				np++
				# Marked (1) first among the same count.
				printf "p\t%d\t%d\t%s\t%s\t%s\t%s\t%s\n", n, key["marked"] != 1,
				    key["client"], key["listener"], key["group"], key["port"], key["marked"]
				n = 0; have = 0
			}
			END { done() }' |
			LC_ALL=C sort -s -t "$tab" -k2,2nr -k3,3n -k4,4n
	} | awk -v json="$json" -v prom="$prom" -v level="${lvl:-0}" -v on="${on:-0}" \
		-v max="${max:-0}" -v adds="$adds" -v since="$since_s" "$prom_awk$json_awk"'
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
		END {
			# Added and no longer kept: dropped by the LRU.
			dropped = adds > np ? adds - np : 0
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
				help("same_cgroup_mark_pairs_dropped_total", "counter",
				    "Pairs dropped from the full pair map to make room for new ones.")
				printf "same_cgroup_mark_pairs_dropped_total %d\n", dropped
				if (nl == 0)
					exit
				help("same_cgroup_mark_pair_connects_total", "counter",
				    "Local TCP connects by pair of cgroups: the client, the listener, the listener\47s group (-l), the port, and marked: yes, no, or shared (the port is shared with another group).")
				for (i = 1; i <= nl; i++)
					printf "same_cgroup_mark_pair_connects_total{%s} %d\n", ls[i], sum[ls[i]]
				exit
			}
			if (json != "") {
				printf "{\"counting\":%s,\"since\":%s,\"level\":%d,\"kept\":%d,\"max\":%d,\"full\":%s,\"dropped\":%d,\"pairs\":[",
					(on == 1 ? "true" : "false"), (since == "" ? "null" : since),
					level, np, max, (dropped ? "true" : "false"), dropped
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
				(dropped ? " (full: " dropped " dropped)" : "")
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
