"""``--format k8s``: Kubernetes ``v1 Secret`` manifests for ``kubectl apply -f -``.

One Secret per file, or with ``merge`` a single Secret named ``--k8s-name``
holding every variable. Per file, a Secret is named after the file's stem
(``secrets/prod/web.yaml`` -> ``web``), prefixed ``<--k8s-name>-`` when given
(alone, ``--k8s-name`` names the one file's Secret); when two files share a
stem (``prod/web.yaml``, ``staging/web.yaml``) each of them takes as many of
its parent directories as needed to differ (``prod-web``, ``staging-web``).
Since each file has its own Secret, two files may hold the same key names.
Keys are the exported variable names (which always match Kubernetes's
``[-._a-zA-Z0-9]+``); values go to ``data`` as base64 of their UTF-8 bytes
(binary-safe: every character survives) or, on request, to ``stringData``.
Several Secrets are written as a multi-document YAML stream, or in JSON as a
``v1 List`` (both are what ``kubectl apply -f -`` reads).

Every manifest is checked against the Secret schema rules before it is
returned (:func:`validate_secret`), so a bad ``--k8s-name``, namespace or label
fails here with exit 5 instead of half-way through a deployment.

This module must never print; errors name keys and Secret names, never values.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions
from gitvault.export.model import Variable
from gitvault.export.yamlfmt import dump_yaml

MAX_SECRET_BYTES = 1024 * 1024  # the API server refuses larger Secrets
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_DNS_LABEL_RE = re.compile(_DNS_LABEL)
_DATA_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_QUALIFIED_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
SOURCES_ANNOTATION = "gitvault/sources"
MANAGED_BY = {"app.kubernetes.io/managed-by": "gitvault"}


def is_dns_subdomain(name: str) -> bool:
    """RFC 1123 subdomain as Kubernetes checks object names (≤ 253 characters)."""
    return len(name) <= 253 and _DNS_SUBDOMAIN.fullmatch(name) is not None


def is_dns_label(name: str) -> bool:
    """RFC 1123 label as Kubernetes checks namespaces (≤ 63 characters)."""
    return len(name) <= 63 and _DNS_LABEL_RE.fullmatch(name) is not None


def _is_qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if "/" in key and not is_dns_subdomain(prefix):
        return False
    return 0 < len(name) <= 63 and _QUALIFIED_NAME.fullmatch(name) is not None


def validate_labels(labels: Mapping[str, str]) -> None:
    """Raise :class:`BadInput` unless every label key and value is valid."""
    for key, value in labels.items():
        if not _is_qualified_name(key):
            raise BadInput(f"invalid kubernetes label key {key!r}")
        if value and not (len(value) <= 63 and _QUALIFIED_NAME.fullmatch(value)):
            raise BadInput(f"invalid value for kubernetes label {key!r}")


def validate_secret(manifest: Mapping[str, Any]) -> None:
    """Check a Secret manifest against the API server's rules; raise :class:`BadInput`.

    Covers what a client-side ``kubectl apply`` and the server would reject:
    apiVersion/kind, name (DNS-1123 subdomain), namespace (DNS-1123 label),
    labels, annotation keys, data keys, base64 of ``data``, the 1 MiB limit.
    """
    if manifest.get("apiVersion") != "v1" or manifest.get("kind") != "Secret":
        raise BadInput("not a v1 Secret manifest")
    metadata = manifest.get("metadata")
    if not isinstance(metadata, Mapping):
        raise BadInput("secret manifest has no metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not is_dns_subdomain(name):
        raise BadInput(
            f"invalid kubernetes secret name {name!r}",
            hint="lower-case letters, digits, '-' and '.', starting and ending alphanumeric",
        )
    namespace = metadata.get("namespace")
    if namespace is not None and not (isinstance(namespace, str) and is_dns_label(namespace)):
        raise BadInput(f"invalid kubernetes namespace {namespace!r}")
    validate_labels(metadata.get("labels") or {})
    for key in metadata.get("annotations") or {}:
        if not _is_qualified_name(key):
            raise BadInput(f"invalid kubernetes annotation key {key!r}")
    if not isinstance(manifest.get("type", "Opaque"), str):
        raise BadInput(f"secret {name}: type must be a string")
    data = manifest.get("data") or {}
    string_data = manifest.get("stringData") or {}
    size = 0
    for key, value in data.items():
        if not (len(key) <= 253 and _DATA_KEY.fullmatch(key)):
            raise BadInput(f"secret {name}: invalid data key {key!r}")
        try:
            size += len(base64.b64decode(value, validate=True))
        except (binascii.Error, TypeError, ValueError):
            raise BadInput(f"secret {name}: data key {key} is not valid base64") from None
    for key, value in string_data.items():
        if not (len(key) <= 253 and _DATA_KEY.fullmatch(key)):
            raise BadInput(f"secret {name}: invalid stringData key {key!r}")
        if not isinstance(value, str):
            raise BadInput(f"secret {name}: stringData key {key} is not a string")
        size += len(value.encode("utf-8"))
    if size > MAX_SECRET_BYTES:
        raise BadInput(f"secret {name} holds more than 1 MiB, which kubernetes refuses")


def name_from_file(label: str, depth: int = 1) -> str:
    """A DNS-1123 name from a file's stem and ``depth - 1`` parent directories.

    ``secrets/prod/Web_App.yaml`` -> ``web-app`` (depth 1), ``prod-web-app`` (depth 2).
    """
    path = PurePosixPath(label)
    parts = [*path.parent.parts, path.stem][-depth:]
    text = "-".join(p for p in parts if p not in ("", ".", "/")).lower()
    return re.sub(r"[^a-z0-9.-]+", "-", text).strip("-.")


def names_for_files(files: Sequence[str]) -> dict[str, str]:
    """A distinct Secret name per file: the stem, with parent directories only where needed."""
    depth = dict.fromkeys(files, 1)
    while True:
        names = {f: name_from_file(f, depth[f]) for f in files}
        by_name: dict[str, list[str]] = {}
        for file, name in names.items():
            by_name.setdefault(name, []).append(file)
        clashes = [group for group in by_name.values() if len(group) > 1]
        if not clashes:
            return names
        grew = False
        for group in clashes:
            for file in group:
                if depth[file] <= len(PurePosixPath(file).parts):
                    depth[file] += 1
                    grew = True
        if not grew:
            return names  # the same path twice cannot happen; the caller reports it


def _encode(variable: Variable) -> bytes:
    try:
        return variable.text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{variable.origin} is not valid unicode text") from None


def build_secret(
    name: str, variables: Sequence[Variable], options: RenderOptions
) -> dict[str, Any]:
    """One validated Secret manifest for ``variables``."""
    metadata: dict[str, Any] = {"name": name}
    if options.namespace:
        metadata["namespace"] = options.namespace
    metadata["labels"] = {**MANAGED_BY, **options.labels}
    files = list(dict.fromkeys(v.file for v in variables))
    metadata["annotations"] = {SOURCES_ANNOTATION: ",".join(files)}
    manifest: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata,
        "type": "Opaque",
    }
    if options.string_data:
        manifest["stringData"] = {v.name: _encode(v).decode("utf-8") for v in variables}
    else:
        manifest["data"] = {v.name: base64.b64encode(_encode(v)).decode("ascii") for v in variables}
    validate_secret(manifest)
    return manifest


def build_secrets(variables: Sequence[Variable], options: RenderOptions) -> list[dict[str, Any]]:
    """The Secrets for ``variables``: one per file, or one when ``options.merge``."""
    if options.merge:
        if not options.k8s_name:
            raise BadInput("--merge needs --k8s-name for the one secret")
        return [build_secret(options.k8s_name, variables, options)]
    by_file: dict[str, list[Variable]] = {}
    for variable in variables:
        by_file.setdefault(variable.file, []).append(variable)
    secrets: list[dict[str, Any]] = []
    owner: dict[str, str] = {}
    file_names = names_for_files(list(by_file))
    for file, group in by_file.items():
        if options.k8s_name and len(by_file) == 1:
            name = options.k8s_name
        elif options.k8s_name:
            name = f"{options.k8s_name}-{file_names[file]}"
        else:
            name = file_names[file]
        if name in owner:
            raise BadInput(
                f"secret name {name} comes from both {owner[name]} and {file}",
                hint="use --merge, or --k8s-name with files of different names",
            )
        owner[name] = file
        secrets.append(build_secret(name, group, options))
    return secrets


class K8sFormat:
    """``v1 Secret`` manifests as YAML (default) or JSON."""

    name = "k8s"

    def render(self, variables: Sequence[Variable], options: RenderOptions) -> str:
        secrets = build_secrets(variables, options)
        if options.output == "json":
            if len(secrets) == 1:
                obj: dict[str, Any] = secrets[0]
            else:
                obj = {"apiVersion": "v1", "kind": "List", "items": secrets}
            return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
        if options.output != "yaml":
            raise BadInput(f"unknown manifest syntax {options.output!r}", hint="yaml or json")
        return "---\n".join(dump_yaml(secret) for secret in secrets)


FORMAT = K8sFormat()
