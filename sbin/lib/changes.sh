# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "changes": what bpftool is asked, how changes
# are made, and how a run that fails is taken back.
#
# Changes to the kernel are queued and run in a "bpftool batch": one bpftool
# process runs the queued commands in order and stops at the first that
# fails.  Everything a load creates is in its new instance, PIN_DIR/gN+1;
# of the instance before it, it only detaches programs.  So a run that
# fails, or is stopped by a signal, before its commit is taken back from
# what is there (rollback, the EXIT trap): what of the instance it keeps is
# pinned but no longer attached is attached again, then what of the new
# instance is attached is detached and its pins removed.  The next run
# repairs from the same state what a run killed with SIGKILL left.
# Sourced by same-cgroup-mark-load.

q_cmds=		# the queue: batch commands, one per line
q_steps=	# what each command does, for messages
batch_failed=	# after run_batch failed: the command that failed,
batch_error=	# "STEP failed: ERROR" for it,
batch_rest=	# the commands that did not run after it,
batch_rest_steps=	# and their steps
batch_done=	# after run_batch: how many commands succeeded
# What rollback takes back, set as the run goes:
keep=		# the instance kept when the run fails
detaching=	# set: the run may have detached programs of keep
new=		# the new instance, once the run may have made it
made_pindir=	# set: the run created PIN_DIR
committed=	# set: the run reached its new state; nothing to take back

# batch_word WHAT WORD: set _w to WORD quoted for a batch line, or fail.
# Batch lines have no escapes: a word is quoted with a kind of quote it
# does not contain, and "#" starts a comment.
batch_word() {
	case $2 in
	*'#'* | *"$nl"* | *\"*\'* | *\'*\"*)
		warn "$1 '$2' contains '#', a line break or both kinds of quotes, which bpftool batch cannot take"
		return 1 ;;
	*\"*) _w="'$2'" ;;
	*) _w="\"$2\"" ;;
	esac
}

# queue STEP CMD: queue the bpftool batch command CMD, described as STEP.
queue() {
	q_steps="$q_steps$1$nl"
	q_cmds="$q_cmds$2$nl"
}

# queue_attach CGROUP TYPE PIN, queue_detach CGROUP TYPE PIN
queue_attach() {
	batch_word cgroup "$1" || return 1
	queue "attaching $3 to $1 ($2)" "cgroup attach $_w $2 pinned $3 multi"
}

queue_detach() {
	batch_word cgroup "$1" || return 1
	queue "detaching $3 from $1 ($2)" "cgroup detach $_w $2 pinned $3"
}

# run_batch: run the queue in one bpftool process and empty it; set
# batch_done.  When a command failed, set batch_failed, batch_error,
# batch_rest and batch_rest_steps, and fail.
run_batch() {
	local cmds="$q_cmds" steps="$q_steps" out rest ok cmd step err
	q_cmds=
	q_steps=
	batch_failed=
	batch_error=
	batch_rest=
	batch_rest_steps=
	batch_done=0
	[ -n "$cmds" ] || return 0
	out=$(printf '%s' "$cmds" | "$BPFTOOL" -j batch file - 2>&1)
	# Success is read from the result -j gives for each command that ran
	# ("output": null, or {"error": ...}), not from the exit status:
	# bpftool 7.1 can exit 255 after every command succeeded.
	rest=$out
	while :; do
		case $rest in
		*'"output":'*) rest=${rest#*'"output":'} ;;
		*) break ;;
		esac
		case $rest in
		'{"error"'*) break ;;
		esac
		batch_done=$((batch_done + 1))
	done
	ok=$batch_done
	while [ -n "$cmds" ]; do
		cmd=${cmds%%"$nl"*} cmds=${cmds#*"$nl"}
		step=${steps%%"$nl"*} steps=${steps#*"$nl"}
		if [ "$ok" -gt 0 ]; then
			ok=$((ok - 1))
		elif [ -z "$batch_failed" ]; then
			batch_failed=$cmd
			batch_error="$step failed"
		else
			batch_rest="$batch_rest$cmd$nl"
			batch_rest_steps="$batch_rest_steps$step$nl"
		fi
	done
	[ -n "$batch_failed" ] || return 0
	case $out in
	*'"output":{"error":"'*)
		err=${out#*'"output":{"error":"'}
		err=${err%%\"*} ;;
	*) err=${out##*"$nl"} ;;
	esac
	batch_error="$batch_error${err:+: $err}"
	return 1
}

# run_all: run the queue, all of it: after a command fails, say so and run
# the rest.  Fails when one failed.
run_all() {
	local all=0
	while ! run_batch; do
		all=1
		warn "rollback: $batch_error; run $me again"
		q_cmds=$batch_rest
		q_steps=$batch_rest_steps
	done
	return $all
}

# failed_prog: set _type and _pin to the attach type and pin of
# batch_failed, a "cgroup attach|detach CGROUP TYPE pinned PIN [multi]"
# command (PIN has no blanks).
failed_prog() {
	_pin=${batch_failed##* pinned }
	_pin=${_pin%% *}
	_type=${batch_failed% pinned *}
	_type=${_type##* }
}

# commit: the run has reached its new state.
commit() {
	committed=1
}

# rollback: take back what this run did, from what is there: attach again
# what of the kept instance it detached, then detach and remove the new
# instance (in this order, so that marking never stops; when an attach
# failed, the new instance stays for the next run to sort out), and the
# pin directory if the run made it and nothing else is in it.
rollback() {
	[ -z "$committed" ] || return 0
	committed=1
	# What an interrupted run had queued is not run: only what is there
	# decides what is taken back.
	q_cmds=
	q_steps=
	if [ -n "$detaching" ] && [ -n "$keep" ]; then
		restore_instance "$keep" || return 0
	fi
	[ -z "$new" ] || teardown_instance "$new" || return 0
	[ -z "$made_pindir" ] || remove_instances -p
}

# --- queries --------------------------------------------------------------
# A query that fails must not pass for "nothing there": the caller would
# then leave programs attached, or remove pins of attached programs.
# Queries read bpftool's JSON (-j), its stable interface: one line, an
# object per program or map.  json_val is an awk function for it:
# val(O, K), the value of key K in O (a number, or a string without
# escapes, as ids, names and types are), or "" when O has no key K.
json_val='
function val(o, k) {
	if (!match(o, "[{,]\"" k "\":(\"[^\"]*\"|[0-9]+)"))
		return ""
	o = substr(o, RSTART + length(k) + 4, RLENGTH - length(k) - 4)
	gsub(/"/, "", o)
	return o
}
'

# prog_id PIN: print the id of the program pinned at PIN.
prog_id() {
	local q
	q=$("$BPFTOOL" -j prog show pinned "$1" 2>/dev/null) || {
		warn "reading the program pinned at $1 failed"
		return 1
	}
	printf '%s\n' "$q" | awk "$json_val"'{ if (val($0, "id") != "") print val($0, "id") }'
}

# attached_ids CGROUP: print "ID TYPE FLAGS" for each program attached
# directly to CGROUP (FLAGS is "-" for an exclusive attachment).  A cgroup
# that no longer exists holds no programs: the kernel detached them.
# bpftool reads the kernel's whole BTF for this (about 10 ms): the usual
# load and unload do not ask.
attached_ids() {
	local q
	[ -d "$1" ] || return 0
	q=$("$BPFTOOL" -j cgroup show "$1" 2>/dev/null) || {
		warn "listing the programs attached to $1 failed"
		return 1
	}
	# [{"id":N,"attach_type":"T","attach_flags":"F","name":"P"},...]
	printf '%s\n' "$q" | awk "$json_val"'{
		n = split($0, obj, /}/)
		for (i = 1; i <= n; i++) {
			if (val(obj[i], "id") == "")
				continue
			flags = val(obj[i], "attach_flags")
			if (flags != "multi" && flags != "override")
				flags = "-"
			print val(obj[i], "id"), val(obj[i], "attach_type"), flags
		}
	}'
}

# is_attached ID TYPE LIST: is ID attached as TYPE in LIST (attached_ids)?
is_attached() {
	printf '%s\n' "$3" | grep -q "^$1 $2 "
}

# still_attached CGROUP TYPE PIN: after a detach of PIN failed, is it still
# attached (a real failure) or was it not attached at all?  When that
# cannot be told, assume the worst: still attached.
still_attached() {
	local list id
	list=$(attached_ids "$1") || return 0
	id=$(prog_id "$3") || return 0
	[ -n "$id" ] && is_attached "$id" "$2" "$list"
}
