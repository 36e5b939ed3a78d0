"""Path globs matched in linear time: ``*``, ``?``, ``**``, ``**/`` and ``[…]`` classes.

Policy rule paths and scan excludes come from files a pull request can change,
and every path in the repository is matched against them. A translation to a
backtracking regex makes ``a*a*a*…b`` take exponential time; this matcher
simulates the pattern as a set of positions instead (a Thompson NFA), so a
match costs at most ``len(path) × len(pattern)`` steps whatever the pattern.

Syntax: ``*`` any run of characters except ``/``; ``?`` one character except
``/``; ``**`` any run including ``/``; ``**/`` zero or more whole directories;
``[abc]``, ``[a-z]``, ``[!a-z]`` one character of (not of) a set, never ``/``.
Everything else, backslash included, is literal. A malformed class (``[]``,
a reversed range) is :class:`BadInput`; an unclosed ``[`` is a literal.

Pure functions, no I/O, no regex engine.
"""

from __future__ import annotations

from gitvault.errors import BadInput
from gitvault.records import record

# Token kinds.
_LIT, _ONE, _CLASS, _STAR, _DSTAR, _DIRS = range(6)
MAX_GLOB_LENGTH = 4096


@record(frozen=True)
class _Token:
    kind: int
    char: str = ""
    negate: bool = False
    ranges: tuple[tuple[str, str], ...] = ()

    def accepts(self, ch: str) -> bool:
        """Whether this token can consume ``ch`` (star kinds: and stay)."""
        kind = self.kind
        if kind == _LIT:
            return ch == self.char
        if kind in (_ONE, _STAR):
            return ch != "/"
        if kind == _CLASS:
            if ch == "/":
                return False
            hit = any(lo <= ch <= hi for lo, hi in self.ranges)
            return hit != self.negate
        return True  # _DSTAR, _DIRS: anything


def _parse_class(pattern: str, i: int) -> tuple[_Token, int] | None:
    """The class starting at ``pattern[i] == '['``: (token, index after ``]``), or None."""
    j = i + 1
    negate = j < len(pattern) and pattern[j] == "!"
    if negate:
        j += 1
    end = pattern.find("]", j)
    if end == -1:
        return None  # unclosed: the '[' is literal
    body = pattern[j:end]
    if not body:
        raise BadInput(f"invalid glob {pattern!r}: an empty [] class")
    ranges: list[tuple[str, str]] = []
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            lo, hi = body[k], body[k + 2]
            if lo > hi:
                raise BadInput(f"invalid glob {pattern!r}: reversed range {lo}-{hi}")
            ranges.append((lo, hi))
            k += 3
        else:
            ranges.append((body[k], body[k]))
            k += 1
    return _Token(_CLASS, negate=negate, ranges=tuple(ranges)), end + 1


def _tokens(pattern: str, classes: bool) -> tuple[_Token, ...]:
    if len(pattern) > MAX_GLOB_LENGTH:
        raise BadInput(f"invalid glob: longer than {MAX_GLOB_LENGTH} characters")
    out: list[_Token] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append(_Token(_DIRS))
            i += 3
        elif pattern.startswith("**", i):
            out.append(_Token(_DSTAR))
            i += 2
        elif pattern[i] == "*":
            out.append(_Token(_STAR))
            i += 1
        elif pattern[i] == "?":
            out.append(_Token(_ONE))
            i += 1
        elif pattern[i] == "[" and classes and (parsed := _parse_class(pattern, i)) is not None:
            out.append(parsed[0])
            i = parsed[1]
        else:
            out.append(_Token(_LIT, pattern[i]))
            i += 1
    # Consecutive stars add nothing but states: ``***`` is ``**``.
    merged: list[_Token] = []
    for tok in out:
        if merged and tok.kind == _STAR and merged[-1].kind in (_STAR, _DSTAR):
            continue
        merged.append(tok)
    return tuple(merged)


# Cached DFA transitions per glob: state sets are built lazily from the NFA and
# remembered, so typical paths cost one dict lookup per character. The cache is
# capped; past it the matcher keeps simulating the NFA (still linear).
_MAX_DFA_STATES = 4096


class Glob:
    """A compiled glob. ``fullmatch`` mirrors ``re.Pattern.fullmatch`` for callers.

    A match is a simulation of the pattern's positions (a Thompson NFA) over the
    path, with the sets of positions met so far cached as DFA states: at most
    ``len(path) × len(pattern)`` steps, usually one dictionary lookup per
    character. A literal prefix and suffix reject most paths before that.
    """

    __slots__ = (
        "_accept",
        "_moves",
        "_prefix",
        "_start",
        "_suffix",
        "dir_prefix",
        "pattern",
        "tokens",
    )

    def __init__(self, pattern: str, tokens: tuple[_Token, ...], dir_prefix: bool = False) -> None:
        self.pattern = pattern
        self.tokens = tokens
        # also match paths *below* a match (a directory pattern covers its files)
        self.dir_prefix = dir_prefix
        self._accept = 2 * len(tokens)
        self._start = frozenset(self._closure({0}))
        self._moves: dict[tuple[frozenset[int], str], frozenset[int]] = {}
        prefix = []
        for tok in tokens:
            if tok.kind != _LIT:
                break
            prefix.append(tok.char)
        self._prefix = "".join(prefix)
        suffix = []
        for tok in reversed(tokens):
            if tok.kind != _LIT:
                break
            suffix.append(tok.char)
        # with dir_prefix a match may end before the path does: no suffix test
        self._suffix = "" if dir_prefix or len(prefix) == len(tokens) else "".join(reversed(suffix))

    def __repr__(self) -> str:
        return f"Glob({self.pattern!r})"

    # A state is a token index ``i`` encoded as ``2*i``, or ``2*i + 1`` for "inside
    # a ``**/`` that has consumed characters and must still end at a ``/``".

    def _closure(self, states: set[int]) -> set[int]:
        """Add the positions reachable without consuming a character (stars matching "")."""
        stack = list(states)
        while stack:
            st = stack.pop()
            i = st >> 1
            if st & 1 or i >= len(self.tokens):
                continue
            if self.tokens[i].kind in (_STAR, _DSTAR, _DIRS) and 2 * (i + 1) not in states:
                states.add(2 * (i + 1))
                stack.append(2 * (i + 1))
        return states

    def _step(self, states: frozenset[int], ch: str) -> frozenset[int]:
        cached = self._moves.get((states, ch))
        if cached is not None:
            return cached
        nxt: set[int] = set()
        for st in states:
            i = st >> 1
            if i >= len(self.tokens):
                continue
            tok = self.tokens[i]
            if not tok.accepts(ch):
                continue
            if tok.kind in (_STAR, _DSTAR):
                nxt.add(st)  # stay: consume more
            elif tok.kind == _DIRS:
                if ch == "/":
                    nxt.add(2 * (i + 1))  # a whole directory ends here
                nxt.add(2 * i + 1)  # or the directory part goes on
            else:
                nxt.add(2 * (i + 1))
        result = frozenset(self._closure(nxt))
        if len(self._moves) < _MAX_DFA_STATES:
            self._moves[(states, ch)] = result
        return result

    def fullmatch(self, path: str) -> bool:
        """True when the whole of ``path`` matches (or, with ``dir_prefix``, a directory of it)."""
        if not path.startswith(self._prefix) or not path.endswith(self._suffix):
            return False
        if len(self._prefix) == len(self.tokens):  # all literal
            return path == self._prefix or (
                self.dir_prefix and path[len(self._prefix) : len(self._prefix) + 1] == "/"
            )
        accept = self._accept
        states = self._start
        for ch in path:
            if self.dir_prefix and ch == "/" and accept in states:
                return True
            states = self._step(states, ch)
            if not states:
                return False
        return accept in states


def compile_glob(pattern: str, *, classes: bool = True, dir_prefix: bool = False) -> Glob:
    """Compile ``pattern``; :class:`BadInput` (naming the problem) when it is malformed."""
    return Glob(pattern, _tokens(pattern, classes), dir_prefix)
