"""Remember which policy contents already passed the JSON Schema check.

Importing ``jsonschema`` and building its validator costs more than everything
else an ``encrypt`` or ``set`` does for a small file, while the policy changes
rarely. After a successful check, an empty marker file named by a digest of
(gitvault's version, the schema, the decoded policy) is written under the
user's cache directory; a later load of the same content skips the check.

Only successes are remembered, so a policy that fails is checked (and its
error reported) every time, word for word as without the cache. The checks
the schema cannot express (names resolve, keys parse, globs compile) run on
every load regardless. A marker is trusted only when it is a regular file
owned by the current user; the cache is rebuildable, so any error reading or
writing it just means checking again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from gitvault import __version__
from gitvault.crypto.digest import sha256

_PLAIN_TYPES = (dict, list, str, int, float, bool, type(None))


def cache_dir() -> Path:
    """Where gitvault keeps rebuildable caches (``GITVAULT_CACHE_DIR`` overrides)."""
    explicit = os.environ.get("GITVAULT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "gitvault"


def _exact(data: Any) -> bool:
    """True when ``data`` holds only plain JSON-like types, so its repr names it exactly."""
    stack = [data]
    while stack:
        item = stack.pop()
        if type(item) not in _PLAIN_TYPES:
            return False
        if type(item) is dict:
            stack.extend(item.keys())
            stack.extend(item.values())
        elif type(item) is list:
            stack.extend(item)
    return True


def marker(data: Any, schema: bytes) -> Path | None:
    """The marker path for this content, or None when it cannot be named exactly.

    ``repr`` of plain types tells ``1``, ``1.0``, ``True`` and ``"1"`` apart (a
    JSON dump would not, for keys), so two contents that validate differently
    never share a marker.
    """
    if not _exact(data):
        return None
    digest = sha256(b"gitvault-policy-valid-v1\0")
    digest.update(__version__.encode() + b"\0")
    digest.update(sha256(schema).digest())
    digest.update(repr(data).encode("utf-8", "surrogateescape"))
    return cache_dir() / "policy-valid" / digest.hexdigest()


def known_valid(path: Path | None) -> bool:
    """Whether ``path`` is a marker this user wrote."""
    if path is None or os.environ.get("GITVAULT_NO_CACHE"):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    import stat

    return stat.S_ISREG(st.st_mode) and st.st_uid == os.getuid()


def remember(path: Path | None) -> None:
    """Write the marker (best effort: a read-only home only costs the check next time)."""
    if path is None or os.environ.get("GITVAULT_NO_CACHE"):
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        os.close(fd)
    except OSError:
        return
    prune(path.parent)


# A marker is written only after a full schema check (a policy edit, a new
# checkout, a gitvault upgrade), so the directory grows slowly; past
# MAX_MARKERS the oldest are dropped, which at worst costs one check again.
MAX_MARKERS = 256
KEEP_MARKERS = 128


def prune(directory: Path) -> None:
    """Keep the :data:`KEEP_MARKERS` newest markers once there are more than :data:`MAX_MARKERS`."""
    try:
        with os.scandir(directory) as entries:
            found = [e for e in entries if e.is_file(follow_symlinks=False)]
        if len(found) <= MAX_MARKERS:
            return
        found.sort(key=lambda e: e.stat(follow_symlinks=False).st_mtime_ns, reverse=True)
        for entry in found[KEEP_MARKERS:]:
            os.unlink(entry.path)
    except OSError:
        return
