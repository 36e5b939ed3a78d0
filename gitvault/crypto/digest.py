"""SHA-2 and a constant-time comparison, without loading OpenSSL's hashlib.

``import hashlib`` initialises OpenSSL's hash provider (``_hashlib``): about
5 ms of every ``gitvault decrypt``, for one SHA-512 per file (the MAC) and
a SHA-256 or two (lock and cache names). CPython also ships its own SHA-2
(``_sha256``/``_sha512`` up to 3.11, ``_sha2`` from 3.12), which :mod:`random`
uses for the same reason; these come from there, and from :mod:`hashlib` only
on an interpreter that has neither. The digests are the same either way. ``compare_digest`` is
the C function :func:`hmac.compare_digest` itself falls back to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256, sha512
    from hmac import compare_digest
else:
    try:
        from _sha2 import sha256, sha512  # CPython >= 3.12
    except ImportError:  # pragma: no cover - depends on the interpreter
        try:
            from _sha256 import sha256  # CPython <= 3.11
            from _sha512 import sha512
        except ImportError:
            from hashlib import sha256, sha512
    try:
        from _operator import _compare_digest as compare_digest
    except ImportError:  # pragma: no cover - not CPython
        from hmac import compare_digest

__all__ = ["compare_digest", "sha256", "sha512"]
