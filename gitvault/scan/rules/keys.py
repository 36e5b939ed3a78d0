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
# RFC 1421 headers of a legacy encrypted key (Proc-Type, DEK-Info), then a blank line.
_HEADERS = r"""(?:[A-Za-z-]{3,20}:[^\r\n\\]{0,200}(?:\r?\n|\\n)[ \t"'+]*)*(?:\r?\n|\\n)?[ \t"'+]*"""
_BODY = r"(?P<secret>[A-Za-z0-9+/=]{40,})"
_BODY_HS = r"[A-Za-z0-9+/=]{40}"

_B64_A = "MIIEpAIBAAKCAQEAu8jzPde0IgxLd6GnKdNnFRIBXuDL7DxtpYlSnXsiVpzz63Ff"
_B64_B = "MHcCAQEEIKjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5N1aE6PwZPf1Qh6yYToAoGCCqGSM49"


def _pem(
    rule_id: str,
    label: str,
    description: str,
    first_body: str = _B64_A,
    *,
    label_re: str = "",
    keyword: str = "",
) -> Rule:
    header = f"-----BEGIN {label}-----"
    header_re = f"-----BEGIN {label_re}-----" if label_re else header
    return Rule(
        id=rule_id,
        description=description,
        family="private-key",
        pattern=header_re + _NL + _HEADERS + _BODY,
        hs_pattern=header_re + _NL + _HEADERS + _BODY_HS,
        keywords=(keyword or f"begin {label.lower()}",),
        span_back=256,
        severity="critical",
        examples=(
            f"{header}\n{first_body}\nXZjljENUhJduRHHJEYXg4JdpmrcX\n-----END {label}-----\n",
            f'key = "{header}\\n{first_body}\\n"',
            f"  tls.key: |\n    {header}\n    {first_body}\n",
            f"{header}\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F8A1C9D2E7B4F6A\n\n{first_body}\n",
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
    _pem(
        "private-key-pkcs8-encrypted",
        "ENCRYPTED PRIVATE KEY",
        "passphrase-protected private key (PKCS#8 PEM): offline guessing target",
        "MIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQIu8jzPde0IgwCAggA",
    ),
    _pem(
        "private-key-pem-other",
        "ED25519 PRIVATE KEY",
        "private key (PEM, other type)",
        label_re=r"(?:[A-Z0-9]{2,12} ){1,3}PRIVATE KEY",
        keyword="private key",
    ),
    Rule(
        id="private-key-ssh2",
        description="SSH2 (RFC 4716 / ssh.com) private key",
        family="private-key",
        pattern=r"---- BEGIN SSH2 (?:ENCRYPTED )?PRIVATE KEY ----" + _NL + _HEADERS + _BODY,
        hs_pattern=r"---- BEGIN SSH2 (?:ENCRYPTED )?PRIVATE KEY ----" + _NL + _HEADERS + _BODY_HS,
        keywords=("begin ssh2",),
        span_back=512,
        severity="critical",
        examples=(
            '---- BEGIN SSH2 ENCRYPTED PRIVATE KEY ----\nComment: "rsa-key-20240101"\n'
            "P2/56wAAA+4AAAA3aWYtbW9kbntzaWdue3JzYS1wa2NzMS1zaGExfSxlbmNyeXB0e3JzYS\n",
        ),
        negative_examples=(
            '---- BEGIN SSH2 PUBLIC KEY ----\nComment: "k"\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC7yPM91\n',
        ),
    ),
    Rule(
        id="private-key-base64-pem",
        description="base64-encoded PEM private key (e.g. a Kubernetes Secret's tls.key)",
        family="private-key",
        pattern=r"(?P<secret>LS0tLS1CRUdJTi[A-Za-z0-9+/]{40,}={0,2})",
        hs_pattern=r"LS0tLS1CRUdJTi[A-Za-z0-9+/]{40}",
        keywords=("ls0tls1crudjti",),
        validator="b64-private-key",
        severity="critical",
        examples=(
            "  tls.key: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlFcEFJQkFBS0NBUUVBdThqelBkZTBJZ3hMZDZHbkt",
            '"private_key": "LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2UUlCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND"',
        ),
        negative_examples=(
            "  tls.crt: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSURCVENDQWUyZ0F3SUJBZ0lVZUxk",
            "  ca.pub: LS0tLS1CRUdJTiBQVUJMSUMgS0VZLS0tLS0KTUlJQklqQU5CZ2txaGtpRzl3MEJBUUVGQUFP",
        ),
    ),
    Rule(
        id="private-key-jwk",
        description='private key as a JSON Web Key (has a "d" member)',
        family="private-key",
        pattern=r"\"[dk]\"[ \t]*:[ \t]*\"(?P<secret>[A-Za-z0-9_-]{20,})\"",
        keywords=('"d"', '"k"'),
        entropy=3.5,
        severity="critical",
        examples=(
            '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","d":"jpsQnnGQmL-YBIffH1136cLyOTEOTjMA4KKXYyTOuMw"}',
            '  "d": "Vx3Nq8Lc2Rt7Wz1Kb5HmPd4Yf0Ug6Js2Ma8Xe3Qi7Oc1Tn5Wv9Rb4Lk6Zh0Gy2",',
            '{"kty": "oct", "k": "WrMwQfoNaHTgXU5fZvRGAD"}',
        ),
        negative_examples=(
            '{"d": "2024-01-01T00:00:00Z"}',
            '{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"}',
        ),
    ),
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
