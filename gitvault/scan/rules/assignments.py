# ruff: noqa: E501 -- rule data: example credentials are long literals
"""Credentials in the syntax of config files and credential stores.

The `name = value` rules in :mod:`generic` cover most formats. These rules cover the
shapes they cannot see: PHP ``define('DB_PASSWORD', '…')``, XML key/value pairs
(NuGet, .NET app.config, Java properties XML), ``.netrc`` and other space-separated
files, ``.pgpass``, ``.npmrc`` ``_password`` lines,
Dockerfile ``ENV NAME value`` and passwords
piped into a command. All example values are invented.
"""

from __future__ import annotations

from gitvault.scan.rules import Rule
from gitvault.scan.rules._kit import rule

_NAMES = (
    r"(?:passw(?:or)?d|passphrase|pass|pwd|secret|token|api[_.-]?key|apikey|credential|bindpw|rootpw|masterauth"
    r"|private[_.-]?key|access[_.-]?key|auth[_.-]?key|client[_.-]?key)"
)


_rule = rule


RULES: tuple[Rule, ...] = (
    _rule(
        "php-define-secret",
        "secret in a PHP define() (wp-config.php, config.php)",
        r"(?i)\bdefine[ \t]*\([ \t]*[\"'](?P<name>[A-Z0-9_]*(?:PASSWORD|PASSWD|PASS|PWD|SECRET|KEY|TOKEN)[A-Z0-9_]*)[\"'][ \t]*,[ \t]*"
        r"(?P<q>[\"'])(?P<secret>[^\"'\r\n]{5,256})[\"']",
        ("define",),
        (
            "define( 'DB_PASSWORD', 'Hq3xT9pLz!' );",
            "define('AUTH_KEY', 'r;Z8|kQ+2mX@v7Lp$Tz1#Nw4^Yb6&Hc0');",
        ),
        (
            "define('DB_PASSWORD', getenv('DB_PASSWORD'));",
            "define( 'AUTH_KEY', 'put your unique phrase here' );",
            "define('DB_PASSWORD', '');",
        ),
    ),
    _rule(
        "xml-key-value-secret",
        "secret in an XML key/value element (<add key=… value=…/>, <property name=… value=…/>)",
        r"(?i)<(?:add|entry|property|param|parameter|setting|item|var|env|option|variable|attribute)\b[^<>\r\n]{0,200}?\b(?:key|name)[ \t]*=[ \t]*[\"']"
        r"(?P<name>[^\"'<>\r\n]{0,60}?"
        + _NAMES
        + r"[^\"'<>\r\n]{0,40}?)[\"'][^<>\r\n]{0,200}?\bvalue[ \t]*=[ \t]*(?P<q>[\"'])(?P<secret>[^\"'\s<>]{4,256})[\"']",
        (
            "add",
            "entry",
            "property",
            "param",
            "setting",
            "item",
            "var",
            "env",
            "option",
            "attribute",
        ),
        (
            '<add key="ClearTextPassword" value="Hq3xT9pLz!" />',
            '<property name="hibernate.connection.password" value="Ue1wKc8mZr"/>',
            '<add name="StripeSecret" value="Rk7Zp1Ys9Hb3Mf6Ue0Dq" />',
        ),
        (
            '<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />',
            '<property name="password" value="${db.password}"/>',
            '<add key="PasswordPolicy" value="Strong" />',
        ),
        hs_pattern=r"(?i)"
        + _NAMES
        + r"[^\"'<>\r\n]{0,40}?[\"'][^<>\r\n]{0,200}?value[ \t]*=[ \t]*[\"'][^\"'\s<>]{4}",
    ),
    _rule(
        "xml-entry-secret",
        'secret as the text of an XML entry named like a password (<entry key="password">…)',
        r"(?i)<(?:entry|property|string|setting|value|item)\b[^<>\r\n]{0,100}?\b(?:key|name)[ \t]*=[ \t]*[\"']"
        r"(?P<name>[^\"'<>\r\n]{0,60}?"
        + _NAMES
        + r"[^\"'<>\r\n]{0,40}?)[\"'][^<>\r\n]{0,100}?>(?P<secret>[^<\s]{4,256})</",
        ("entry", "property", "string", "setting", "value", "item"),
        (
            '<entry key="db.password">Hq3xT9pLz!</entry>',
            '<string name="api_key">Rk7Zp1Ys9Hb3Mf6Ue0Dq</string>',
        ),
        (
            '<entry key="password">${DB_PASSWORD}</entry>',
            '<string name="password_hint">Enter it</string>',
        ),
    ),
    _rule(
        "netrc-password",
        "password in a .netrc / _netrc machine line or a .fetchmailrc poll line",
        r"(?i)\b(?:machine[ \t]+\S+|default|poll[ \t]+\S+)(?:[ \t]+\S+){0,12}?[ \t]+pass(?:word)?[ \t]+[\"']?(?P<secret>[^\s\"']{3,128})",
        ("machine", "default", "poll"),
        (
            "machine api.heroku.com login ci@corp.test password Hq3xT9pLz",
            "machine ftp.internal login deploy password Ue1wKc8mZr!",
            'poll mail.corp.test protocol imap user "ana" password "Rk7Zp1Ys9H"',
        ),
        (
            "machine github.com login ci password $GITHUB_TOKEN",
            "machine host login me password <token>",
        ),
    ),
    _rule(
        "space-separated-secret",
        "secret on its own config line, space-separated (.netrc lines, rclone, sshd-like and INI-like files)",
        r"(?im)^[ \t]*(?P<name>[\w.-]{0,30}?"
        + _NAMES
        + r"[\w.-]{0,20}?)[ \t]+(?P<secret>[^\s=:\"'`$<>{}()\[\],;#]{4,256})[ \t]*\r?$",
        (
            "pass",
            "pwd",
            "secret",
            "token",
            "api",
            "credential",
            "private",
            "access",
            "auth",
            "client",
            "bindpw",
            "rootpw",
            "masterauth",
        ),
        (
            "  password Hq3xT9pLz!",
            "SSLCertificateKeyPassphrase Ue1wKc8mZr7",
            "api_key Rk7Zp1Ys9Hb3Mf6Ue0Dq",
            "bindpw Hq3xT9pLz7",
            "masterauth Kd8vQ2mLp9xW",
        ),
        (
            "    pass",
            "password required",
            "  password $PASSWORD",
            "token SOME_TOKEN_NAME",
            "    secret_name myapp-credentials",
        ),
        hs_pattern=r"(?i)"
        + _NAMES
        + r"[\w.-]{0,20}?[ \t]+[^\s=:\"'`$<>{}()\[\],;#]{4}[^\s=:\"'`$<>{}()\[\],;#]*[ \t]*(?:\r?\n|$)",
    ),
    _rule(
        "pgpass-line",
        "password in a PostgreSQL .pgpass line (host:port:db:user:password)",
        r"(?m)^(?:[A-Za-z0-9][\w.-]{0,252}|\*|\[[0-9a-fA-F:]+\]):(?:\d{1,5}|\*):(?:[\w.-]{1,63}|\*):(?:[\w.@-]{1,63}|\*):(?P<secret>[^\s:]{3,128})\r?$",
        (":",),
        (
            "db.internal:5432:shop:app:Hq3xT9pLz!",
            "*:*:*:replicator:Ue1wKc8mZr7",
        ),
        (
            "db.internal:5432:shop:app:$PGPASS",
            "12:30:45:10:00",
            "localhost:5432:*:postgres:postgres",
        ),
        entropy=2.5,
        hs_pattern=r":(?:\d{2,5}|\*):[\w.*-]{1,63}:[\w.@*-]{1,63}:[^\s:]{3}",
    ),
    _rule(
        "npmrc-auth",
        "registry credential in an .npmrc / .yarnrc (_authToken, _auth, _password)",
        r"(?im)(?:^|[ \t])(?://[^\s=]*:)?(?P<name>_(?:authToken|auth|password))[ \t]*=[ \t]*(?P<q>[\"'])?(?P<secret>[^\s\"'$]{8,512})",
        ("_auth", "_password"),
        (
            "//npm.corp.test/repository/npm/:_password=VWUxd0tjOG1acjc=",
            "  _password = SHEzeFQ5cEx6IQ==",
        ),
        ("//registry.npmjs.org/:_authToken=${NPM_TOKEN}", "always-auth=true"),
    ),
    _rule(
        "dockerfile-env-secret",
        "secret baked into an image by Dockerfile ENV/ARG (space form)",
        r"(?im)^[ \t]*(?:ENV|ARG)[ \t]+(?P<name>[\w.-]*(?:PASS|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)[\w.-]*)[ \t]+"
        r"(?P<q>[\"'])?(?P<secret>[^\s\"'$]{5,256})",
        ("env", "arg"),
        ("ENV DB_PASSWORD Hq3xT9pLz!", 'ENV API_TOKEN "Rk7Zp1Ys9Hb3Mf6Ue0Dq"'),
        ("ENV DB_PASSWORD ${DB_PASSWORD}", "ARG NPM_TOKEN", "ENV PASSWORD_FILE /run/secrets/db"),
    ),
    _rule(
        "echo-password-pipe",
        "password piped into a command (echo … | sudo -S, docker login, chpasswd)",
        r"(?i)\becho[ \t]+(?:-[ne][ \t]+)?(?P<q>['\"])?(?P<secret>[^\s'\"$|`]{4,128})['\"]?[ \t]*\|[ \t]*"
        r"(?:sudo[ \t]+-S|docker[ \t]+login|podman[ \t]+login|helm[ \t]+registry|passwd|chpasswd|kinit|openssl|sshpass|smbpasswd)",
        ("echo",),
        (
            "echo 'Hq3xT9pLz!' | sudo -S systemctl restart app",
            'echo "Rk7Zp1Ys9Hb3Mf6Ue0Dq" | docker login -u ci --password-stdin registry.corp.test',
        ),
        (
            'echo "$REGISTRY_TOKEN" | docker login -u ci --password-stdin',
            "echo hello | sudo -S true",
        ),
    ),
    _rule(
        "define-secret",
        'secret in a C/RPM macro or a space-separated set command (#define PASSWORD "…")',
        r"(?im)^[ \t]*(?:#[ \t]*define|%define|%global|set|setenv|set[ \t]+-gx?)[ \t]+(?P<name>\w*"
        + _NAMES
        + r"\w*)[ \t]+"
        r"(?:(?P<q>[\"'])(?P<secret>[^\"'\s\\]{4,256})[\"']|(?P<secret2>[^\"'\s\\$]{8,256})[ \t]*\r?$)",
        ("define", "global", "set"),
        (
            '#define DB_PASSWORD "n84ASM54y4"',
            "%global api_token 'Rk7Zp1Ys9Hb3Mf6Ue0Dq'",
            'setenv SMTP_PASS "Xq2Lm8vTz7!"',
            "%define token 4b9a6d8b4bc56fbfa1c638eb0c6cab3746bf32ac7bfa89a6d8b638eb0c619ff2",
        ),
        (
            '#define PASSWORD_MAX_LEN "64"',
            '#define PASSWORD_PROMPT "Password: "',
            'set password "$env(PW)"',
        ),
        hs_pattern=r"(?i)(?:define|global|set|setenv|set[ \t]+-gx?)[ \t]+\w*"
        + _NAMES
        + r"\w*[ \t]+[\"']?[^\"'\s\\]{4}",
    ),
)
