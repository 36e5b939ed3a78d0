"""A ``.git/index.lock`` left behind by a killed git: recognised and removed.

git creates ``index.lock`` exclusively and keeps it open until it renames it
over the index. A git killed in between — gitvault's own short ``update-index``
when the whole process group dies, a power loss — leaves the file behind, and
every later command that writes the index fails with git's "remove the file
manually". Recovery (``recover --finish``) and every gitvault commit first
remove such a lock, but only when they can be sure nobody is using it: on
Linux, no process of this user has it open (``/proc/PID/fd``), checked twice
a moment apart (git closes the file just before renaming it), and it is a
regular file. Where ``/proc`` cannot tell, the lock is left alone and git's
own message stands.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from pathlib import Path

RECHECK_SECONDS = 0.2


def clear_stale(git_dir: Path) -> bool:
    """Remove ``git_dir/index.lock`` if no process holds it; True when removed."""
    lock = git_dir / "index.lock"
    try:
        info = lock.lstat()
    except OSError:
        return False  # the common case: no lock, nothing scanned
    if not stat.S_ISREG(info.st_mode) or not Path("/proc/self/fd").is_dir():
        return False
    target = os.path.realpath(lock)
    for attempt in range(2):
        if attempt:
            time.sleep(RECHECK_SECONDS)
        if _held(target):
            return False
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock)
    return True


def _held(target: str) -> bool:
    """Whether a process of this user has ``target`` open (or that cannot be ruled out)."""
    uid = os.getuid()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return True
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue  # another user's process does not write our index
            fds = os.listdir(fd_dir)
        except FileNotFoundError:
            continue  # the process ended while we looked
        except OSError:
            return True  # ours but unreadable: cannot be sure
        for fd in fds:
            with contextlib.suppress(OSError):
                if os.readlink(f"{fd_dir}/{fd}") == target:
                    return True
    return False
