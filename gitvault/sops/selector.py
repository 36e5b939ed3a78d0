"""Which leaves of a sops document are encrypted: the file's selection rule.

sops decides per leaf from the key path (``*_suffix`` and ``*_regex`` rules)
and, for the comment rules, from the comments above it. :class:`Selector`
answers that question for the encrypt and decrypt walks
(:mod:`gitvault.sops.document`), for structure checks and for the policy's
selection settings, exactly as sops 3.11 does.
"""

from __future__ import annotations

from typing import Any

from gitvault.errors import BadInput
from gitvault.sops.metadata import Metadata

__all__ = ["Selector", "compile_selection"]


def compile_selection(pattern: str | None) -> Any:
    """Compile a selection regex from a file's metadata or the policy.

    These patterns come from files anyone can write, and are used before the
    MAC can be checked, so they are compiled with RE2: linear time whatever the
    pattern (no catastrophic backtracking) and the same syntax as the Go
    regexp sops uses. A pattern RE2 rejects is bad input, not a crash.
    """
    if not pattern:
        return None
    import re2

    try:
        return re2.compile(pattern)
    except re2.error:
        raise BadInput("a selection regex in the sops metadata or policy is invalid") from None


class Selector:
    """Decides whether the leaf at a key path is encrypted (the file's selection rule)."""

    def __init__(self, meta: Metadata) -> None:
        meta = meta.with_defaults()
        self.meta = meta
        self._unenc_re = compile_selection(meta.unencrypted_regex)
        self._enc_re = compile_selection(meta.encrypted_regex)
        self._unenc_c = compile_selection(meta.unencrypted_comment_regex)
        self._enc_c = compile_selection(meta.encrypted_comment_regex)
        self.uses_comments = bool(self._unenc_c or self._enc_c)
        # Without comment rules the decision depends only on the path's components,
        # and a match anywhere settles it for the whole subtree: the walk carries
        # that state down instead of re-testing every component at every leaf.
        self.incremental = not self.uses_comments
        self.default = not (meta.encrypted_suffix or self._enc_re is not None)
        # settle(key, None) depends on the key alone, and key names repeat
        # across a file: the inline walks look it up here first.
        self.memo: dict[str, bool | None] = {}

    def settle(self, key: str, state: bool | None) -> bool | None:
        """The subtree's state after descending into ``key`` (None: not settled yet)."""
        if state is not None or not self.incremental:
            return state
        m = self.meta
        if m.unencrypted_suffix and key.endswith(m.unencrypted_suffix):
            return False
        if self._unenc_re is not None and self._unenc_re.search(key):
            return False
        if m.encrypted_suffix and key.endswith(m.encrypted_suffix):
            return True
        if self._enc_re is not None and self._enc_re.search(key):
            return True
        return None

    def decide(
        self, state: bool | None, path: list[str], stack: list[list[str]], is_comment: bool
    ) -> bool:
        """Whether the leaf at ``path`` is encrypted, using the carried state when possible."""
        if self.incremental:
            return self.default if state is None else state
        return self.encrypted(path, stack, is_comment)

    def encrypted(self, path: list[str], stack: list[list[str]], is_comment: bool) -> bool:
        m = self.meta
        result = True
        if m.unencrypted_suffix and any(p.endswith(m.unencrypted_suffix) for p in path):
            result = False
        if m.encrypted_suffix:
            result = any(p.endswith(m.encrypted_suffix) for p in path)
        if self._unenc_re is not None and any(self._unenc_re.search(p) for p in path):
            result = False
        if self._enc_re is not None:
            result = any(self._enc_re.search(p) for p in path)
        if self._unenc_c is not None and any(self._unenc_c.search(c) for cs in stack for c in cs):
            result = False
        if self._enc_c is not None:
            result = False
            last = len(stack) - 1
            for i, cs in enumerate(stack):
                for j, c in enumerate(cs):
                    # sops does not let a matching comment line encrypt itself.
                    if is_comment and i == last and j == len(cs) - 1:
                        continue
                    if self._enc_c.search(c):
                        return True
        return result
