# ruff: noqa: E501 -- rule data: example tokens are long literals
"""Private key material: PEM blocks of every common type, PuTTY and age identities.

A PEM rule matches the BEGIN line *and* a base64 body line after it (on the
next line, or after a literal ``\\n`` inside a JSON/YAML string), so code that
merely mentions the header, public keys and encrypted keys are not findings.
"""

from __future__ import annotations

from gitvault.scan.rules import Rule

# After the BEGIN line: a real newline or a literal "\n" (JSON, escaped strings),
# then optional indentation or string quoting.
_NL = r"""(?:\r?\n|\\n)[ \t"'+]*"""
_BODY = r"(?P<secret>[A-Za-z0-9+/=]{40,})"
_BODY_HS = r"[A-Za-z0-9+/=]{40}"

_B64_A = "MIIEpAIBAAKCAQEAu8jzPde0IgxLd6GnKdNnFRIBXuDL7DxtpYlSnXsiVpzz63Ff"
_B64_B = "MHcCAQEEIKjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5N1aE6PwZPf1Qh6yYToAoGCCqGSM49"


def _pem(rule_id: str, label: str, description: str, first_body: str = _B64_A) -> Rule:
    header = f"-----BEGIN {label}-----"
    return Rule(
        id=rule_id,
        description=description,
        family="private-key",
        pattern=header + _NL + _BODY,
        hs_pattern=header + _NL + _BODY_HS,
        keywords=(f"begin {label.lower()}",),
        span_back=256,
        severity="critical",
        examples=(
            f"{header}\n{first_body}\nXZjljENUhJduRHHJEYXg4JdpmrcX\n-----END {label}-----\n",
            f'key = "{header}\\n{first_body}\\n"',
            f"  tls.key: |\n    {header}\n    {first_body}\n",
        ),
        negative_examples=(
            f'if line.strip() == "{header}":\n    in_key = True\n',
            f"# paste your key between {header} and the END line\n",
            f"{header}\n...\n-----END {label}-----\n",
        ),
    )


RULES: tuple[Rule, ...] = (
    _pem("private-key-rsa", "RSA PRIVATE KEY", "RSA private key (PKCS#1 PEM)"),
    _pem("private-key-ec", "EC PRIVATE KEY", "EC private key (SEC1 PEM)", _B64_B),
    _pem("private-key-dsa", "DSA PRIVATE KEY", "DSA private key (PEM)"),
    _pem(
        "private-key-openssh",
        "OPENSSH PRIVATE KEY",
        "OpenSSH private key",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    ),
    _pem("private-key-pkcs8", "PRIVATE KEY", "private key (PKCS#8 PEM)"),
    Rule(
        id="private-key-pgp",
        description="PGP private key block",
        family="private-key",
        pattern=r"-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\r?\n|\\n)"
        r"(?:[A-Za-z-]+: [^\r\n]*(?:\r?\n|\\n))*(?:\r?\n|\\n)?[ \t\"']*" + _BODY,
        hs_pattern=r"-----BEGIN PGP PRIVATE KEY BLOCK-----(?:\r?\n|\\n)"
        r"(?:[A-Za-z-]+: [^\r\n]*(?:\r?\n|\\n))*(?:\r?\n|\\n)?[ \t\"']*" + _BODY_HS,
        keywords=("begin pgp private key block",),
        span_back=512,
        severity="critical",
        examples=(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGVzb2VTAQgAu8jzPde0IgxLd6GnKdNnFRIBXuDL7Dxtp\n",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: made by hand\n\n"
            "lQdGBGVzb2VTAQgAu8jzPde0IgxLd6GnKdNnFRIBXuDL7Dxtp\n",
        ),
        negative_examples=(
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBGVzb2VTAQgAu8jzPde0IgxLd6GnKdNnFRIBXuDL7Dxtp\n",
            'MARKER = "-----BEGIN PGP PRIVATE KEY BLOCK-----"\nprint(MARKER)\n',
        ),
    ),
    Rule(
        id="private-key-putty",
        description="PuTTY private key (unencrypted body)",
        family="private-key",
        pattern=r"Private-Lines:[ \t]*\d+\r?\n(?P<secret>[A-Za-z0-9+/=]{40,})",
        hs_pattern=r"Private-Lines:[ \t]*\d+\r?\n[A-Za-z0-9+/=]{40}",
        keywords=("private-lines",),
        span_back=64,
        severity="critical",
        examples=(
            "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n"
            "AAAAIEPmTa5Vsqxezy3Lex7BWr2drgd1QsO7jprBr5pyzPCB9t\n",
        ),
        negative_examples=(
            "Private-Lines: 1\n<paste here>\n",
            "# the Private-Lines: header counts the lines of the key\n",
        ),
    ),
    Rule(
        id="age-secret-key",
        description="age identity (secret key)",
        family="private-key",
        pattern=r"\b(?P<secret>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b",
        keywords=("age-secret-key-1",),
        severity="critical",
        examples=(
            "AGE-SECRET-KEY-1S00XCJ62RJFPU4GUQJTHMZ6D3TGTWTV99L3TDGVNVQY6RK4JL9Q67G30TH",
            'export SOPS_AGE_KEY="AGE-SECRET-KEY-1S00XCJ62RJFPU4GUQJTHMZ6D3TGTWTV99L3TDGVNVQY6RK4JL9Q67G30TH"',
        ),
        negative_examples=(
            "# AGE-SECRET-KEY-1... goes in ~/.config/sops/age/keys.txt",
            "recipient: age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
        ),
    ),
)
