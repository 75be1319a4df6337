#!/bin/bash
# run-hooks.sh DIR: run the hooks in DIR, in name order. Source it to let *.sh hooks
# export variables into the caller (start.sh does); run it as a command otherwise.
#
# *.sh files are sourced, other executable files run, anything else is skipped. A hook
# that fails is logged as an ERROR and the next one runs; a hook that turns on `set -e`
# itself and then fails ends the whole start, as its author asked. That is why a hook is
# never sourced in a context that ignores errors (`source x || ...` would disable its
# own `set -e`).
#
# Interface after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md beside it.

if ! declare -F _log >/dev/null; then
    # shellcheck source=start-log.sh
    source /usr/local/bin/start-log.sh
fi

# `return` ends a sourced run; run as a command, it fails and `exit` does.
# shellcheck disable=SC2317
if [ "$#" -ne 1 ]; then
    _log_error "run-hooks.sh takes exactly one directory, got $# arguments"
    return 2 2>/dev/null || exit 2
fi
# shellcheck disable=SC2317
if [ ! -d "$1" ]; then
    _log_error "run-hooks.sh: $1 is not a directory"
    return 2 2>/dev/null || exit 2
fi

case "$-" in
*e*) _hooks_errexit=1 ;;
*) _hooks_errexit= ;;
esac
set +e
_log_info "run-hooks.sh: hooks in $1 (uid $(id -u), gid $(id -g))"
for _hook in "$1"/*; do
    [ -e "$_hook" ] || continue
    case "$_hook" in
    *.sh)
        _log_info "run-hooks.sh: sourcing $_hook"
        # shellcheck disable=SC1090
        source "$_hook"
        _hook_status=$?
        # The hook may have turned errexit on and survived: the next one starts clean.
        set +e
        ;;
    *)
        if [ ! -x "$_hook" ]; then
            _log_info "run-hooks.sh: skipping $_hook (neither *.sh nor executable)"
            continue
        fi
        _log_info "run-hooks.sh: running $_hook"
        "$_hook"
        _hook_status=$?
        ;;
    esac
    if [ "$_hook_status" -ne 0 ]; then
        _log_error "run-hooks.sh: hook $_hook ended with status $_hook_status; going on with the next"
    fi
done
_log_info "run-hooks.sh: hooks in $1 done"
if [ -n "$_hooks_errexit" ]; then set -e; fi
unset _hooks_errexit _hook _hook_status
