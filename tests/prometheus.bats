#!/usr/bin/env bats
# SPDX-License-Identifier: GPL-2.0-only
# "-s -o prometheus" and "-p -o prometheus" (issue 23): the text exposition
# format, read back with a real parser (python3-prometheus-client's
# text_string_to_metric_families), equal to what -j says; cgroup names
# with quotes, backslashes, control characters and bytes that are not
# UTF-8 come out escaped, never breaking the file.

bats_require_minimum_version 1.7.0
load test_helper

setup_file() {
	# Debian's python3 has the parser (python3-prometheus-client); a
	# python3 earlier in PATH may not.
	local py
	for py in python3 /usr/bin/python3; do
		if "$py" -c 'import prometheus_client.parser' 2>/dev/null; then
			export PROM_PY=$py
			return 0
		fi
	done
	echo "no python3 with prometheus_client: install python3-prometheus-client (make test-deps)" >&2
	return 1
}

setup() {
	common_setup
}

# The check prom runs: the exposition text (a file) parsed, every series
# once; m maps (name, sorted labels) to the value, f the families by name,
# j is the JSON document.
PROM_CHECK='
import json, sys
from prometheus_client.parser import text_string_to_metric_families
expr, doc, path = sys.argv[1:4]
text = open(path, encoding="utf-8").read()
f = {fam.name: fam for fam in text_string_to_metric_families(text)}
m = {}
for fam in f.values():
    for s in fam.samples:
        key = (s.name, tuple(sorted(s.labels.items())))
        assert key not in m, "duplicate series %r" % (key,)
        m[key] = s.value
j = json.loads(doc)
ok = eval("(" + expr + "\n)")
if not ok:
    print(text, file=sys.stderr)
sys.exit(0 if ok else 1)
'

# prom PYTHON ARG...: "loader -d PINDIR ARG... -o prometheus" and the same
# with -j (whatever their exit status: the tests check it with run);
# PYTHON must hold (see PROM_CHECK).
prom() {
	local expr=$1 text=$BATS_TEST_TMPDIR/metrics.prom doc
	shift
	loader -d "$PINDIR" "$@" -o prometheus >"$text" || :
	doc=$(loader -d "$PINDIR" "$@" -j) || :
	"$PROM_PY" -c "$PROM_CHECK" "$expr" "$doc" "$text"
}

# rel CGROUP: CGROUP's path relative to the cgroup v2 mount, as -p shows it.
rel() {
	printf '%s\n' "${1#"$CGROOT"}"
}

@test "-s -o prometheus: loaded gauge, settings, programs and counters, parsed, equal to -s -j" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	prom 'm[("same_cgroup_mark_loaded", ())] == 1' -s
	prom 'f["same_cgroup_mark_connects"].type == "counter" and f["same_cgroup_mark_binds"].type == "counter"' -s
	prom 'all(m[("same_cgroup_mark_connects_total", (("reason", k),))] == v
	          for k, v in j["instances"][-1]["counters"].items() if k != "binds")' -s
	prom 'm[("same_cgroup_mark_binds_total", ())] == j["instances"][-1]["counters"]["binds"]' -s
	prom 'm[("same_cgroup_mark_connects_total", (("reason", "marked"),))] >= 2' -s
	prom 'm[("same_cgroup_mark_connects_total", (("reason", "other_group"),))] >= 1' -s
	prom 'len([k for k in m if k[0] == "same_cgroup_mark_program_attached"]) == len(j["instances"][-1]["programs"])
	      and all(m[("same_cgroup_mark_program_attached", (("attach_type", p["attach_type"]), ("program", p["name"])))] == int(p["attached"])
	              for p in j["instances"][-1]["programs"])' -s
	prom '[dict(k[1]) for k in m if k[0] == "same_cgroup_mark_info"] == [{
	          "mask": j["instances"][-1]["mask"], "level": str(j["instances"][-1]["level"]),
	          "marking": j["instances"][-1]["marking"], "cgroup": j["instances"][-1]["cgroup"],
	          "reuseport_checked": str(j["instances"][-1]["reuseport_checked"]).lower(),
	          "pairs": str(j["instances"][-1]["pairs"]).lower(), "pin_dir": j["pin_dir"],
	          "instance": j["instances"][-1]["instance"]}]' -s
}

@test "-s -o prometheus: a detached program shows as 0 and the loaded gauge drops to 0" {
	run -0 scm_load
	local g
	g=$(ls -d "$PINDIR"/g*)
	"$BPFTOOL" cgroup detach "$TCG" cgroup_inet4_connect pinned "$g/scm_connect4"
	run -1 loader -d "$PINDIR" -s -o prometheus
	prom 'm[("same_cgroup_mark_loaded", ())] == 0
	      and m[("same_cgroup_mark_program_attached", (("attach_type", "cgroup_inet4_connect"), ("program", "connect4")))] == 0
	      and m[("same_cgroup_mark_program_attached", (("attach_type", "cgroup_inet4_bind"), ("program", "bind4")))] == 1' -s
}

@test "not loaded: -s -o prometheus is the loaded gauge at 0 alone, -p -o prometheus nothing, both exit 3" {
	run --separate-stderr loader -d "$PINDIR" -s -o prometheus
	[ "$status" -eq 3 ]
	[ "$output" = $'# HELP same_cgroup_mark_loaded 1 when one instance is loaded with all its programs attached, else 0.\n# TYPE same_cgroup_mark_loaded gauge\nsame_cgroup_mark_loaded 0' ]
	run --separate-stderr loader -d "$PINDIR" -p -o prometheus
	[ "$status" -eq 3 ]
	[ -z "$output" ]
}

@test "-p -o prometheus: one counter per pair, parsed, equal to -p -j" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	for _ in 1 2 3; do
		expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	done
	expect_mark "$Z" "$TCG/b" "$NS" 127.0.0.1 "$PORT"
	prom 'f["same_cgroup_mark_pair_connects"].type == "counter"' -p
	prom 'len(m) == len(j["pairs"]) + 1 == 3 and m[("same_cgroup_mark_pairs_dropped_total", ())] == j["dropped"] == 0' -p
	prom 'all(m[("same_cgroup_mark_pair_connects_total", tuple(sorted({
	          "client": p["client"]["cgroup"], "listener": p["listener"]["cgroup"],
	          "group": p["listener"]["group"], "port": str(p["port"]),
	          "marked": "yes" if p["marked"] else "shared" if p["shared_port"] else "no"}.items())))] == p["connects"]
	          for p in j["pairs"])' -p
	local a
	a=$(rel "$TCG/a")
	prom 'm[("same_cgroup_mark_pair_connects_total", (("client", "'"$a"'"), ("group", "'"$a"'"), ("listener", "'"$a"'"), ("marked", "yes"), ("port", "'"$PORT"'")))] == 3' -p
}

@test "hostile cgroup names come out escaped in -p -o prometheus: quotes, backslashes, control characters, bytes not UTF-8" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	local n names=('q"uote' $'back\\slash' $'tab\tx' $'bad\377byte' $'cut\303' $'utf8-\303\244' '}bra{ce="x",' '# HELP x')
	for n in "${names[@]}"; do
		mkdir "$TCG/$n"
		expect_mark "$Z" "$TCG/$n" "$NS" 127.0.0.1 "$PORT"
	done
	# Every line a sample, a HELP or a TYPE line: nothing broke out.
	loader -d "$PINDIR" -p -o prometheus >"$BATS_TEST_TMPDIR/p.prom"
	run ! grep -v -e '^same_cgroup_mark_pair_connects_total{.*} [0-9][0-9]*$' -e '^same_cgroup_mark_pairs_dropped_total 0$' -e '^# HELP same_cgroup_mark_' -e '^# TYPE same_cgroup_mark_' "$BATS_TEST_TMPDIR/p.prom"
	iconv -f UTF-8 -t UTF-8 "$BATS_TEST_TMPDIR/p.prom" >/dev/null
	local t
	t=$(rel "$TCG")
	# What the parser reads back: the names, U+FFFD where they were not
	# UTF-8 or held a control character.
	prom 'sorted(dict(k[1])["client"] for k in m if dict(k[1]).get("marked") == "no") == sorted(
	          "'"$t"'/" + n for n in ["q\"uote", "back\\slash", "tab\ufffdx", "bad\ufffdbyte", "cut\ufffd",
	                             "utf8-\u00e4", "}bra{ce=\"x\",", "# HELP x"])' -p
	for n in "${names[@]}"; do
		rmdir "$TCG/$n"
	done
}

@test "-o takes text, json or prometheus, with -s or -p only, not together with another format" {
	run --separate-stderr loader -d "$PINDIR" -s -o yaml
	[ "$status" -eq 2 ]
	[[ "$stderr" == *"yaml"* ]]
	run --separate-stderr loader -d "$PINDIR" -s -j -o prometheus
	[ "$status" -eq 2 ]
	run --separate-stderr loader -d "$PINDIR" -u -o prometheus
	[ "$status" -eq 2 ]
	run --separate-stderr loader -d "$PINDIR" -o json
	[ "$status" -eq 2 ]
	run --separate-stderr loader -d "$PINDIR" -s -o text
	[ "$status" -eq 3 ]
	[[ "$output" == "state:    not loaded"* ]]
	run --separate-stderr loader -d "$PINDIR" -s -o json -j
	[ "$status" -eq 3 ]
	[[ "$output" == '{"state":"not loaded"'* ]]
}

# writer DIR [LOADER_EXIT]: systemd/same-cgroup-mark-metrics run for this
# test's pin directory, writing into DIR; with LOADER_EXIT, a loader that
# fails with that status instead.
writer() {
	local w=$BATS_TEST_TMPDIR/writer fake=$BATS_TEST_TMPDIR/loader
	if [ -n "${2:-}" ]; then
		printf '#!/bin/sh\necho "same-cgroup-mark-load: broken for the test" >&2\nexit %s\n' "$2" >"$fake"
	else
		printf '#!/bin/sh\nexec dash %s -d %s "$@"\n' "$SCM_LOADER" "$PINDIR" >"$fake"
	fi
	chmod 0755 "$fake"
	sed "s|^loader=.*|loader=$fake|" "$SCM_TOP/systemd/same-cgroup-mark-metrics" >"$w"
	dash "$w" "$1"
}

@test "the metrics writer replaces same-cgroup-mark.prom whole: -s and -p, parsed, mode 0644, nothing else left" {
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	local d=$BATS_TEST_TMPDIR/textfile
	mkdir "$d"
	echo 'old' >"$d/same-cgroup-mark.prom"
	run writer "$d"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	[ -z "$output" ]
	[ "$(ls -A "$d")" = same-cgroup-mark.prom ]
	[ "$(stat -c %a "$d/same-cgroup-mark.prom")" = 644 ]
	"$PROM_PY" -c "$PROM_CHECK" 'm[("same_cgroup_mark_loaded", ())] == 1 and
	    sum(v for k, v in m.items() if k[0] == "same_cgroup_mark_pair_connects_total") == 1' '{}' "$d/same-cgroup-mark.prom"
}

@test "the metrics writer keeps the previous file when the loader fails, and says so in one line" {
	local d=$BATS_TEST_TMPDIR/textfile
	mkdir "$d"
	echo 'previous' >"$d/same-cgroup-mark.prom"
	run --separate-stderr writer "$d" 2
	[ "$status" -eq 1 ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "$stderr" == "same-cgroup-mark-metrics: "*"exit 2"*"broken for the test"*"previous"* ]]
	[ "$(cat "$d/same-cgroup-mark.prom")" = previous ]
	[ "$(ls -A "$d")" = same-cgroup-mark.prom ]
	# Not loaded is a state, not a failure: the gauge at 0.
	run -0 writer "$d"
	grep -qx 'same_cgroup_mark_loaded 0' "$d/same-cgroup-mark.prom"
	run --separate-stderr writer "$BATS_TEST_TMPDIR/missing"
	[ "$status" -eq 1 ]
	[[ "$stderr" == "same-cgroup-mark-metrics: no directory $BATS_TEST_TMPDIR/missing"* ]]
}

# node_exporter: Debian's prometheus-node-exporter: the installed one, else
# downloaded and unpacked (not installed: that would start the host's
# exporter on every address).
node_exporter() {
	local d=$BATS_FILE_TMPDIR/node-exporter
	if command -v prometheus-node-exporter; then
		return 0
	fi
	if [ ! -x "$d/usr/bin/prometheus-node-exporter" ]; then
		mkdir -p "$d"
		(cd "$d" && apt-get download -qq -o APT::Sandbox::User=root prometheus-node-exporter) || return 1
		dpkg-deb -x "$d"/prometheus-node-exporter_*.deb "$d" || return 1
	fi
	echo "$d/usr/bin/prometheus-node-exporter"
}

@test "a real prometheus-node-exporter (textfile collector, on loopback) serves what the writer wrote" {
	local ne d=$BATS_TEST_TMPDIR/textfile port out
	ne=$(node_exporter)
	run -0 scm_load
	start_server "$TCG/a" "$NS" 127.0.0.1 0
	expect_mark "$M" "$TCG/a" "$NS" 127.0.0.1 "$PORT"
	mkdir "$d"
	run -0 writer "$d"
	port=$("$PROM_PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	"$ne" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
		--collector.textfile --collector.textfile.directory="$d" >"$BATS_TEST_TMPDIR/ne.log" 2>&1 &
	PIDS="$PIDS $!"
	out=
	for _ in $(seq 1 100); do
		out=$("$PROM_PY" -c 'import sys, urllib.request
print(urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=2).read().decode())' "$port" 2>/dev/null) && break
		sleep 0.1
	done
	[ -n "$out" ] || { cat "$BATS_TEST_TMPDIR/ne.log"; false; }
	grep -qx 'same_cgroup_mark_loaded 1' <<<"$out"
	grep -q '^same_cgroup_mark_connects_total{reason="marked"} [1-9]' <<<"$out"
	grep -q '^same_cgroup_mark_pair_connects_total{.*marked="yes".*} 1$' <<<"$out"
	# The collector read the file without an error.
	grep -qx 'node_textfile_scrape_error 0' <<<"$out"
}
