"""The policy's schema-check cache: only successes are remembered, exactly per content."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyrage
import pytest

from gitvault import policy
from gitvault.errors import BadInput
from gitvault.policy import validcache

SCHEMA = (Path(policy.__file__).parent / "schema.json").read_bytes()


def _policy(tmp_path: Path, extra: str = "") -> Path:
    pub = pyrage.x25519.Identity.generate().to_public()
    (tmp_path / ".gitvault.yaml").write_text(
        f"version: 1\nrecipients:\n  me: {pub}\nrules:\n  - path: '**'\n"
        f"    recipients: [me]\n{extra}"
    )
    return tmp_path


def _markers(cache: Path) -> list[str]:
    folder = cache / "policy-valid"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    where = tmp_path / "cache"
    monkeypatch.setenv("GITVAULT_CACHE_DIR", str(where))
    monkeypatch.delenv("GITVAULT_NO_CACHE", raising=False)
    return where


def test_success_is_remembered_and_skips_jsonschema(tmp_path: Path, cache: Path) -> None:
    root = _policy(tmp_path)
    policy.load(root)
    assert len(_markers(cache)) == 1
    (marker,) = (cache / "policy-valid").iterdir()
    assert marker.stat().st_mode & 0o777 == 0o600
    # A second process loads the same policy without importing jsonschema at all.
    code = (
        "import sys\nfrom pathlib import Path\nfrom gitvault import policy\n"
        f"policy.load(Path({str(root)!r}))\n"
        "print('jsonschema' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GITVAULT_CACHE_DIR": str(cache)},
    )
    assert out.stdout.strip() == "False"
    # Without the marker the check runs (and jsonschema is loaded).
    marker.unlink()
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GITVAULT_CACHE_DIR": str(cache)},
    )
    assert out.stdout.strip() == "True"


def test_failure_is_never_remembered(tmp_path: Path, cache: Path) -> None:
    root = _policy(tmp_path, extra="colour: blue\n")
    for _ in range(2):
        with pytest.raises(BadInput) as err:
            policy.load(root)
        assert "unknown field" in err.value.message and "colour" in err.value.message
    assert _markers(cache) == []


def test_contents_that_differ_only_in_type_get_different_markers() -> None:
    names = {
        validcache.marker({"version": value}, SCHEMA) for value in (1, 1.0, True, "1", [1], None)
    }
    assert len(names) == 6
    assert validcache.marker({"version": 1}, SCHEMA) != validcache.marker({"version": 1}, b"{}")


def test_unusual_types_are_not_cached() -> None:
    class Odd(str):
        pass

    assert validcache.marker({"version": Odd("1")}, SCHEMA) is None
    assert validcache.marker({(1, 2): 1}, SCHEMA) is None


def test_a_planted_symlink_is_not_trusted(tmp_path: Path, cache: Path) -> None:
    root = _policy(tmp_path, extra="colour: blue\n")
    data = {"version": 1, "colour": "blue"}
    marker = validcache.marker(data, SCHEMA)
    assert marker is not None
    marker.parent.mkdir(parents=True)
    (tmp_path / "elsewhere").write_text("")
    marker.symlink_to(tmp_path / "elsewhere")
    assert not validcache.known_valid(marker)
    with pytest.raises(BadInput):
        policy.load(root)


def test_marker_for_invalid_content_still_skips_only_the_schema(
    tmp_path: Path, cache: Path
) -> None:
    """Even a forged marker cannot bypass the checks the schema does not make."""
    pub = pyrage.x25519.Identity.generate().to_public()
    data = {
        "version": 1,
        "recipients": {"me": str(pub)},
        "rules": [{"path": "**", "recipients": ["nobody"]}],
    }
    marker = validcache.marker(data, SCHEMA)
    assert marker is not None
    marker.parent.mkdir(parents=True)
    marker.write_text("")
    with pytest.raises(BadInput, match="unknown recipient or group 'nobody'"):
        policy.from_data(data, tmp_path / ".gitvault.yaml")


def test_no_cache_variable_turns_it_off(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITVAULT_NO_CACHE", "1")
    policy.load(_policy(tmp_path))
    assert _markers(cache) == []


def test_unwritable_cache_is_harmless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("GITVAULT_CACHE_DIR", str(blocker / "sub"))
    policy.load(_policy(tmp_path))  # no error: the check ran, the marker could not be written


def test_the_cache_is_pruned_to_the_newest_markers(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(validcache, "MAX_MARKERS", 6)
    monkeypatch.setattr(validcache, "KEEP_MARKERS", 3)
    folder = cache / "policy-valid"
    folder.mkdir(parents=True)
    for i in range(6):
        (folder / f"old{i}").touch()
        os.utime(folder / f"old{i}", ns=(i * 10**9, i * 10**9))
    policy.load(_policy(tmp_path))  # a miss: checked, remembered, then pruned
    kept = _markers(cache)
    assert len(kept) == 3
    assert set(kept) == {"old4", "old5", *(m for m in kept if not m.startswith("old"))}
    policy.load(tmp_path)  # the newest marker (this policy's) survived: still a hit
    assert _markers(cache) == kept
