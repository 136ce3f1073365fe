# SPDX-License-Identifier: GPL-2.0-only
# shellcheck shell=sh disable=SC2034,SC2154 # shared variables of same-cgroup-mark-load
# same-cgroup-mark-load, part "changes": what bpftool is asked, and how
# changes are made and undone.
#
# Every change to the kernel or to bpffs that a failed run must take back
# is queued with what undoes it and run in a "bpftool batch": one bpftool
# process runs the queued commands in order and stops at the first that
# fails.  The undo of each command that succeeded goes into the undo log;
# rollback (the EXIT trap) undoes the log, newest first, and commit, once a
# run has reached its new state, forgets it.  An entry of the undo log is
# one line:
#   bpftool CMD    a bpftool batch command (consecutive ones run together)
#   sh FUNC ARG... a function of the loader; its arguments have no blanks
# Sourced by same-cgroup-mark-load.

q_cmds=		# the queue: batch commands, one per line
q_steps=	# what each command does, for messages
q_undos=	# the undo log entry for each, or an empty line
undo_log=	# newest first
batch_failed=	# after run_batch failed: the command that failed,
batch_error=	# "STEP failed: ERROR" for it,
batch_rest=	# and the commands that did not run after it

# batch_word WHAT WORD: set _bw to WORD quoted for a batch line, or fail.
# Batch lines have no escapes: a word is quoted with a kind of quote it
# does not contain, and "#" starts a comment.
batch_word() {
	case $2 in
	*'#'* | *"$nl"* | *\"*\'* | *\'*\"*)
		warn "$1 '$2' contains '#', a line break or both kinds of quotes, which bpftool batch cannot take"
		return 1 ;;
	*\"*) _bw="'$2'" ;;
	*) _bw="\"$2\"" ;;
	esac
}

# queue STEP CMD UNDO: queue the bpftool batch command CMD, described as
# STEP, with UNDO its entry for the undo log ("" when nothing is to undo).
queue() {
	q_steps="$q_steps$1$nl"
	q_cmds="$q_cmds$2$nl"
	q_undos="$q_undos$3$nl"
}

# queue_attach CGROUP TYPE PIN, queue_detach CGROUP TYPE PIN
queue_attach() {
	batch_word cgroup "$1" || return 1
	queue "attaching $3 to $1 ($2)" "cgroup attach $_bw $2 pinned $3 multi" \
		"bpftool cgroup detach $_bw $2 pinned $3"
}

queue_detach() {
	batch_word cgroup "$1" || return 1
	queue "detaching $3 from $1 ($2)" "cgroup detach $_bw $2 pinned $3" \
		"bpftool cgroup attach $_bw $2 pinned $3 multi"
}

# run_batch: run the queue in one bpftool process and empty it; log the
# undo of each command that succeeded.  When one failed, set batch_failed,
# batch_error and batch_rest, and fail.
run_batch() {
	_cmds=$q_cmds
	_steps=$q_steps
	_undos=$q_undos
	q_cmds=
	q_steps=
	q_undos=
	batch_failed=
	batch_error=
	batch_rest=
	[ -n "$_cmds" ] || return 0
	_out=$(printf '%s' "$_cmds" | "$BPFTOOL" -j batch file - 2>&1)
	# Success is read from the result -j gives for each command that ran
	# ("output": null, or {"error": ...}), not from the exit status:
	# bpftool 7.1 can exit 255 after every command succeeded.
	_ok=0
	_rest=$_out
	while :; do
		case $_rest in
		*'"output":'*) _rest=${_rest#*'"output":'} ;;
		*) break ;;
		esac
		case $_rest in
		'{"error"'*) break ;;
		esac
		_ok=$((_ok + 1))
	done
	while [ -n "$_cmds" ]; do
		_cmd=${_cmds%%"$nl"*} _cmds=${_cmds#*"$nl"}
		_step=${_steps%%"$nl"*} _steps=${_steps#*"$nl"}
		_undo=${_undos%%"$nl"*} _undos=${_undos#*"$nl"}
		if [ "$_ok" -gt 0 ]; then
			_ok=$((_ok - 1))
			[ -z "$_undo" ] || undo_log="$_undo$nl$undo_log"
		elif [ -z "$batch_failed" ]; then
			batch_failed=$_cmd
			batch_error="$_step failed"
		else
			batch_rest="$batch_rest$_cmd$nl"
		fi
	done
	[ -n "$batch_failed" ] || return 0
	case $_out in
	*'"output":{"error":"'*)
		_err=${_out#*'"output":{"error":"'}
		_err=${_err%%\"*} ;;
	*) _err=${_out##*"$nl"} ;;
	esac
	batch_error="$batch_error${_err:+: $_err}"
	return 1
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

commit() {
	undo_log=
}

# rollback: undo what the undo log holds, newest first.
rollback() {
	rollback_to ''
}

# rollback_to LOG: undo what was logged after the undo log was LOG, newest
# first, and go back to LOG.  What cannot be undone is reported, and the
# rest is still undone.
rollback_to() {
	_log=${undo_log%"$1"}
	undo_log=$1
	_undo_cmds=
	while [ -n "$_log" ]; do
		_u=${_log%%"$nl"*} _log=${_log#*"$nl"}
		case $_u in
		'bpftool '*)
			_undo_cmds="$_undo_cmds${_u#bpftool }$nl"
			continue ;;
		esac
		undo_commands "$_undo_cmds"
		_undo_cmds=
		set -f
		# shellcheck disable=SC2086 # "sh FUNC ARG...": split on purpose
		set -- ${_u#sh }
		set +f
		"$@"
	done
	undo_commands "$_undo_cmds"
}

# undo_commands CMDS: run the batch commands CMDS (one per line), all of
# them: after one fails, the rest runs in a batch of its own.
undo_commands() {
	_todo=$1
	while [ -n "$_todo" ]; do
		while [ -n "$_todo" ]; do
			queue "undoing: ${_todo%%"$nl"*}" "${_todo%%"$nl"*}" ""
			_todo=${_todo#*"$nl"}
		done
		run_batch && return 0
		warn "rollback: $batch_error; run $me again"
		_todo=$batch_rest
	done
}

# --- queries --------------------------------------------------------------
# A query that fails must not pass for "nothing there": the caller would
# then leave programs attached, or remove pins of attached programs.

# prog_id PIN: print the id of the program pinned at PIN.
prog_id() {
	_q=$("$BPFTOOL" prog show pinned "$1" 2>/dev/null) || {
		warn "reading the program pinned at $1 failed"
		return 1
	}
	printf '%s\n' "$_q" | sed -n '1s/^\([0-9][0-9]*\):.*/\1/p'
}

# attached_ids CGROUP: print "ID TYPE FLAGS" for each program attached
# directly to CGROUP (FLAGS is "-" for an exclusive attachment).  A cgroup
# that no longer exists holds no programs: the kernel detached them.
# bpftool reads the kernel's whole BTF for this (about 10 ms): the usual
# load and unload do not ask.
attached_ids() {
	[ -d "$1" ] || return 0
	_q=$("$BPFTOOL" cgroup show "$1" 2>/dev/null) || {
		warn "listing the programs attached to $1 failed"
		return 1
	}
	printf '%s\n' "$_q" | awk '
		$1 ~ /^[0-9]+$/ {
			flags = ($3 == "multi" || $3 == "override") ? $3 : "-"
			print $1, $2, flags
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
	_list=$(attached_ids "$1") || return 0
	_id=$(prog_id "$3") || return 0
	[ -n "$_id" ] && is_attached "$_id" "$2" "$_list"
}
