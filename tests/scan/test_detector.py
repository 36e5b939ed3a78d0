"""The detector: redaction, fingerprints, dedupe, allow-listing, vault values, odd input."""

from __future__ import annotations

import pytest

from gitvault.scan.detector import VAULT_VALUE_RULE, Detector
from gitvault.scan.known import KnownValues
from gitvault.scan.model import LineMap, Unit

TOKEN = "ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB"
STRIPE = "sk_live_51KjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5N1aE6Pw"


@pytest.fixture(scope="module", params=["hyperscan", "python"])
def detector(request: pytest.FixtureRequest) -> Detector:
    return Detector(engine=request.param)


def scan(d: Detector, text: str, path: str = "app/config.py"):
    return d.scan(Unit(path, text.encode())).findings


def test_preview_never_holds_the_secret(detector: Detector) -> None:
    [f] = scan(detector, f"TOKEN = '{TOKEN}'\n")
    assert TOKEN not in f.preview
    assert TOKEN[4:] not in f.preview and "ghp_****" in f.preview
    assert TOKEN not in repr(f) and TOKEN not in str(f.to_json())


def test_two_secrets_on_one_line_are_both_masked(detector: Detector) -> None:
    findings = scan(detector, f"a='{TOKEN}'; b='{STRIPE}'\n")
    assert {f.rule for f in findings} == {"github-pat", "stripe-secret-key"}
    for f in findings:
        assert TOKEN not in f.preview and STRIPE not in f.preview


def test_line_and_column(detector: Detector) -> None:
    [f] = scan(detector, f"# header\n\nx = 1\nTOKEN = '{TOKEN}'\n")
    assert (f.line, f.column) == (4, 10)


def test_fingerprint_survives_moving_lines_not_a_new_path(detector: Detector) -> None:
    [a] = scan(detector, f"T='{TOKEN}'\n")
    [b] = scan(detector, f"\n\n\nT='{TOKEN}'\n")
    [c] = scan(detector, f"T='{TOKEN}'\n", path="other.py")
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_specific_rule_wins_over_generic(detector: Detector) -> None:
    [f] = scan(detector, f'api_token = "{TOKEN}"\n')
    assert f.rule == "github-pat"


def test_inline_allow(detector: Detector) -> None:
    report = detector.scan(Unit("a.py", f"T='{TOKEN}'  # gitvault:allow\n".encode()))
    assert report.findings == [] and report.allowed == 1


def test_allowlist_nextline(detector: Detector) -> None:
    text = f"# pragma: allowlist nextline secret\nT='{TOKEN}'\n"
    assert scan(detector, text) == []


def test_pem_allowed_on_its_begin_line(detector: Detector) -> None:
    body = "MIIEpAIBAAKCAQEAu8jzPde0IgxLd6GnKdNnFRIBXuDL7DxtpYlSnXsiVpzz63Ff"
    text = (
        f"-----BEGIN RSA PRIVATE KEY----- gitvault:allow\n{body}\n-----END RSA PRIVATE KEY-----\n"
    )
    assert scan(detector, text) == []
    [f] = scan(detector, text.replace(" gitvault:allow", ""))
    assert f.rule == "private-key-rsa" and body not in f.preview


def test_baseline_suppresses() -> None:
    d = Detector()
    [f] = scan(d, f"T='{TOKEN}'\n")
    d2 = Detector(baseline={f.fingerprint})
    assert scan(d2, f"T='{TOKEN}'\n") == [] and d2.suppressed == 1


def test_line_map_for_diff_buffers(detector: Detector) -> None:
    data = f"x = 1\nT='{TOKEN}'\ny = 2\n".encode()
    unit = Unit("a.py", data, LineMap(starts=(0, 1), numbers=(10, 40)))
    [f] = detector.scan(unit).findings
    assert f.line == 40


def test_huge_single_line(detector: Detector) -> None:
    text = "x" * 3_000_000 + f" T='{TOKEN}' " + "y" * 100_000
    [f] = scan(detector, text)
    assert f.rule == "github-pat" and f.line == 1 and len(f.preview) < 200


def test_non_utf8_bytes(detector: Detector) -> None:
    data = b"\xff\xfe caf\xe9 T='" + TOKEN.encode() + b"' \x80\n"
    [f] = detector.scan(Unit("latin1.txt", data)).findings
    assert f.rule == "github-pat"


def test_engines_agree_on_mixed_text() -> None:
    text = "\n".join(
        [
            f"T='{TOKEN}'",
            f"S={STRIPE}",
            "password = 'Zq8vL2pRt7wX'",
            "checksum: 7443e210471948d33296c87009e8a7f770d9106f",
        ]
    )
    a = [(f.rule, f.line) for f in scan(Detector(engine="hyperscan"), text)]
    b = [(f.rule, f.line) for f in scan(Detector(engine="python"), text)]
    assert a == b and len(a) == 3


class TestVaultValues:
    PASSWORD = "Summer2024"  # low entropy: no rule flags it away from a password-like name

    def detector(self, engine: str) -> Detector:
        known = KnownValues([("secrets/dev/app.yaml:db.password", self.PASSWORD)], engine=engine)
        return Detector(known_values=known, engine=engine)

    @pytest.mark.parametrize("engine", ["hyperscan", "python"])
    def test_low_entropy_vault_value_is_found_and_fully_masked(self, engine: str) -> None:
        d = self.detector(engine)
        [f] = scan(d, f'DB = connect(password="{self.PASSWORD}")\n')
        assert f.rule == VAULT_VALUE_RULE
        assert f.key_path == "secrets/dev/app.yaml:db.password"
        assert (
            self.PASSWORD not in f.preview
            and self.PASSWORD[:2] not in f.preview.split("****")[0][-2:]
        )
        assert self.PASSWORD not in str(f.to_json())

    def test_plain_rule_scan_misses_it(self) -> None:
        assert scan(Detector(), f'motd = greet(season="{self.PASSWORD}")\n') == []
        known = self.detector("hyperscan")
        [f] = scan(known, f'motd = greet(season="{self.PASSWORD}")\n')
        assert f.rule == VAULT_VALUE_RULE

    def test_weak_password_next_to_a_password_name_is_found(self) -> None:
        # Human-made passwords have low entropy; the name and the character classes decide.
        [f] = scan(Detector(), f'DB = connect(password="{self.PASSWORD}")\n')
        assert f.rule == "generic-password"

    def test_short_and_boring_values_are_ignored(self) -> None:
        known = KnownValues(
            [("k:a", "abc"), ("k:b", "true"), ("k:c", "12345678901"), ("k:d", "localhost")]
        )
        assert len(known) == 0

    def test_vault_value_wins_over_a_rule(self) -> None:
        known = KnownValues([("secrets/ci.yaml:github.token", TOKEN)])
        [f] = scan(Detector(known_values=known), f"T='{TOKEN}'\n")
        assert f.rule == VAULT_VALUE_RULE and "ghp_" not in f.preview

    def test_multiline_value_lines_are_searched(self) -> None:
        pem_line = "MIIEpAIBAAKCAQEAu8jzPde0IgxLd6GnKdNnFRIBXuDL7DxtpYlSnXsiVpzz63Ff"
        known = KnownValues([("k:tls.key", f"-----BEGIN X-----\n{pem_line}\n-----END X-----")])
        hits = known.find(f"blob = '{pem_line}'".encode())
        assert len(hits) == 1 and hits[0].key_path == "k:tls.key"
