"""The provider-rule builders (gitvault.scan.rules._kit) and the provider families built with them."""

from __future__ import annotations

import pytest

from gitvault.scan.detector import Detector
from gitvault.scan.model import Unit
from gitvault.scan.rules import all_rules
from gitvault.scan.rules._kit import _entropy_floor, _hs, keyed, prefixed

PROVIDER_MODULES = (
    "ai_ml",
    "cicd",
    "cloud_more",
    "email_sms",
    "iot",
    "observability",
    "quality",
    "saas",
    "search",
    "variants",
    "webhooks",
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(engine="hyperscan")


def _rules_on(detector: Detector, text: str) -> list[str]:
    return [f.rule for f in detector.scan(Unit("app.js", text.encode())).findings]


def test_prefixed_writes_examples_in_four_syntaxes_and_near_misses() -> None:
    rule = prefixed(
        "demo-token", "demo", "t", r"dmo_[A-Za-z0-9]{30}", "dmo_" + "Kx7" * 10, "DEMO_TOKEN"
    )
    assert rule.examples[0] == "DEMO_TOKEN=dmo_" + "Kx7" * 10
    assert rule.examples[1].startswith("demo_token: ")
    assert rule.examples[2].startswith('{"demoToken": "')
    assert rule.examples[3].startswith('demoToken = "')
    assert all(rule.regex.search(e.encode()) for e in rule.examples)
    # Placeholder, truncated, wrong alphabet: the pattern itself rejects them.
    for negative in rule.negative_examples[:3]:
        assert not rule.regex.search(negative.encode()), negative
    assert rule.hs_pattern == r"\bdmo_[A-Za-z0-9]{30}"


def test_keyed_needs_the_provider_name_as_a_name_component() -> None:
    rule = keyed(
        "demo-key",
        "demo",
        "t",
        r"expo",
        r"[A-Za-z0-9_-]{40}",
        "Qw3" * 13 + "Z",
        "EXPO_TOKEN",
        keywords=("expo",),
    )
    sha = "1baa6900d55511487861e7e3542aa6647077af3a"
    assert rule.regex.search(f"EXPO_AUTH_TOKEN={sha}".encode())
    assert rule.regex.search(f'expoToken = "{sha}"'.encode())
    # "expo" is only the start of "exports": no name component, no match.
    assert not rule.regex.search(f"module.exports.authCommit = '{sha}';".encode())


def test_entropy_floor_tracks_the_sample_shape() -> None:
    assert _entropy_floor("4f0c9a551b2e4c1d9c3e2a7b8d6e5f41") == 3.0
    assert _entropy_floor("4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41") == 3.0
    assert _entropy_floor("Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz1Xc3Vb5Nm7Q") == 4.0
    assert 3.0 < _entropy_floor("Qw3Er5Ty7Ui9Op1As3Df") < 4.0


def test_hyperscan_text_trims_only_a_trailing_open_repeat() -> None:
    assert _hs("abc_[a-z]{20,40}") == "abc_[a-z]{20}"
    assert _hs("abc_[a-z]{20,}") == "abc_[a-z]{20}"
    assert _hs("(?:x|y[a-z]{8,9})") == "(?:x|y[a-z]{8})"
    # Hyperscan rejects {0}: a repeat that may be empty stays as it is.
    assert _hs("abc={0,2}") == "abc={0,2}"
    assert _hs("abc[a-z]{12}") == "abc[a-z]{12}"


def test_provider_families_are_broad_and_each_rule_has_several_syntaxes() -> None:
    import importlib

    total = 0
    for name in PROVIDER_MODULES:
        module = importlib.import_module(f"gitvault.scan.rules.{name}")
        for rule in module.RULES:
            assert len(rule.examples) >= 2, rule.id
            assert len(rule.negative_examples) >= 1, rule.id
        total += len(module.RULES)
    assert total >= 400
    assert len(all_rules()) >= 500


@pytest.mark.parametrize(
    "line",
    [
        "module.exports.authCommit = '1baa6900d55511487861e7e3542aa6647077af3a';",
        "const boxShadowToken = '0 1px 2px rgba(0,0,0,0.2)';",
        "# sanity check: token = tokens[i]",
        "host = akab-h5stbzeswb3v4kj3-tblc7jkffv3wfxh3.luna.akamaiapis.net",
        "splitTokenKey = 'c558375f0c22b209f371bdbc9bac7ca62b788009'",
        "segments_key: 7dd68b6dd840f5ebe55ed46d175b78d4758c4a6d",
        '<img src="data:image/jpg;base64,/9j/4AAQSkZJRgABAQIAHAAcAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQ'
        "gFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkU"
        'DQsNFBQUFBQUFBQUFBQU">',
        "version = 'Major.minor.patch-Release_Candidate_Two'",
        "disk = scan-disk-615ef152bf865a131f88b23571dc4ee6",
    ],
)
def test_real_code_shapes_are_not_provider_tokens(detector: Detector, line: str) -> None:
    # Generic (name + entropy) rules judge these on their own; no provider rule may claim them.
    generic = {r.id for r in all_rules() if r.generic}
    assert [r for r in _rules_on(detector, line) if r not in generic] == []


@pytest.mark.parametrize(
    ("line", "rule_id"),
    [
        # Escaped forms of an Atlassian token's CRC separator.
        (
            "tok = ATATT3xFfGF0vNZ7oy6ON4KrWEzKEu96n-r2bCLOOcdOADizvJqPd89yKyP853uTZSflBi1Lk1zD460Bq"
            "yMTa08VUEy8-oOzr1esg3j_mZKZwAELnRkCDTJZXhHsv5jaWHyAj4LRL-6h8LI-5MrYs4l7xXSaY8odQxDKJ"
            "B4hDvdkmuh61xea2jE%3D00203E68",
            "atlassian-api-token-v2",
        ),
        # A Jira Data Center PAT in a URL path, no name nearby.
        (
            "GET https://jira.acme-corp.io/rest/api/2/token/NTQ1NDA5MTI2Njg4OtgKsbzxhraaYBXwgzDGMhFinwwA",
            "jira-dc-pat",
        ),
        ("export DD_API_KEY=4f0c9a551b2e4c1d9c3e2a7b8d6e5f41", "datadog-api-key"),
    ],
)
def test_provider_formats_found_without_their_usual_context(
    detector: Detector, line: str, rule_id: str
) -> None:
    assert rule_id in _rules_on(detector, line)
