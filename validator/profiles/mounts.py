"""Which container paths a profile or ``--mount-path`` may mount a volume at.

One rule for the profile's fields (home_volume, mount_path, ssl_mount_path) and the
command line, so a value the CLI refuses could not come in through a profile either.
"""

from __future__ import annotations

import re

# The characters of the Jupyter4NFDI spawn form's mount-path pattern. They also keep the
# path safe in every syntax a spawner writes it in: DockerSpawner turns volumes into
# ``source:target:mode`` binds (a ':' would split the target), ``docker run --mount``
# is comma-separated, and a hub's config templates quote nothing.
_CHARS = re.compile(r"/[A-Za-z0-9_./-]*")
# PATH_MAX is 4096; a mount point nobody can type is a mistake.
MAX_LENGTH = 1024

# Paths where no hub mounts a user volume, because the container cannot work with an
# empty directory there (or the runtime refuses the mount): a user mistake to report,
# not a verdict to give about the image.
#  - the kernel's filesystems: runc refuses or overrides mounts in /proc and /sys, and
#    /dev holds the devices the engine creates (null, tty, shm);
#  - the root and the system directories: an empty /usr or /lib leaves no shell, no
#    libc and no Python, so nothing starts; /etc also holds the engine's own bind mounts
#    (/etc/hosts, /etc/hostname, /etc/resolv.conf);
#  - /run and /var/run: the kubelet mounts the service account token under
#    /var/run/secrets and images keep sockets and pid files there.
# /tmp, /home, /opt, /srv and the like stay allowed: platforms do mount there (an
# emptyDir at /tmp, a home at /home), and whether the mount hides what the image needs
# is what the mount-hides-content check decides.
_SYSTEM_TREES = ("/proc", "/sys", "/dev")
_SYSTEM_DIRS = frozenset(
    {
        "/",
        "/bin",
        "/sbin",
        "/lib",
        "/lib32",
        "/lib64",
        "/libx32",
        "/usr",
        "/usr/bin",
        "/usr/sbin",
        "/usr/lib",
        "/usr/lib64",
        "/etc",
        "/etc/hosts",
        "/etc/hostname",
        "/etc/resolv.conf",
        "/run",
        "/var/run",
    }
)


def check_mount_path(value: str) -> str:
    """The normalised path (no trailing or doubled '/'), or ValueError with the reason.

    The reason never quotes the value: callers add it where it is the user's own input.
    """
    if not isinstance(value, str):
        raise ValueError("expected a path")
    if len(value) > MAX_LENGTH:
        raise ValueError(f"expected at most {MAX_LENGTH} characters")
    if not value.startswith("/"):
        raise ValueError("expected an absolute path like /mnt/userdata")
    if _CHARS.fullmatch(value) is None:
        raise ValueError("expected only ASCII letters, digits and _ . - / (no ':', no spaces)")
    parts = [part for part in value.split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ValueError("expected a path without . or .. components")
    path = "/" + "/".join(parts)
    if path in _SYSTEM_DIRS or any(
        path == tree or path.startswith(f"{tree}/") for tree in _SYSTEM_TREES
    ):
        raise ValueError(f"{path} is a system path no hub mounts a volume at")
    return path


def overlaps(a: str, b: str) -> bool:
    """Whether one of two normalised paths is the other or inside it."""
    return a == b or a.startswith(f"{b}/") or b.startswith(f"{a}/")
