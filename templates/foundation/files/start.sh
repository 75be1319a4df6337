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

# shellcheck source=start-log.sh
source /usr/local/bin/start-log.sh

log() {
    # Diagnostics go to stderr so the command's stdout stays clean.
    local level="$1"
    shift
    _log "$level" "start.sh: $*"
}

is_yes() { case "${1:-}" in 1 | yes | true) return 0 ;; *) return 1 ;; esac; }

run_hooks() {
    if [ -d "$1" ]; then
        # shellcheck source=run-hooks.sh
        source /usr/local/bin/run-hooks.sh "$1"
    fi
}

set_home() {
    # usermod refuses to touch an account a running process uses (root: this script),
    # so the passwd field is rewritten directly; only root gets here.
    local entries
    entries="$(awk -F: -v OFS=: -v user="$1" -v home="$2" '$1 == user { $6 = home } { print }' /etc/passwd)"
    printf '%s\n' "$entries" >/etc/passwd
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
    log WARNING "start.sh is the ENTRYPOINT already and runs once; leave it out of the command"
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

    if [ "$NB_USER" != "$image_user" ]; then
        if id "$NB_USER" >/dev/null 2>&1; then
            # An account of that name exists (root, daemon): it is the one to run as,
            # and the image's user stays as it is. Its home moves to /home/NAME, which
            # gets a copy of the image's home (root runs with /home/root).
            if [ "$(getent passwd "$NB_USER" | cut -d: -f6)" != "$new_home" ]; then
                log INFO "using the existing account $NB_USER with home $new_home"
                set_home "$NB_USER" "$new_home"
            fi
        elif id "$image_user" >/dev/null 2>&1; then
            log INFO "renaming user $image_user to $NB_USER (home $new_home)"
            usermod --login "$NB_USER" --home "$new_home" "$image_user"
        else
            log FATAL "neither $image_user nor $NB_USER exists; was the container started before with another NB_USER?"
            exit 1
        fi
        if [ ! -e "$new_home" ]; then
            # A copy keeps the image's home intact; a link is the fallback on a full disk.
            # Ownership is not kept: the account's own uid gets the copy below.
            mkdir "$new_home"
            if ! cp -a --no-preserve=ownership "$old_home/." "$new_home/" 2>/dev/null; then
                rmdir "$new_home" 2>/dev/null || true
                ln -s "$old_home" "$new_home"
            fi
            chown -R "$NB_UID:$NB_GID" "$new_home" 2>/dev/null || true
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

# Not root: the account cannot change, only be named. An arbitrary uid (OpenShift,
# docker run --user 1234) has no name: it gets NB_USER's (jovyan by default) with the
# image's home. /etc/passwd is writable by group 0 for this (the image sets it up).
wanted_user="${NB_USER:-$image_user}"
# The image's own ids, read before the passwd entry below may give the name to another uid.
image_uid="$(id -u "$image_user" 2>/dev/null || true)"
image_gid="$(id -g "$image_user" 2>/dev/null || true)"
if ! whoami >/dev/null 2>&1; then
    if [ -w /etc/passwd ]; then
        log INFO "adding uid $(id -u) to /etc/passwd as $wanted_user"
        # /etc is not writable, so no sed --in-place (it needs a temporary file there).
        # Two entries must not share a name: the image's own one steps aside.
        entries="$(sed "s/^$wanted_user:/$wanted_user-image:/" /etc/passwd)"
        printf '%s\n%s\n' "$entries" "$wanted_user:x:$(id -u):$(id -g):,,,:/home/$image_user:/bin/bash" >/etc/passwd
        if [ "$wanted_user" != "$image_user" ]; then
            log WARNING "uid $(id -u) is named $wanted_user, but its home stays /home/$image_user; start as root (--user root) to get /home/$wanted_user"
        fi
    else
        log WARNING "uid $(id -u) has no name and /etc/passwd is not writable; start with group 0 (--user $(id -u):0) to get one"
    fi
fi
# Warn only when the variables ask for something other than what this uid already is
# (the image sets them to its own account's values).
current_user="$(whoami 2>/dev/null || true)"
if { [ "$wanted_user" != "$image_user" ] && [ "$wanted_user" != "$current_user" ]; } ||
    { [ "${NB_UID:-}" != "$image_uid" ] && [ "${NB_UID:-}" != "$(id -u)" ]; } ||
    { [ "${NB_GID:-}" != "$image_gid" ] && [ "${NB_GID:-}" != "$(id -g)" ]; }; then
    log WARNING "NB_USER, NB_UID and NB_GID take effect only when the container starts as root (--user root)"
fi
if is_yes "${GRANT_SUDO:-}"; then
    log WARNING "GRANT_SUDO takes effect only when the container starts as root (--user root)"
fi
if [ -n "${HOME:-}" ] && [ ! -w "$HOME" ]; then
    log WARNING "HOME $HOME is not writable for uid $(id -u); add the group 100 (--group-add users) or start as root with NB_UID"
fi

run_hooks /usr/local/bin/before-notebook.d
unset_requested
exec "$@"
