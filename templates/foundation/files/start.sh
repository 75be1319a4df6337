#!/bin/bash
# The ENTRYPOINT (behind tini): prepares the user, runs the hook directories, then
# runs the command, which is the image CMD or whatever the spawner passes (z2jh and
# KubeSpawner pass `jupyterhub-singleuser`). Being the ENTRYPOINT, not part of CMD,
# it runs whichever command a spawner chooses.
#
# Started as root, it first adapts the account to NB_USER/NB_UID/NB_GID, can chown
# the home and other paths, and then drops to that user. Started as any other uid
# (the usual case under a hub), it changes nothing it has no right to and says why.
#
# Design after jupyter/docker-stacks (BSD-3-Clause); see NOTICE.md beside it.
set -e

log() {
    # Diagnostics go to stderr so the command's stdout stays clean.
    local level="$1"
    shift
    if [ "$level" = INFO ] && [ -n "${START_QUIET:-}" ]; then return 0; fi
    printf 'start.sh %s: %s\n' "$level" "$*" >&2
}

is_yes() { case "${1:-}" in 1 | yes | true) return 0 ;; *) return 1 ;; esac; }

run_hooks() {
    # *.sh files are sourced (they may export variables for the command), other
    # executables run; a failing hook is reported but does not stop the start.
    local dir="$1" hook
    [ -d "$dir" ] || return 0
    for hook in "$dir"/*; do
        [ -e "$hook" ] || continue
        case "$hook" in
        *.sh)
            log INFO "sourcing hook $hook"
            # shellcheck disable=SC1090
            source "$hook" || log WARNING "hook $hook failed with exit code $?"
            ;;
        *)
            if [ -x "$hook" ]; then
                log INFO "running hook $hook"
                "$hook" || log WARNING "hook $hook failed with exit code $?"
            else
                log INFO "ignoring $hook: neither *.sh nor executable"
            fi
            ;;
        esac
    done
}

unset_requested() {
    local name
    for name in ${JUPYTER_ENV_VARS_TO_UNSET//,/ }; do
        unset "$name"
    done
    unset JUPYTER_ENV_VARS_TO_UNSET
}

if [ "$#" -eq 0 ]; then
    set -- bash
fi

# A command that calls start.sh again (old images had it in CMD) gets it only once.
if [ -n "${_START_SH_DONE:-}" ]; then
    exec "$@"
fi
export _START_SH_DONE=1

if [ -n "${NB_UMASK:-}" ]; then
    umask "$NB_UMASK"
fi

run_hooks /usr/local/bin/start-notebook.d

image_user=jovyan

if [ "$(id -u)" -eq 0 ]; then
    NB_USER="${NB_USER:-$image_user}"
    NB_UID="${NB_UID:-1000}"
    NB_GID="${NB_GID:-100}"
    old_home="/home/$image_user"
    new_home="/home/$NB_USER"

    if [ "$NB_USER" != "$image_user" ] && id "$image_user" >/dev/null 2>&1; then
        log INFO "renaming user $image_user to $NB_USER (home $new_home)"
        usermod --login "$NB_USER" --home "$new_home" "$image_user"
        if [ ! -e "$new_home" ]; then
            # A copy keeps the image's home intact; a link is the fallback on a full disk.
            cp -a "$old_home" "$new_home" 2>/dev/null || ln -s "$old_home" "$new_home"
        fi
        if [ "$PWD" = "$old_home" ] || [[ "$PWD" == "$old_home"/* ]]; then
            cd "$new_home${PWD#"$old_home"}" 2>/dev/null || cd "$new_home"
        fi
    fi

    if [ "$NB_UID" != "$(id -u "$NB_USER")" ] || [ "$NB_GID" != "$(id -g "$NB_USER")" ]; then
        log INFO "setting $NB_USER to uid $NB_UID, gid $NB_GID"
        if ! getent group "$NB_GID" >/dev/null; then
            groupadd --gid "$NB_GID" "${NB_GROUP:-$NB_USER}"
        elif [ -n "${NB_GROUP:-}" ]; then
            groupmod --new-name "$NB_GROUP" "$(getent group "$NB_GID" | cut -d: -f1)" 2>/dev/null ||
                log WARNING "could not name group $NB_GID '$NB_GROUP'"
        fi
        # No --create-home and no chown of the home: it is group 100-writable already,
        # and a large mounted home would take minutes to chown (CHOWN_HOME does it).
        userdel "$NB_USER"
        useradd --no-log-init --home-dir "$new_home" --shell /bin/bash \
            --uid "$NB_UID" --gid "$NB_GID" --groups 100 --non-unique "$NB_USER"
    fi

    if is_yes "${CHOWN_HOME:-}"; then
        log INFO "chown ${CHOWN_HOME_OPTS:-} $NB_UID:$NB_GID $new_home"
        # shellcheck disable=SC2086
        chown ${CHOWN_HOME_OPTS:-} "$NB_UID:$NB_GID" "$new_home"
    fi
    if [ -n "${CHOWN_EXTRA:-}" ]; then
        for path in ${CHOWN_EXTRA//,/ }; do
            log INFO "chown ${CHOWN_EXTRA_OPTS:-} $NB_UID:$NB_GID $path"
            # shellcheck disable=SC2086
            chown ${CHOWN_EXTRA_OPTS:-} "$NB_UID:$NB_GID" "$path"
        done
    fi

    if is_yes "${GRANT_SUDO:-}"; then
        if command -v sudo >/dev/null; then
            log INFO "granting $NB_USER passwordless sudo"
            echo "$NB_USER ALL=(ALL) NOPASSWD:ALL" >/etc/sudoers.d/notebook
            # sudo resets PATH; keep the environment's commands on it.
            echo "Defaults secure_path=\"$ENV_DIR/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"" >/etc/sudoers.d/path
        else
            log WARNING "GRANT_SUDO is set but this image has no sudo; install it in a child image"
        fi
    fi

    run_hooks /usr/local/bin/before-notebook.d
    unset_requested
    log INFO "running as $NB_USER (uid $NB_UID, gid $NB_GID): $*"
    export HOME="$new_home" USER="$NB_USER" LOGNAME="$NB_USER"
    exec setpriv --reuid="$NB_UID" --regid="$NB_GID" --init-groups -- "$@"
fi

# Not root: nothing about the account can change. Warn only when the variables ask for
# something other than the image's account (the image sets them to its defaults).
if [ "${NB_USER:-$image_user}" != "$image_user" ] ||
    [ "${NB_UID:-}" != "$(id -u "$image_user" 2>/dev/null || true)" ] ||
    [ "${NB_GID:-}" != "$(id -g "$image_user" 2>/dev/null || true)" ]; then
    log WARNING "NB_USER, NB_UID and NB_GID take effect only when the container starts as root (--user root)"
fi
if is_yes "${GRANT_SUDO:-}"; then
    log WARNING "GRANT_SUDO takes effect only when the container starts as root (--user root)"
fi

# An arbitrary uid (OpenShift, docker run --user 1234) has no name; give it jovyan's
# home. /etc/passwd is writable by group 0 for this (the image sets it up).
if ! whoami >/dev/null 2>&1; then
    if [ -w /etc/passwd ]; then
        log INFO "adding uid $(id -u) to /etc/passwd as $image_user"
        # /etc is not writable, so no sed --in-place (it needs a temporary file there).
        entries="$(sed "s/^$image_user:/$image_user-image:/" /etc/passwd)"
        printf '%s\n%s\n' "$entries" "$image_user:x:$(id -u):$(id -g):,,,:/home/$image_user:/bin/bash" >/etc/passwd
    else
        log WARNING "uid $(id -u) has no name and /etc/passwd is not writable; start with group 0 (--user $(id -u):0) to get one"
    fi
fi
if [ -n "${HOME:-}" ] && [ ! -w "$HOME" ]; then
    log WARNING "HOME $HOME is not writable for uid $(id -u); add the group 100 (--group-add users) or start as root with NB_UID"
fi

run_hooks /usr/local/bin/before-notebook.d
unset_requested
exec "$@"
