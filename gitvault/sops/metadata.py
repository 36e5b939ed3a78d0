"""The ``sops:`` block: reading it from a parsed document and writing it in sops's key order."""

from __future__ import annotations

import re

from gitvault.errors import BadInput
from gitvault.model import Mapping, Node, Sequence, Timestamp
from gitvault.records import field, record, replace

# sops 3.11 and 3.12 write the block's keys in this order (the field order of
# the Go struct ``stores.Metadata``; 3.12 added ``hckms`` after ``gcp_kms``).
# sops 3.13 builds the block through a map and writes every key, at every level,
# in byte order instead (stores/metadata.go ``goToSops`` sorts the map keys).
KEY_ORDER = (
    "shamir_threshold",
    "key_groups",
    "kms",
    "gcp_kms",
    "hckms",
    "azure_kv",
    "hc_vault",
    "age",
    "lastmodified",
    "mac",
    "pgp",
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
    "mac_only_encrypted",
    "version",
)
SELECTION_FIELDS = (
    "unencrypted_suffix",
    "encrypted_suffix",
    "unencrypted_regex",
    "encrypted_regex",
    "unencrypted_comment_regex",
    "encrypted_comment_regex",
)
DEFAULT_UNENCRYPTED_SUFFIX = "_unencrypted"
# The format version gitvault writes into new files: the sops release whose
# layout it follows. A file keeps the version (and so the layout) it has, so a
# file sops 3.13 wrote stays in the 3.13 layout. New files take the 3.11 layout:
# the sops our interop promise is tested against, and the one whose `sops set`
# on a new gitvault file moves no line (a 3.13 file is re-sorted by 3.11, and
# a 3.11 file by 3.13: whichever a new file takes, one of them rewrites it once).
FORMAT_VERSION = "3.11.0"
# The newest sops layout gitvault writes (for callers that ask for it).
CURRENT_SOPS_VERSION = "3.13.2"
# From this sops release on, the sops block is written with sorted keys and
# inline comments stay on their value's line (getsops/sops 3.13.0).
SORTED_LAYOUT_SINCE = (3, 13)
# The version written into a file whose block had none (an old layout).
LEGACY_VERSION = "3.11.0"

# Caps checked before any stanza is unwrapped: each stanza costs an age
# decryption attempt per identity, so an attacker who can write the file must
# not choose how many there are or how large. A wrapped 32-byte data key is
# ~400 bytes armored for X25519 and ~1.2 KB for a 4096-bit ssh-rsa key.
MAX_AGE_STANZAS = 256
MAX_ARMOR_BYTES = 16 * 1024

_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)


@record(frozen=True)
class AgeStanza:
    recipient: str
    enc: str  # armored age file holding the data key


@record(frozen=True)
class Metadata:
    """What gitvault understands of a ``sops:`` block, plus what it must carry along."""

    age: tuple[AgeStanza, ...]
    lastmodified: str
    mac: str
    version: str = FORMAT_VERSION
    unencrypted_suffix: str | None = None
    encrypted_suffix: str | None = None
    unencrypted_regex: str | None = None
    encrypted_regex: str | None = None
    unencrypted_comment_regex: str | None = None
    encrypted_comment_regex: str | None = None
    mac_only_encrypted: bool = False
    shamir_threshold: int | None = None
    key_groups: Node = None
    # Other key types (pgp, kms, …) are kept verbatim so a rewrite never drops them.
    foreign: dict[str, Node] = field(default_factory=dict)

    @property
    def recipients(self) -> tuple[str, ...]:
        return tuple(s.recipient for s in self.age)

    def with_defaults(self) -> Metadata:
        """Apply sops's reader default: no selection rule means ``_unencrypted`` suffix."""
        if any(getattr(self, f) for f in SELECTION_FIELDS):
            return self
        return replace(self, unencrypted_suffix=DEFAULT_UNENCRYPTED_SUFFIX)

    def mac_aad(self) -> bytes:
        """The MAC's additional data: ``lastmodified`` re-formatted as Go's RFC 3339."""
        m = _RFC3339.fullmatch(self.lastmodified)
        if m is None:
            raise BadInput("sops metadata: lastmodified is not an RFC 3339 time")
        zone = m.group(2).upper()
        if zone in ("+00:00", "-00:00"):
            zone = "Z"
        return (m.group(1) + zone).encode()


def recipient_id(key: str) -> str:
    """A recipient's identity for comparison: SSH keys without their comment."""
    parts = key.strip().split()
    return " ".join(parts[:2]) if key.strip().startswith("ssh-") else key.strip()


def _str_field(block: Mapping, key: str, name: str) -> str | None:
    value = block.get(key)
    if value is None:
        return None
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise BadInput(f"{name}: sops metadata: {key} must be a string")
    return str(value)


def from_block(block: Node, name: str) -> Metadata:
    """Validate and read a parsed ``sops:`` mapping."""
    if not isinstance(block, Mapping):
        raise BadInput(f"{name}: sops metadata is not a mapping")
    stanzas: list[AgeStanza] = []
    age = block.get("age")
    if age is not None:
        if not isinstance(age, list):
            raise BadInput(f"{name}: sops metadata: age must be a list")
        for entry in age:
            if not isinstance(entry, Mapping):
                raise BadInput(f"{name}: sops metadata: each age entry must be a mapping")
            recipient, enc = entry.get("recipient"), entry.get("enc")
            if not isinstance(recipient, str) or not isinstance(enc, str):
                raise BadInput(f"{name}: sops metadata: an age entry lacks recipient or enc")
            if len(enc) > MAX_ARMOR_BYTES:
                raise BadInput(
                    f"{name}: sops metadata: an age entry is too large "
                    f"({len(enc)} bytes; the limit is {MAX_ARMOR_BYTES})"
                )
            stanzas.append(AgeStanza(recipient, enc))
        if len(stanzas) > MAX_AGE_STANZAS:
            raise BadInput(
                f"{name}: sops metadata: {len(stanzas)} age entries "
                f"(the limit is {MAX_AGE_STANZAS} recipients per file)"
            )
        seen: set[str] = set()
        for stanza in stanzas:
            ident = recipient_id(stanza.recipient)
            if ident in seen:
                # Two envelopes for one reader: which one is "the" data key would
                # depend on the order of a list the attacker controls.
                raise BadInput(f"{name}: sops metadata: a recipient has more than one age entry")
            seen.add(ident)
    lastmodified = _str_field(block, "lastmodified", name)
    mac = _str_field(block, "mac", name)
    if lastmodified is None:
        raise BadInput(f"{name}: sops metadata lacks lastmodified")
    # A block without a MAC is read (so key-less checks can report it), but it
    # never decrypts: decryption fails it as an integrity failure (exit 4), as
    # it does an empty or malformed MAC. Removing the MAC is tampering.
    mac = mac or ""
    # A block without a version predates sops 3.13: keep the older layout for it.
    version = _str_field(block, "version", name) or LEGACY_VERSION
    selection = {f: _str_field(block, f, name) for f in SELECTION_FIELDS}
    chosen = [f for f, v in selection.items() if v]
    if len(chosen) > 1:
        raise BadInput(f"{name}: sops metadata sets more than one of {', '.join(chosen)}")
    mac_only = block.get("mac_only_encrypted", False)
    if not isinstance(mac_only, bool):
        raise BadInput(f"{name}: sops metadata: mac_only_encrypted must be true or false")
    threshold = block.get("shamir_threshold")
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int)):
        raise BadInput(f"{name}: sops metadata: shamir_threshold must be an integer")
    known = {
        "age",
        "lastmodified",
        "mac",
        "version",
        "mac_only_encrypted",
        "shamir_threshold",
        "key_groups",
        *SELECTION_FIELDS,
    }
    foreign = {k: v for k, v in block.items() if k not in known and _non_empty(v)}
    return Metadata(
        age=tuple(stanzas),
        lastmodified=lastmodified,
        mac=mac,
        version=version,
        mac_only_encrypted=mac_only,
        shamir_threshold=threshold,
        key_groups=block.get("key_groups"),
        foreign=foreign,
        **selection,
    )


def _non_empty(value: Node) -> bool:
    return not (value is None or value == "" or (isinstance(value, list) and not value))


def current_layout(version: str) -> bool:
    """Whether a file of this sops ``version`` uses the sops >= 3.13 layout.

    sops writes its own version into every file it writes, and gitvault keeps
    a file's version, so a file is rewritten in the layout of the sops that
    last wrote it: alternating with that sops moves no line.
    """
    parts: list[int] = []
    for piece in version.strip().lstrip("v").split(".")[:2]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        if not digits:
            return False
        parts.append(int(digits))
    return len(parts) == 2 and tuple(parts) >= SORTED_LAYOUT_SINCE


def _sorted_node(node: Node) -> Node:
    """A copy of ``node`` with every mapping's keys in byte order (sops >= 3.13)."""
    if isinstance(node, Mapping):
        items = sorted(node.items(), key=lambda kv: kv[0].encode("utf-8", "surrogateescape"))
        return Mapping([(k, _sorted_node(v)) for k, v in items])
    if isinstance(node, list):
        return Sequence(_sorted_node(v) for v in node)
    return node


def to_block(meta: Metadata) -> Mapping:
    """The ``sops:`` mapping in the key order of the sops that wrote ``meta.version``.

    Empty fields are left out. Files of sops < 3.13 get the struct order
    (``KEY_ORDER``, ``recipient`` before ``enc``); files of 3.13 and later get
    every key sorted, as that sops writes them.
    """
    values: dict[str, Node] = dict(meta.foreign)
    if meta.shamir_threshold:
        values["shamir_threshold"] = meta.shamir_threshold
    if meta.key_groups is not None:
        values["key_groups"] = meta.key_groups
    if meta.age:
        values["age"] = Sequence(
            Mapping([("recipient", s.recipient), ("enc", s.enc)]) for s in meta.age
        )
    values["lastmodified"] = meta.lastmodified
    values["mac"] = meta.mac
    for f in SELECTION_FIELDS:
        v = getattr(meta, f)
        if v:
            values[f] = v
    if meta.mac_only_encrypted:
        values["mac_only_encrypted"] = True
    values["version"] = meta.version
    if current_layout(meta.version):
        block = _sorted_node(Mapping(list(values.items())))
        assert isinstance(block, Mapping)
        return block
    ordered = [(k, values[k]) for k in KEY_ORDER if k in values]
    ordered += [(k, v) for k, v in values.items() if k not in KEY_ORDER]
    return Mapping(list(ordered))
