"""Kubernetes ``Secret`` manifests as import units: strict base64, names checked.

A manifest document is a Secret when it says ``kind: Secret`` (``apiVersion:
v1``); ``kind: List`` (or ``SecretList``) holds Secrets in ``items``. Each
Secret becomes one vault file whose keys are the Secret's keys, unchanged:
``data`` values are decoded (standard base64, canonical, no whitespace — a
value Kubernetes would not decode the same way is refused), ``stringData``
values are taken as they are. Everything else (``type``, labels,
annotations, ``immutable``) is not carried over.

Refused, naming the key and never the value: invalid base64, a decoded value
that is not UTF-8 text (a YAML vault file holds text), a non-string value, a
key in both ``data`` and ``stringData``, a key Kubernetes would refuse, a
Secret without ``metadata.name``, a name or namespace that is not a valid
Kubernetes name (which also keeps ``..`` and ``/`` out of the file path).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

from gitvault.errors import BadInput
from gitvault.model import Mapping, Node

# Kubernetes' own rules (IsDNS1123Subdomain, IsDNS1123Label, IsConfigMapKey).
_NAME = re.compile(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?")
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_LIST_KINDS = ("List", "SecretList")


@dataclass
class Secret:
    """One decoded Secret: its name, namespace, keys (with their source key paths)."""

    name: str
    namespace: str | None
    document: Mapping
    origins: dict[str, tuple[str | int, ...]]  # vault key -> key path in the manifest
    where: tuple[str | int, ...]  # path of the Secret in its document (items[3] …)
    doc_index: int

    def __repr__(self) -> str:  # never show values
        return f"Secret({self.namespace}/{self.name})"


def kind_of(doc: Mapping) -> str | None:
    kind = doc.get("kind")
    return kind if isinstance(kind, str) else None


def is_manifest(doc: Mapping) -> bool:
    """True for a Secret or a List of objects (the documents this module handles)."""
    return kind_of(doc) in ("Secret", *_LIST_KINDS) and "apiVersion" in doc


def secrets_of(docs: list[Mapping], name: str) -> list[Secret]:
    """Every Secret of a manifest stream; any other kind of object is refused."""
    out: list[Secret] = []
    for d, doc in enumerate(docs):
        label = f"{name}: document {d + 1}" if len(docs) > 1 else name
        kind = kind_of(doc)
        if kind in _LIST_KINDS:
            items = doc.get("items")
            if not isinstance(items, list):
                raise BadInput(f"{label}: a {kind} without an items list")
            entries = [x for x in items if not _is_comment(x)]
            for i, item in enumerate(entries):
                where: tuple[str | int, ...] = ("items", i)
                if not isinstance(item, Mapping) or kind_of(item) != "Secret":
                    what = kind_of(item) if isinstance(item, Mapping) else None
                    raise BadInput(
                        f"{label}: items[{i}] is {('a ' + what) if what else 'not an object'}, "
                        "not a Secret",
                        hint="import only Secrets: split other objects out of the manifest",
                    )
                out.append(_secret(item, f"{label}: items[{i}]", where, d))
        elif kind == "Secret":
            out.append(_secret(doc, label, (), d))
        else:
            raise BadInput(
                f"{label}: is {('a ' + kind) if kind else 'not a Kubernetes object'}, not a Secret",
                hint="a manifest stream must hold only Secrets",
            )
    return out


def _is_comment(node: object) -> bool:
    from gitvault.model import Comment

    return isinstance(node, Comment)


def _secret(doc: Mapping, label: str, where: tuple[str | int, ...], index: int) -> Secret:
    api = doc.get("apiVersion")
    if api != "v1":
        raise BadInput(f"{label}: a Secret must have apiVersion v1")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(name, str) or not name:
        raise BadInput(
            f"{label}: the Secret has no metadata.name", hint="every Secret needs a name"
        )
    if len(name) > 253 or not _NAME.fullmatch(name):
        raise BadInput(f"{label}: metadata.name {name[:80]!r} is not a valid Kubernetes name")
    namespace = meta.get("namespace") if isinstance(meta, Mapping) else None
    if namespace is not None and (
        not isinstance(namespace, str) or len(namespace) > 63 or not _NAMESPACE.fullmatch(namespace)
    ):
        shown = str(namespace)[:80]
        raise BadInput(f"{label}: metadata.namespace {shown!r} is not a valid namespace")
    label = f"{label} ({namespace + '/' if namespace else ''}{name})"
    entries: list[tuple[str, Node]] = []
    origins: dict[str, tuple[str | int, ...]] = {}
    for section in ("data", "stringData"):
        block = doc.get(section)
        if block is None:
            continue
        if not isinstance(block, Mapping):
            raise BadInput(f"{label}: {section} is not a mapping")
        for key, value in block.items():
            if not _KEY.fullmatch(key) or len(key) > 253:
                raise BadInput(f"{label}: {section} key {key[:80]!r} is not a valid Secret key")
            if key in origins:
                raise BadInput(f"{label}: key {key!r} is in both data and stringData")
            if not isinstance(value, str):
                kind = "null" if value is None else type(value).__name__
                raise BadInput(
                    f"{label}: {section}.{key}: the value is a {kind}, not a string",
                    hint="quote it in the manifest",
                )
            text = _decode(value, label, key) if section == "data" else value
            entries.append((key, text))
            origins[key] = (*where, section, key)
    if not entries:
        raise BadInput(f"{label}: the Secret has no data or stringData keys")
    return Secret(name, namespace, Mapping(list(entries)), origins, where, index)


def _decode(value: str, label: str, key: str) -> str:
    """Strict standard base64 (canonical, padded, no whitespace) to UTF-8 text."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BadInput(f"{label}: data.{key}: invalid base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise BadInput(f"{label}: data.{key}: invalid base64 (not in canonical form)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(
            f"{label}: data.{key}: the decoded value is binary, not UTF-8 text",
            hint="a YAML vault file holds text values; store binary data base64-encoded "
            "under a key of your choice",
        ) from None
