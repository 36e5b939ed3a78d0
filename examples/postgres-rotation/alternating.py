"""Helper for the alternating-users rotation: read and make the ``db.url`` value.

The vault holds ONE value for the credential consumers use, a libpq URI
``postgresql://USER:PASSWORD@HOST/DB``, so the user and its password always
switch together: no reader can ever see the new user with the old password.

    alternating.py next            stdin: the current URI; stdout: the next one
                                   (the other role of $PGROTATE_ROLES, a new
                                   random password, everything else kept)
    alternating.py user VAR        the user of the URI in environment variable VAR
    alternating.py password VAR    its password (for a shell variable, never argv)
    alternating.py database VAR    its database name (empty when the URI has none)

Values arrive on stdin or in the environment, never on the command line, and
are printed only on stdout (for a pipe or ``$(...)``). Errors name the problem,
never a value. Standard library only; any python3 runs it.
"""

from __future__ import annotations

import os
import secrets
import sys
from urllib.parse import quote, unquote, urlsplit, urlunsplit

SCHEMES = ("postgresql", "postgres")


def fail(message: str) -> None:
    print(f"alternating.py: error: {message}", file=sys.stderr)
    sys.exit(2)


def roles() -> list[str]:
    names = os.environ.get("PGROTATE_ROLES", "").split()
    if len(names) != 2 or names[0] == names[1]:
        fail('PGROTATE_ROLES must name exactly two different roles, e.g. "app_a app_b"')
    return names


def parse(uri: str) -> tuple[str, str, str]:
    """(user, password, database) of a postgresql:// URI."""
    parts = urlsplit(uri.strip())
    if parts.scheme not in SCHEMES:
        fail("the value is not a postgresql:// URI")
    if not parts.username or parts.password is None:
        fail("the URI has no user or no password")
    assert parts.username is not None and parts.password is not None
    return unquote(parts.username), unquote(parts.password), unquote(parts.path.lstrip("/"))


def following(uri: str) -> str:
    """The same URI with the other role and a fresh password."""
    user, _, _ = parse(uri)
    first, second = roles()
    if user not in (first, second):
        fail("the current user is not one of PGROTATE_ROLES")
    other = second if user == first else first
    # 32 characters from A-Z a-z 0-9 - _ (192 bits): no quoting needed in a URI.
    password = secrets.token_urlsafe(24)
    parts = urlsplit(uri.strip())
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{quote(other, safe='')}:{quote(password, safe='')}@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def main(argv: list[str]) -> None:
    if argv[:1] == ["next"] and len(argv) == 1:
        sys.stdout.write(following(sys.stdin.read()))
        return
    if len(argv) == 2 and argv[0] in ("user", "password", "database"):
        uri = os.environ.get(argv[1])
        if uri is None:
            fail(f"environment variable {argv[1]} is not set")
        assert uri is not None
        user, password, database = parse(uri)
        sys.stdout.write({"user": user, "password": password, "database": database}[argv[0]])
        return
    fail("usage: alternating.py next | user VAR | password VAR | database VAR")


if __name__ == "__main__":
    main(sys.argv[1:])
