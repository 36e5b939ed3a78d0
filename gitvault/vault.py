"""Operations on vault files in a work tree: locate, read, decrypt, render, encrypt, write.

Setting and removing one key live in :mod:`gitvault.edits`, the policy's JSON
Schema check in :mod:`gitvault.schemacheck`. Every function returns data (or
bytes to write) and raises a
:class:`~gitvault.errors.GitvaultError`; none prints. Writes go through
:func:`gitvault.fsutil.atomic_write`. Plaintext is never written anywhere by
this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitvault import fsutil
from gitvault.errors import BadInput
from gitvault.model import Mapping, to_python
from gitvault.records import record
from gitvault.schemacheck import validate_schema
from gitvault.sops import file as sopsfile
from gitvault.sops.document import Plain, check_keys

if TYPE_CHECKING:
    from gitvault.identities import Identities
    from gitvault.policy import Policy, Rule


@record(frozen=True)
class Location:
    """A path and where it sits relative to the vault root (the policy's directory)."""

    path: Path
    root: Path | None
    relpath: str | None


def locate(path: Path, root: Path | None = None) -> Location:
    """Find the vault root for ``path`` and its path relative to it.

    Raises :class:`BadInput` when ``path`` is outside an explicitly given root.
    """
    from gitvault.policy import find_root

    absolute = path.absolute()
    if root is None:
        root = find_root(absolute.parent if not absolute.is_dir() else absolute)
    if root is None:
        return Location(path, None, None)
    try:
        rel = absolute.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise BadInput(f"{path}: outside the vault repository {root}") from None
    return Location(path, root, rel)


def load_policy_for(loc: Location) -> Policy:
    from gitvault import policy

    if loc.root is None:
        raise BadInput(
            f"{loc.path}: no .gitvault.yaml here or in any parent directory",
            hint="run `gitvault init`",
        )
    return policy.load(loc.root)


def rule_for(pol: Policy, loc: Location) -> Rule:
    assert loc.relpath is not None
    rule = pol.rule_for(loc.relpath)
    if rule is None:
        raise BadInput(
            f"{loc.relpath}: no rule in {pol.path.name} covers this path",
            hint="add a rule with a matching `path:` glob",
        )
    return rule


def read_vault(path: Path, data: bytes | None = None, fmt: str | None = None) -> sopsfile.VaultFile:
    """Parse a vault file from disk (or given bytes) without decrypting it.

    ``fmt`` (``--input-type``) overrides the format sops would choose from the name.
    """
    if data is None:
        data = fsutil.read_input(path)
    return sopsfile.parse_vault(data, str(path), fmt)


def decrypt(
    vault: sopsfile.VaultFile,
    ids: Identities,
    *,
    record_ivs: bool = False,
    pol: Policy | None = None,
) -> Plain:
    """Unwrap with the user's identities, decrypt, verify the MAC.

    An access-denied message names readers by their policy names; the policy is
    only loaded when that message is needed, never on the successful path.
    """
    cache: list[Policy | None] = [pol] if pol is not None else []

    def names(recipient: str) -> str | None:
        if not cache:
            cache.append(policy_near(Path(vault.name)))
        found = cache[0]
        return found.name_of(recipient) if found is not None else None

    from gitvault.errors import IntegrityError

    try:
        return sopsfile.open_file(
            vault, ids.keys, ids.describe_tried(), record_ivs=record_ivs, names=names
        )
    except IntegrityError as err:
        # Say which file: a tampered file among many must be findable. The
        # message stays the same for every kind of tampering (nothing leaks).
        if err.message.startswith(f"{vault.name}:"):
            raise
        raise IntegrityError(f"{vault.name}: {err.message}", hint=err.hint) from None


def policy_near(path: Path) -> Policy | None:
    """The policy governing ``path`` if one loads cleanly (used only for friendly names)."""
    from gitvault import policy
    from gitvault.errors import GitvaultError

    root = policy.find_root(path.absolute().parent)
    if root is None:
        return None
    try:
        return policy.load(root)
    except GitvaultError:
        return None


# ----------------------------------------------------------------- rendering


def render_native(plain: Plain, fmt: str | None = None, *, indent: int | None = None) -> bytes:
    """The decrypted file as ``sops decrypt`` prints it: in its own format, or ``fmt``
    (``--output-type``: yaml, json, dotenv or binary, in sops's layout for that store)."""
    from gitvault.sops import formats

    return formats.emit_plain(plain.documents, fmt or plain.format, "the decrypted file", indent)


def render(plain: Plain, fmt: str, *, label: str = "decrypt", allow_env: Sequence[str] = ()) -> str:
    """Decrypted documents as ``yaml`` (sops layout), ``json``, ``dotenv`` or ``env``.

    ``dotenv``/``env`` output is sourced by shells and CI steps, so it refuses
    the names ``export`` refuses (``PATH``, ``LD_PRELOAD``, ``BASH_ENV``, …; see
    :mod:`gitvault.export.envnames`) unless ``allow_env`` names them. ``label``
    names the file in that message.
    """
    from gitvault.yamlio import emit_documents

    if fmt == "yaml":
        return emit_documents(plain.documents)
    data = [to_python(d) for d in plain.documents]
    if fmt == "json":
        import json  # imported here: the YAML decrypt never needs it

        payload = data[0] if len(data) == 1 else data
        return json.dumps(payload, indent=4, ensure_ascii=False) + "\n"
    if fmt in ("dotenv", "env"):
        from gitvault.export.base import RenderOptions, get_format
        from gitvault.export.envnames import check_names
        from gitvault.export.model import Source, collect

        variables = collect([Source(label=label, documents=data)])
        check_names(((v.name, v.origin) for v in variables), allow_env)
        return get_format(fmt).render(variables, RenderOptions())
    raise BadInput(f"unknown format {fmt!r}")


def mask_lines(plain: Plain) -> str:
    """GitHub Actions ``::add-mask::`` commands for every decrypted value."""
    from gitvault.export.github import mask_commands
    from gitvault.export.model import iter_leaves, scalar_text

    values = [
        scalar_text(value)
        for doc in plain.documents
        for _, value in iter_leaves(doc)
        if value is not None
    ]
    return mask_commands(values)


def extract(plain: Plain, path: str) -> str:
    """One value (or subtree) for ``--extract``: strings raw, the rest as YAML."""
    from gitvault import keypath
    from gitvault.yamlio import emit_documents, format_scalar

    parts = keypath.parse(path)
    node = keypath.get(plain.documents[0], parts)
    if isinstance(node, str):
        return node
    if isinstance(node, Mapping):
        return emit_documents([node])
    if isinstance(node, list):
        return emit_documents([Mapping([("value", node)])]).split("\n", 1)[1]
    return format_scalar(node, 4)


# ----------------------------------------------------------------- writing


def check_parents(path: Path) -> Path | None:
    """Refuse a destination whose missing folders could not be created inside the vault.

    Returns the nearest existing ancestor when folders are missing (None when
    the parent exists). Nothing is created: ``edit`` calls this before the
    editor opens, so a hopeless path fails before the user types anything.
    """
    parent = path.absolute().parent
    if parent.is_dir():
        return None
    loc = locate(path)
    if loc.root is None:
        raise BadInput(f"{parent}: no such directory")
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.resolve().is_relative_to(loc.root.resolve()):
        raise BadInput(f"{path}: outside the vault repository {loc.root}")
    if not existing.is_dir():
        raise BadInput(f"{path}: {existing} is a file, not a folder")
    return existing


def make_parents(path: Path) -> None:
    """Create the missing folders above ``path``, only inside its vault repository.

    ``secrets/new-folder/app.yaml`` is an ordinary first write; a path whose
    folders would land outside the vault root (through ``..`` or a symlink)
    is refused with exit 5 before anything is created.
    """
    if check_parents(path) is None:
        return
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{parent}: cannot create the folder ({exc.strerror})") from None


def write(path: Path, data: bytes) -> None:
    """Atomically write vault file bytes, creating missing folders inside the vault."""
    make_parents(path)
    try:
        fsutil.atomic_write(path, data)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write ({exc.strerror})") from None


def file_indent(name: str, fmt: str = "yaml") -> int | None:
    """The indent sops would write ``name`` with in ``fmt`` (``.sops.yaml`` ``stores:``)."""
    from gitvault.sopsconfig import indent_for

    return indent_for(fmt, Path(name))


def selection_for(rule: Rule) -> dict[str, Any]:
    """The sops selection options (encrypted_regex, …) a rule sets for new files."""
    return dict(rule.selection)


def plain_format(name: str, fallback: str) -> str:
    """The format of a plaintext input file: its extension's, else ``fallback``.

    sops reads a plaintext file with an unknown extension as binary; gitvault
    does too when it writes the file in place, but ``encrypt notes -o x.yaml``
    reads ``notes`` as the destination's format (what the user means, and what
    gitvault did before it knew other formats).
    """
    from gitvault.sops import formats

    fmt = formats.format_for_path(name)
    return fallback if fmt == "binary" else fmt


def encrypt_plaintext(
    data: bytes,
    name: str,
    pol: Policy,
    rule: Rule,
    *,
    input_fmt: str | None = None,
    output_fmt: str = "yaml",
    indent: int | None = None,
) -> bytes:
    """Encrypt plaintext bytes (read as ``input_fmt``) for the rule's readers, in ``output_fmt``."""
    from gitvault.sops import formats

    if output_fmt == "yaml" and (input_fmt or plain_format(name, output_fmt)) == "yaml":
        # One pass over the plaintext lines (issue 15); None: the general path below.
        from gitvault.sops.fused.encrypt import encrypt_yaml

        try:
            step = indent if indent is not None else file_indent(name, output_fmt)
        except BadInput:  # a bad .sops.yaml: reported below, after the input's own errors
            fused = None
        else:
            fused = encrypt_yaml(data, name, pol, rule, step)
        if fused is not None:
            return fused
    docs = formats.load_plain(data, name, input_fmt or plain_format(name, output_fmt))
    if not docs:
        raise BadInput(f"{name}: empty document; sops cannot store an empty file")
    for d in docs:
        check_keys(d, name)
    validate_schema(docs, pol, rule, name)
    return sopsfile.encrypt_new(
        docs,
        pol.reader_keys(rule),
        fmt=output_fmt,
        indent=indent if indent is not None else file_indent(name, output_fmt),
        name=name,
        **selection_for(rule),
    )
