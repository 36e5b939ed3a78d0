"""sops's own configuration file, ``.sops.yaml``: finding it and reading its store settings.

Teammates on plain ``sops`` (and Flux, KSOPS, helm-secrets) write files with the
layout their ``.sops.yaml`` asks for; gitvault writes the same layout, or every
alternate edit would re-indent the whole file.

Which file (sops 3.11–3.13, ``cmd/sops/main.go`` ``findConfigFile`` and
``config.LookupConfigFile``): ``--config``/``SOPS_CONFIG`` when set; otherwise
``.sops.yaml`` in the *current directory* and up to 100 parents (not the
file's directory: sops calls the lookup with ``"."``); ``.sops.yml`` is never
used. gitvault follows that, and when nothing is found from the current
directory it also looks upward from the file (so ``gitvault set`` run from
outside the repository still writes the repository's layout, where sops would
fall back to its defaults).

Store settings sops reads (``config.StoresConfig``): ``stores.yaml.indent``
(default 4; 0 means the default; negative is an error),
``stores.json.indent`` and ``stores.json_binary.indent`` (default -1 meaning a
tab; 0 or more means that many spaces; below -1 is an error). ``dotenv`` and
``ini`` have no settings. Nothing else in the file changes how a file is
written.

The file is repository content (anyone who can push a branch writes it):
read through the capped reader, parsed by gitvault's one YAML module, every
field type-checked; a bad value is :class:`BadInput` naming the field, never a
crash. No I/O beyond reading that file.
"""

from __future__ import annotations

import os
from pathlib import Path

from gitvault.errors import BadInput
from gitvault.records import record

CONFIG_NAME = ".sops.yaml"
ALTERNATE_NAME = ".sops.yml"  # sops warns about it and ignores it; so do we
MAX_DEPTH = 100  # sops's maxDepth for the upward search
MAX_CONFIG_BYTES = 1024 * 1024
YAML_INDENT_DEFAULT = 4
# A sanity cap: go-yaml accepts any positive indent, but an indent this large
# only makes huge files (each nesting level multiplies it).
MAX_INDENT = 64


@record(frozen=True)
class StoreSettings:
    """How sops would lay out a file it writes under the found ``.sops.yaml``.

    ``json_indent``/``json_binary_indent``: ``None`` is sops's default (a tab),
    otherwise the number of spaces.
    """

    yaml_indent: int = YAML_INDENT_DEFAULT
    json_indent: int | None = None
    json_binary_indent: int | None = None
    source: Path | None = None  # the .sops.yaml they came from, None for defaults


DEFAULTS = StoreSettings()


def find_config(path: Path | None = None, cwd: Path | None = None) -> Path | None:
    """The ``.sops.yaml`` sops would use (see the module docstring), or None."""
    explicit = os.environ.get("SOPS_CONFIG")
    if explicit:
        return Path(explicit)
    found = _search_up((cwd or Path.cwd()).absolute())
    if found is None and path is not None:
        found = _search_up(path.absolute().parent)
    return found


def _search_up(start: Path) -> Path | None:
    here = start
    for _ in range(MAX_DEPTH):
        candidate = here / CONFIG_NAME
        if candidate.is_file():
            return candidate
        if here.parent == here:
            return None
        here = here.parent
    return None


def store_settings(path: Path | None = None, cwd: Path | None = None) -> StoreSettings:
    """The store settings for writing ``path`` (sops's defaults without a ``.sops.yaml``)."""
    config = find_config(path, cwd)
    if config is None:
        return DEFAULTS
    try:
        st = config.stat()
    except OSError:
        if os.environ.get("SOPS_CONFIG"):
            raise BadInput(f"{config}: SOPS_CONFIG names a file that cannot be read") from None
        return DEFAULTS
    return _load_cached(str(config), st.st_mtime_ns, st.st_size)


def yaml_indent(path: Path | None = None, cwd: Path | None = None) -> int:
    """The YAML indent for writing ``path`` (4 unless ``.sops.yaml`` says otherwise)."""
    return store_settings(path, cwd).yaml_indent


def indent_for(fmt: str, path: Path | None = None, cwd: Path | None = None) -> int | None:
    """The indent the store of ``fmt`` writes ``path`` with (None: the store's default).

    YAML: the indent step; JSON and JSON binary: spaces (None is a tab);
    dotenv and INI have none.
    """
    if fmt not in ("yaml", "json", "binary"):
        return None
    settings = store_settings(path, cwd)
    if fmt == "yaml":
        return settings.yaml_indent
    return settings.json_indent if fmt == "json" else settings.json_binary_indent


_CACHE: dict[tuple[str, int, int], StoreSettings] = {}


def _load_cached(config: str, mtime_ns: int, size: int) -> StoreSettings:
    # Commands that write many files (rekey, offboard) ask once per file.
    key = (config, mtime_ns, size)
    hit = _CACHE.get(key)
    if hit is None:
        hit = parse_store_settings(read_config(Path(config)), Path(config))
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def read_config(config: Path) -> object:
    """The decoded ``.sops.yaml`` (plain Python data; ``{}`` for an empty file)."""
    from gitvault.fsutil import read_input
    from gitvault.model import to_python
    from gitvault.yamlio import load_documents

    data = read_input(config, limit=MAX_CONFIG_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{config}: not UTF-8 text") from None
    docs = load_documents(text, str(config))
    if not docs:
        return {}
    return to_python(docs[0])


def _int_field(value: object, where: str) -> int:
    # go-yaml refuses to decode a string, float or bool into an int field, and
    # so does sops ("could not unmarshal config file").
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadInput(f"{where} must be an integer")
    return value


def parse_store_settings(data: object, config: Path) -> StoreSettings:
    """Read ``stores:`` from a decoded ``.sops.yaml``; :class:`BadInput` for values sops refuses."""
    if not isinstance(data, dict):
        raise BadInput(f"{config}: the sops configuration must be a mapping")
    stores = data.get("stores")
    if stores is None:
        return StoreSettings(source=config)
    if not isinstance(stores, dict):
        raise BadInput(f"{config}: stores must be a mapping")

    def section(name: str) -> dict[str, object]:
        value = stores.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise BadInput(f"{config}: stores.{name} must be a mapping")
        return value

    yaml_indent = YAML_INDENT_DEFAULT
    raw = section("yaml").get("indent")
    if raw is not None:
        value = _int_field(raw, f"{config}: stores.yaml.indent")
        if value < 0:
            raise BadInput(f"{config}: stores.yaml.indent is negative (sops refuses it too)")
        if value > MAX_INDENT:
            raise BadInput(f"{config}: stores.yaml.indent is larger than {MAX_INDENT}")
        yaml_indent = value or YAML_INDENT_DEFAULT
    json_indents: list[int | None] = []
    for name in ("json", "json_binary"):
        raw = section(name).get("indent")
        if raw is None:
            json_indents.append(None)
            continue
        value = _int_field(raw, f"{config}: stores.{name}.indent")
        if value < -1:
            raise BadInput(f"{config}: stores.{name}.indent is below -1 (sops refuses it too)")
        if value > MAX_INDENT:
            raise BadInput(f"{config}: stores.{name}.indent is larger than {MAX_INDENT}")
        json_indents.append(None if value == -1 else value)
    return StoreSettings(yaml_indent, json_indents[0], json_indents[1], source=config)
