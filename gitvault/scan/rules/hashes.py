# ruff: noqa: E501 -- rule data: example hashes are long literals
"""Password hashes: crypt(3) formats, bcrypt, argon2, PBKDF2, scrypt, framework and vendor forms.

A leaked password hash is an offline guessing target (and, for NTLM, a credential by
itself: pass-the-hash). Every format here has a self-describing prefix or a fixed
shape, so these rules need no name next to them. Every example hash below was
made up for this file: random salt and digest characters of the right alphabet and
length, not the hash of any password.
"""

from __future__ import annotations

from functools import partial

from gitvault.scan.rules import Rule
from gitvault.scan.rules._kit import rule

_C64 = r"[./A-Za-z0-9]"  # the crypt(3) base-64 alphabet
_B64 = r"[A-Za-z0-9+/]"
_END = r"(?![./A-Za-z0-9])"


# Hashes are their own family, not generic, and need more entropy than a password.
_hash = partial(rule, family="password-hash", generic=False, entropy=3.0)


RULES: tuple[Rule, ...] = (
    _hash(
        "hash-bcrypt",
        "bcrypt password hash",
        r"(?P<secret>\$2[abxy]?\$(?:0[4-9]|[12]\d|3[01])\$" + _C64 + r"{53})" + _END,
        ("$2a$", "$2b$", "$2y$", "$2x$", "$2$"),
        (
            "admin:$2y$10$Qm8cLk2VpTz1rYwXn4HdAuJ3sF6gE0bK9iO7lP5qR2tU8vW1xY3zC",
            "INSERT INTO users VALUES (1,'ana','$2b$12$wN3kP8sQ1vX6zB4mR7tY0uLcD2fG5hJ9aE1iO3pS6uV8yK0nM4qWe');",
            'password_hash: "$2a$08$Xc7Vb2Nm5Qw8Er1Ty4Ui7OpAs3Df6Gh9Jk2Lz5Xc8Vb1Nm4Qw7Er0"',
        ),
        (
            "# bcrypt hashes look like $2b$12$<53 characters>",
            "$2b$12$abc",
            "$2y$10$" + "a" * 53,
        ),
    ),
    _hash(
        "hash-sha512-crypt",
        "SHA-512 crypt password hash ($6$)",
        r"(?P<secret>\$6\$(?:rounds=\d{1,9}\$)?" + _C64 + r"{1,16}\$" + _C64 + r"{86})" + _END,
        ("$6$",),
        (
            "root:$6$Gnswph8P$RvQSuEqcTdr3ZZx6HQO35UWzQXzoohJKjqqRKApEHmVBFRN2YZl7c5mG3pr4HllooXL3Gv3fgrMRcnNfzSgQGH:19700:0:99999:7:::",
            "  hashed_password: '$6$rounds=5000$0FRRHBKvaHrh$lFberKiYdTfdbam0GQeZPc3n8fEkJftRkcB0tZ8bBWtkX8eQWThMCojezQGYGCMTBAlgSh7zWQHC9JxMAOQ3gQ'",
        ),
        (
            "root:$6$salt$tooshort:19700:0:99999:7:::",
            'printf \'$6$%s$%s\' "$salt" "$hash"',
        ),
    ),
    _hash(
        "hash-sha256-crypt",
        "SHA-256 crypt password hash ($5$)",
        r"(?P<secret>\$5\$(?:rounds=\d{1,9}\$)?" + _C64 + r"{1,16}\$" + _C64 + r"{43})" + _END,
        ("$5$",),
        ("deploy:$5$LPNmr6VS$uw5XCj6mv8ywKgp1MXfYP9Yijx6Uf68nCPp7bexVFQz:19000:0:99999:7:::",),
        ("deploy:$5$salt$short:19000::",),
    ),
    _hash(
        "hash-md5-crypt",
        "MD5 crypt / Apache apr1 password hash ($1$, $apr1$)",
        r"(?P<secret>\$(?:1|apr1)\$" + _C64 + r"{1,8}\$" + _C64 + r"{22})" + _END,
        ("$1$", "$apr1$"),
        (
            "admin:$apr1$Tq8Lx2Vc$Nw4Rk7Zp1Ys9Hb3Mf6Ue0D",
            "enable secret 5 $1$Jm3v$Ka7Xq2Wr9Tz4Lc1Vn8Bp6.",
            "ftpuser:$1$Rx9Kd2Lp$Ho5Wv8Qe3Zt7Ny1Mc4Ub6/:1001:1001::/srv/ftp:/bin/false",
        ),
        ("admin:$apr1$salt$", "# htpasswd -m writes $apr1$<salt>$<hash>"),
    ),
    _hash(
        "hash-yescrypt",
        "yescrypt password hash ($y$)",
        r"(?P<secret>\$y\$" + _C64 + r"{1,12}\$" + _C64 + r"{4,86}\$" + _C64 + r"{43})" + _END,
        ("$y$",),
        (
            "ana:$y$j9T$GIMDs7JNQfcIi5YDyGQtXi$baIcOFJzuLJBq6Op3q0W7mq0jtCkadR9eU7E3XDrp7p:19500:0:99999:7:::",
        ),
        ("ana:$y$j9T$salt$:19500::",),
    ),
    _hash(
        "hash-phpass",
        "phpass / WordPress / phpBB / Drupal password hash ($P$, $H$, $S$)",
        r"(?P<secret>\$[PH]\$[5-9A-Za-z./]"
        + _C64
        + r"{30}|\$S\$[5-9A-Za-z./]"
        + _C64
        + r"{51})"
        + _END,
        ("$p$", "$h$", "$s$"),
        (
            "(1,'admin','$P$Bi0G63Eb1H3D1p7KEAyrTCIY4lJA4cd','admin@site.test')",
            "pass: $S$DnQvWys81vp7hB1dx8PpD5KHXe3PYiGkPAuNaRL63xYKwzEInncI",
        ),
        ("$P$short", "price: $P$ per unit"),
    ),
    _hash(
        "hash-argon2",
        "Argon2 password hash",
        r"(?P<secret>\$argon2(?:id|i|d)\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$"
        + _B64
        + r"{11,}\$"
        + _B64
        + r"{16,})",
        ("$argon2",),
        (
            "hash = '$argon2id$v=19$m=65536,t=3,p=4$Zk4Vn8QcLr2Xb7Tm1Wf5Hs$Py3Ug6Jd0Oe4Ka8Ni2Rc6Vt1Ms5Qz9BhTx0Yw2Lq'",
            "argon2$argon2id$v=19$m=102400,t=2,p=8$Rk7Zp1Ys9Hb3Mf6Ue0DqWc$Nx4Lt8Vb2Qm6Ja0Ke5Yh9Pg",
        ),
        ("$argon2id$v=19$m=65536,t=3,p=4$salt$", "see $argon2id$ in the docs"),
    ),
    _hash(
        "hash-pbkdf2",
        "PBKDF2 password hash (passlib, Django, Werkzeug)",
        r"(?P<secret>\$pbkdf2(?:-sha(?:1|256|512))?\$\d{3,8}\$" + _C64 + r"{4,}\$" + _C64 + r"{22,}"
        r"|pbkdf2_sha(?:1|256|512)\$\d{3,8}\$[A-Za-z0-9]{4,}\$" + _B64 + r"{27,}={0,2}"
        r"|pbkdf2:sha(?:1|256|512):\d{3,8}\$[A-Za-z0-9]{4,}\$[0-9a-f]{40,128})",
        ("pbkdf2",),
        (
            "password = 'pbkdf2_sha256$600000$Zk4Vn8QcLr2Xb7Tm$Py3Ug6Jd0Oe4Ka8Ni2Rc6Vt1Ms5Qz9BhTx0Yw2Lq8Fs='",
            "pw: pbkdf2:sha256:260000$Rk7Zp1Ys9Hb3Mf6U$4f1c9a55b12e4c1d9c3e2a7b8d6e5f41a7c3e9d2b8f6a4c1e0d9b7a5c3e1f2a4",
            "$pbkdf2-sha256$29000$N2bM.ZXyHo8Ry$Ue0DqWcNx4Lt8Vb2Qm6Ja0Ke5Yh9Pg1Zw3Lr",
        ),
        (
            "PASSWORD_HASHERS = ['django.contrib.auth.hashers.PBKDF2PasswordHasher']",
            "pbkdf2_sha256$<iterations>$<salt>$<hash>",
        ),
    ),
    _hash(
        "hash-scrypt",
        "scrypt password hash",
        r"(?P<secret>\$scrypt\$ln=\d+,r=\d+,p=\d+\$" + _B64 + r"{8,}\$" + _B64 + r"{20,}"
        r"|\$7\$" + _C64 + r"{11}" + _C64 + r"{0,64}\$" + _C64 + r"{43})",
        ("$scrypt$", "$7$"),
        ("$scrypt$ln=16,r=8,p=1$Zk4Vn8QcLr2Xb7Tm$Py3Ug6Jd0Oe4Ka8Ni2Rc6Vt1Ms5Qz9BhTx0Yw2Lq8Fs",),
        ("$scrypt$ln=16,r=8,p=1$$",),
    ),
    _hash(
        "hash-django-legacy",
        "Django salted SHA-1 / MD5 / bcrypt_sha256 password hash",
        r"(?P<secret>\bsha1\$[A-Za-z0-9]{4,}\$[0-9a-f]{40}\b|\bmd5\$[A-Za-z0-9]{4,}\$[0-9a-f]{32}\b"
        r"|\bbcrypt(?:_sha256)?\$\$2[aby]\$\d\d\$" + _C64 + r"{53})",
        ("sha1$", "md5$", "bcrypt"),
        ("'password': 'sha1$Zk4Vn$7443e210471948d33296c87009e8a7f770d9106f',",),
        ("sha1$<salt>$<hexdigest>", "git rev sha1$ref"),
    ),
    _hash(
        "hash-ldap",
        "LDAP / htpasswd scheme password hash ({SSHA}, {SHA}, {SMD5}, {PBKDF2}…)",
        r"(?i)(?P<secret>\{(?:s?sha(?:256|384|512)?|s?md5|crypt|pbkdf2(?:-sha\d+)?|ssha\d*|argon2|bcrypt|cleartext)\}"
        r"[A-Za-z0-9+/=.$,:-]{12,})",
        ("{ssha", "{sha", "{smd5", "{md5", "{crypt", "{pbkdf2", "{argon2", "{bcrypt", "{cleartext"),
        (
            "userPassword: {SSHA}Vn8QcLr2Xb7Tm1Wf5Hs9Py3Ug6Jd0Oe4Ka8N",
            "bob:{SHA}Zk4Vn8QcLr2Xb7Tm1Wf5Hs9Py3U=",
        ),
        ("userPassword: {SSHA}", "hash = '{SHA}' + digest"),
    ),
    _hash(
        "hash-mysql",
        "MySQL native password hash (*41 hex)",
        r"(?:(?i:identified(?:[ \t]+with[ \t]+\w+)?[ \t]+(?:by|as)[ \t]+(?:password[ \t]+)?)|authentication_string|[\"'`=:,(][ \t]*)"
        r"[\"'`]?(?P<secret>\*[0-9A-F]{40})(?![0-9A-Za-z])",
        hs_pattern=r"\*[0-9A-F]{40}",
        keywords=("*",),
        examples=(
            "GRANT ALL ON *.* TO 'app'@'%' IDENTIFIED BY PASSWORD '*6C8989366EAF75BB670AD8EA7A7FC1176A95CEF4';",
            "('localhost','app','*A4B6157319038724E3560894F7F932C8886EBFCF','Y')",
        ),
        negatives=(
            "x = y * 0123456789ABCDEF0123456789ABCDEF01234567",
            "'*0000000000000000000000000000000000000000'",
        ),
        entropy=3.0,
    ),
    _hash(
        "hash-postgres",
        "PostgreSQL md5 or SCRAM-SHA-256 password hash",
        r"(?P<secret>\bmd5[0-9a-f]{32}\b|SCRAM-SHA-256\$\d{3,7}:"
        + _B64
        + r"{16,}={0,2}\$"
        + _B64
        + r"{40,}={0,2}:"
        + _B64
        + r"{40,}={0,2})",
        ("md5", "scram-sha-256$"),
        (
            "CREATE ROLE app LOGIN PASSWORD 'md5c4fa2815d2802827283e0ad841735815';",
            "ALTER ROLE app PASSWORD 'SCRAM-SHA-256$4096:Zk4Vn8QcLr2Xb7Tm1Wf5Hs==$Py3Ug6Jd0Oe4Ka8Ni2Rc6Vt1Ms5Qz9BhTx0Yw2Lq8F=:Ue0DqWcNx4Lt8Vb2Qm6Ja0Ke5Yh9Pg1Zw3Lr7Ks2Hd=';",
        ),
        ("md5sum file.txt", "auth_method: SCRAM-SHA-256"),
    ),
    _hash(
        "hash-ntlm-pwdump",
        "NTLM hash in a pwdump / secretsdump line",
        r"(?m)^[^:\s]{1,64}:\d{1,10}:(?:[0-9a-fA-F]{32}|\*{32}|NO PASSWORD\*{21}):(?P<secret>[0-9a-fA-F]{32}):::",
        ("::",),
        (
            "Administrator:500:aad3b435b51404eeaad3b435b51404ee:3f8a1c9d2e7b4f6a0c5d8e1b9a7f3c2d:::",
            "svc_sql:1105:aad3b435b51404eeaad3b435b51404ee:9b1e4c7a2f8d3b6e0a5c9f1d7e2b4a8c:::",
        ),
        ("user:1000:NOTAHASH:NOTAHASH:::", "a:1:b:c:::"),
    ),
    _hash(
        "hash-cisco-type7",
        "Cisco type 7 / type 8 / type 9 password",
        r"(?i)\b(?:password|secret|key)[ \t]+(?:7[ \t]+(?P<secret>[01][0-9][0-9A-F]{6,})\b"
        r"|[89][ \t]+(?P<secret2>\$[89]\$" + _C64 + r"{14}\$" + _C64 + r"{43}))",
        ("password", "secret", "key"),
        (
            "username admin privilege 15 password 7 0822455D0A16544541",
            "enable secret 9 $9$B5pEcVkYymbQrw$9aMyBY3tePY0hHwO0PMQ23EPyFd3qjDBMrzrmpSxbdO",
        ),
        ("service password-encryption", "password 7 <encrypted>"),
        entropy=2.5,
    ),
)
