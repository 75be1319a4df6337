#!/bin/bash
# Log functions for the start scripts and for hooks of child images; source this file.
#
# Every line starts with its level (INFO, WARNING, ERROR, FATAL, DEBUG) and the time,
# so log scanners find problems by the first word of a line. INFO and DEBUG lines are
# left out when JUPYTER_DOCKER_STACKS_QUIET (or START_QUIET) is set; the others never
# are. On a terminal the level is coloured unless NO_COLOR is set.
#
# Interface after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md beside it.

_log() {
    local level=INFO
    case "${1:-}" in
    INFO | WARNING | ERROR | FATAL | DEBUG)
        level="$1"
        shift
        ;;
    esac
    case "$level" in
    INFO | DEBUG)
        if [ -n "${JUPYTER_DOCKER_STACKS_QUIET:-}${START_QUIET:-}" ]; then return 0; fi
        ;;
    esac
    local line
    line="${level}[$(date '+%Y-%m-%d %H:%M:%S')] $*"
    if [ -t 2 ] && [ -z "${NO_COLOR:-}" ]; then
        local colour=
        case "$level" in
        FATAL) colour='1;31' ;;
        ERROR) colour='31' ;;
        WARNING) colour='33' ;;
        DEBUG) colour='36' ;;
        esac
        if [ -n "$colour" ]; then line=$'\e[0;'"${colour}m${line}"$'\e[0m'; fi
    fi
    printf '%s\n' "$line" >&2
}
_log_info() { _log INFO "$@"; }
_log_warn() { _log WARNING "$@"; }
_log_error() { _log ERROR "$@"; }
# A fatal problem ends the script that sourced this file.
_log_fatal() {
    _log FATAL "$@"
    exit 1
}
