"""SHA-512 and a constant-time comparison for the MAC, without loading OpenSSL's hashlib.

``import hashlib`` initialises OpenSSL's hash provider (``_hashlib``): about
5 ms of every ``gitvault decrypt``, for one SHA-512 per file. CPython also
ships its own SHA-512 (``_sha512`` up to 3.11, ``_sha2`` from 3.12), the one
:mod:`random` uses for the same reason; the MAC is computed with it, and with
:mod:`hashlib` only on an interpreter that has neither. ``compare_digest`` is
the C function :func:`hmac.compare_digest` itself falls back to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha512
    from hmac import compare_digest
else:
    try:
        from _sha2 import sha512  # CPython >= 3.12
    except ImportError:  # pragma: no cover - depends on the interpreter
        try:
            from _sha512 import sha512  # CPython <= 3.11
        except ImportError:
            from hashlib import sha512
    try:
        from _operator import _compare_digest as compare_digest
    except ImportError:  # pragma: no cover - not CPython
        from hmac import compare_digest

__all__ = ["compare_digest", "sha512"]
