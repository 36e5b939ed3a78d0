"""Every rule's own true- and false-positive examples, through both engines."""

from __future__ import annotations

import importlib
import pkgutil

import hyperscan
import pytest

import gitvault.scan.rules as rules_pkg
from gitvault.scan.detector import Detector
from gitvault.scan.model import Unit
from gitvault.scan.rules import Rule, all_rules

RULES = all_rules()
ENGINES = ("hyperscan", "python")
# Every family module of the package (one file per family; _kit is the builders): new files
# are picked up here.
FAMILY_MODULES = sorted(
    info.name for info in pkgutil.iter_modules(rules_pkg.__path__) if not info.name.startswith("_")
)


@pytest.fixture(scope="module", params=ENGINES)
def detector(request: pytest.FixtureRequest) -> Detector:
    return Detector(engine=request.param)


def _cases(kind: str) -> list[tuple[str, str]]:
    out = []
    for rule in RULES:
        for example in getattr(rule, kind):
            out.append((rule.id, example))
    return out


def _rule_ids(detector: Detector, text: str) -> list[str]:
    return [f.rule for f in detector.scan(Unit("sample.txt", text.encode())).findings]


@pytest.mark.parametrize(("rule_id", "example"), _cases("examples"))
def test_true_positive(detector: Detector, rule_id: str, example: str) -> None:
    assert rule_id in _rule_ids(detector, example)


@pytest.mark.parametrize(("rule_id", "example"), _cases("negative_examples"))
def test_false_positive(detector: Detector, rule_id: str, example: str) -> None:
    assert _rule_ids(detector, example) == []


def test_at_least_sixty_rules_with_unique_ids() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_well_formed(rule: Rule) -> None:
    assert rule.examples and rule.negative_examples
    assert rule.keywords and all(k == k.lower() for k in rule.keywords)
    assert "(?P<secret>" in rule.pattern
    assert rule.severity in {"critical", "high", "medium", "low"}
    # Every match contains one of the keywords: the fallback prefilter depends on it.
    for example in rule.examples:
        for match in rule.regex.finditer(example.encode()):
            assert any(k.encode() in match.group(0).lower() for k in rule.keywords), rule.id


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_compiles_exactly_in_hyperscan(rule: Rule) -> None:
    # Exact (non-prefilter) mode keeps the Hyperscan pass as selective as the regex.
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    flag = hyperscan.HS_FLAG_PREFILTER if rule.needs_prefilter_flag else 0
    db.compile(expressions=[rule.prefilter_pattern.encode()], ids=[0], elements=1, flags=[flag])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_patterns_stay_on_their_lines(rule: Rule) -> None:
    # Only multi-line rules (span_back) may match across a newline.
    if rule.span_back:
        return
    for example in rule.examples:
        glued = example.replace("=", "=\n").replace(": ", ":\n").encode()
        for match in rule.regex.finditer(glued):
            assert b"\n" not in match.group("secret") if match.group("secret") else True


FAMILIES = {
    "aws": ["aws-access-key-id", "aws-secret-access-key"],
    "gcp": ["gcp-api-key", "gcp-service-account-key"],
    "azure": ["azure-storage-account-key", "azure-ad-client-secret"],
    "github": ["github-pat", "github-fine-grained-pat", "github-app-token", "github-oauth-token"],
    "gitlab": ["gitlab-pat"],
    "slack": ["slack-bot-token", "slack-webhook-url"],
    "discord": ["discord-bot-token", "discord-webhook-url"],
    "stripe": ["stripe-secret-key"],
    "square": ["square-access-token"],
    "paypal": ["paypal-client-secret", "braintree-access-token"],
    "twilio": ["twilio-api-key"],
    "sendgrid": ["sendgrid-api-key"],
    "mailchimp": ["mailchimp-api-key"],
    "mailgun": ["mailgun-api-key"],
    "npm": ["npm-token"],
    "pypi": ["pypi-token"],
    "openai": ["openai-api-key"],
    "anthropic": ["anthropic-api-key"],
    "keys": [
        "private-key-rsa",
        "private-key-ec",
        "private-key-openssh",
        "private-key-pgp",
        "private-key-pkcs8",
    ],
    "jwt": ["jwt"],
    "urls": ["url-with-password", "connection-string-password"],
    "generic": ["generic-password", "generic-secret", "generic-token", "generic-api-key"],
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_issue_families_are_covered(family: str) -> None:
    ids = {r.id for r in RULES}
    assert set(FAMILIES[family]) <= ids


def test_no_rule_matches_a_bare_git_sha_or_digest() -> None:
    d = Detector(engine="hyperscan")
    text = (
        "commit 7443e210471948d33296c87009e8a7f770d9106f\n"
        "sha256: 5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8\n"
        '"integrity": "sha512-euVaT5jpTFPWhLn5drcFlCxvnNGdcmyHc7E4nSmwfIp7JoppZrDDs7YvcX1eYgURZEQ3=="\n'
        "id = 4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41\n"
    )
    assert d.scan(Unit("lock.json", text.encode())).findings == []


@pytest.mark.parametrize("module_name", FAMILY_MODULES)
def test_every_family_module_is_registered(module_name: str) -> None:
    # A family file that all_rules() does not list would have its examples never run and
    # its rules never fire; this fails for it, whoever added it.
    module = importlib.import_module(f"gitvault.scan.rules.{module_name}")
    own = getattr(module, "RULES", ())
    assert own, f"{module_name} defines no RULES"
    registered = {r.id for r in RULES}
    missing = [r.id for r in own if r.id not in registered]
    assert not missing, f"{module_name}: {missing} not in all_rules()"

