# ruff: noqa: E501, S105 -- rule data: example tokens are long literals; names, not passwords
"""Generic rules: secret-like names with a value, URLs and connection strings, auth headers.

These rules have no provider prefix to lean on, so every match also passes the
generic filters (placeholders, template references, code references, hashes,
UUIDs) and an entropy floor. They are listed last: a specific rule that claims
the same bytes wins.
"""

from __future__ import annotations

from gitvault.scan.rules import Rule
from gitvault.scan.rules.uris import LATE_RULES

# Name classes. A name is an identifier containing one of these words, in any case and
# separator style (snake, kebab, camel, dotted); non-English words for "password" too.
_PASSWORD = (
    r"(?:passw(?:or)?d|passphrase|passcode|pass|pwd|psw"
    r"|passwort|kennwort|contrasen?a|senha|mot[_.-]?de[_.-]?passe|motdepasse|wachtwoord"
    r"|losenord|salasana|heslo|haslo|parola|parool|jelszo|sifre|lozinka|geslo|passord"
    r"|adgangskode|mima|clave|bindpw|rootpw|psk|masterauth|authtok)"
)
_SECRET = (
    r"(?:secret|credential|creds|private[_.-]?key|privkey|priv[_.-]?key|signing[_.-]?key"
    r"|encryption[_.-]?key|encrypt[_.-]?key|crypt[_.-]?key|cipher[_.-]?key|hmac[_.-]?key"
    r"|aes[_.-]?key|shared[_.-]?key|master[_.-]?key|secret[_.-]?key|geheim)"
)
_TOKEN = (
    r"(?:token|bearer|session[_.-]?key|auth[_.-]?key|auth[_.-]?code|auth[_.-]?string"
    r"|authorization|authtoken|jwt|cookie[_.-]?secret)"
)
_APIKEY = (
    r"(?:api[_.-]?key|apikey|api[_.-]?secret|access[_.-]?key|app[_.-]?key|client[_.-]?key"
    r"|subscription[_.-]?key|license[_.-]?key|account[_.-]?key|storage[_.-]?key"
    r"|consumer[_.-]?key|dev(?:eloper)?[_.-]?key|sas[_.-]?key|service[_.-]?key|write[_.-]?key"
    r"|ingest(?:ion)?[_.-]?key|admin[_.-]?key|partner[_.-]?key)"
)

# `name = "value"` in code, JSON, YAML, TOML, PHP arrays, keyword arguments, R, PowerShell.
_ANY_NAME = "(?:" + "|".join((_PASSWORD, _SECRET, _TOKEN, _APIKEY)) + ")"

# Plain `=`/`:`-style operators, or a typed declaration (TS/Kotlin/Swift `name: string =`,
# Go `name string =`).
_ASSIGN = (
    r"""[\"']?\]?(?:[ \t]*:[ \t]*[\w.<>\[\]|?&*]{1,30}[ \t]*=|[ \t]+[\w.*\[\]]{1,30}[ \t]*="""
    r"""|[ \t]*(?:=|:|:=|=>|<-|\?\?=|\|\|=))[ \t]*(?:[rbuf]{1,2}|@)?"""
)
_QUOTED_VALUE = r"""(?P<q>[\"'`])(?P<secret>[^\"'`\s\\]{5,256})[\"'`]"""
# `NAME=value` as a whole line in .env, INI, properties, YAML, shell, Makefile, Dockerfile.
_LINE_START = (
    r"""^[ \t]*(?:(?:export|set|setenv|setx|env|arg|declare[ \t]+-x|readonly|local)[ \t]+"""
    r"""|-[ \t]+)?[\"':]?"""
)
_BARE_VALUE = r"""(?P<secret>[^\s\"'`,()\[\]{}<>$\\]{5,256})[ \t]*(?:[ \t][#;][^\r\n]*)?\r?$"""


def _quoted(
    rule_id: str,
    names: str,
    what: str,
    entropy: float,
    examples: tuple[str, ...],
    negatives: tuple[str, ...],
) -> Rule:
    return Rule(
        id=rule_id,
        description=f"hard-coded {what} (quoted value next to a {what}-like name)",
        family="generic",
        # The name starts an identifier, not the tail of `AWS::Service::ApiKey`.
        pattern=r"(?i)(?<![\w.-])(?<!::)(?P<name>[\w.-]{0,40}?"
        + names
        + r"[\w.-]{0,30}?)"
        + _ASSIGN
        + _QUOTED_VALUE,
        # Hyperscan only needs where a match may end: no name prefix, a 5-byte value head.
        hs_pattern=r"(?i)" + names + r"[\w.-]{0,30}?" + _ASSIGN + r"""[\"'`][^\"'`\s\\]{5}""",
        keywords=tuple(_keywords(names)),
        entropy=entropy,
        generic=True,
        severity="medium",
        examples=examples,
        negative_examples=negatives,
    )


def _bare(
    rule_id: str,
    names: str,
    what: str,
    entropy: float,
    examples: tuple[str, ...],
    negatives: tuple[str, ...],
) -> Rule:
    return Rule(
        id=rule_id,
        description=f"{what} in a config line (NAME=value next to a {what}-like name)",
        family="generic",
        pattern=r"(?im)" + _LINE_START + r"(?P<name>[\w.-]{0,40}?" + names + r"[\w.-]{0,30}?)"
        r"[\"']?[ \t]*(?:[:?+]?=|:)[ \t]*" + _BARE_VALUE,
        hs_pattern=r"(?i)" + names + r"[\w.-]{0,30}?[\"']?[ \t]*(?:[:?+]?=|:)[ \t]*"
        r"""[^\s\"'`,()\[\]{}<>$\\]{5}""",
        keywords=tuple(_keywords(names)),
        entropy=entropy,
        generic=True,
        severity="medium",
        examples=examples,
        negative_examples=negatives,
    )


def _keywords(names: str) -> list[str]:
    """Literal words of a name class, for the keyword prefilter."""
    table = {
        _PASSWORD: [
            "pass",
            "pwd",
            "psw",
            "kennwort",
            "contrase",
            "senha",
            "mot",
            "wachtwoord",
            "losenord",
            "salasana",
            "heslo",
            "haslo",
            "parol",
            "jelszo",
            "sifre",
            "lozinka",
            "geslo",
            "adgangskode",
            "mima",
            "clave",
            "bindpw",
            "rootpw",
            "psk",
            "masterauth",
            "authtok",
        ],
        _SECRET: [
            "secret",
            "credential",
            "creds",
            "priv",
            "signing",
            "encrypt",
            "crypt",
            "cipher",
            "hmac",
            "aes",
            "shared",
            "master",
            "geheim",
        ],
        _TOKEN: ["token", "bearer", "session", "auth", "jwt", "cookie"],
        _APIKEY: [
            "api",
            "access",
            "app",
            "client",
            "subscription",
            "license",
            "account",
            "storage",
            "consumer",
            "dev",
            "sas",
            "service",
            "write",
            "ingest",
            "admin",
            "partner",
        ],
    }
    return table[names]


RULES: tuple[Rule, ...] = (
    Rule(
        id="url-with-password",
        description="URL with an embedded password",
        family="generic",
        pattern=r"(?i)\b[a-z][a-z0-9+.-]{1,20}://(?P<user>[^\s:@/\"'`<>{}$]{0,64}):"
        r"(?P<secret>[^\s:@/\"'`<>{}$]{3,128})@[a-z0-9][a-z0-9.-]*",
        keywords=("://",),
        generic=True,
        examples=(
            "DATABASE_URL=postgres://app:Zq8vL2pRt7wX@db.internal:5432/app",
            "redis_url = 'redis://default:9IS0J8HT9LGMXG9E@cache:6379/0'",
            "git clone https://deploy:KjIg8xNbe3nNyjOq@git.example.org/acme/app.git",
            "CACHE=redis://:Hq3xT9pLz@cache.internal:6379/0",
            "mongodb+srv://app:Ue1wKc8mZr@cluster0.abcde.mongodb.net/shop",
        ),
        negative_examples=(
            "DATABASE_URL=postgres://postgres:postgres@localhost:5432/test",
            "DATABASE_URL=postgres://user:password@localhost/db",
            "url = 'postgres://app:${DB_PASSWORD}@db/app'",
            "url = f'https://{user}:{password}@host'",
            "see https://example.org/a:b@c for the syntax",
        ),
    ),
    Rule(
        id="connection-string-password",
        description="password in a database connection string",
        family="generic",
        pattern=r"(?i)(?:server|data source|host|uid|user id|user)=[^\r\n]{0,200}?;[ \t]*"
        r"(?:password|pwd)=(?P<secret>[^;\"'\r\n]{4,128})",
        keywords=("password=", "pwd="),
        generic=True,
        examples=(
            '"Server=tcp:acme.database.windows.net;Database=app;User ID=app;Password=Zq8vL2pRt7wX;"',
            "Host=db;Username=app;Password=9IS0J8HT9LGMXG9E;Database=app",
        ),
        negative_examples=(
            "Server=db;User Id=app;Password=<password>;",
            "Server=db;User Id=app;Password={0};",
            "Server=db;User Id=app;Password=$(DB_PASSWORD);",
        ),
    ),
    Rule(
        id="url-query-password",
        description="password in a URL query string",
        family="generic",
        pattern=r"(?i)[?&](?:password|passwd|pwd|pass)=(?P<secret>[^&\s\"'#<>{}$]{4,128})",
        keywords=("pass", "pwd"),
        generic=True,
        examples=("jdbc:mysql://db:3306/app?user=app&password=Zq8vL2pRt7wX&useSSL=true",),
        negative_examples=(
            "jdbc:mysql://db:3306/app?user=app&password=${DB_PASSWORD}",
            "https://example.org/login?password=&user=",
        ),
    ),
    Rule(
        id="sql-password",
        description="password in a SQL user/role statement",
        family="generic",
        pattern=r"(?i)\b(?:(?:create|alter)[ \t]+(?:user|login|role)\b|grant\b[^\r\n;]{0,200}?\bto\b)[^\r\n;]{0,120}?"
        r"(?:identified[ \t]+(?:with[ \t]+[a-z_]+[ \t]+)?by[ \t]+|\bpassword(?:[ \t]*=[ \t]*|[ \t]+))"
        r"(?P<q>['\"])?(?P<secret>[^'\"\s;,()&]{4,128})",
        keywords=("create", "alter", "grant"),
        entropy=2.5,
        generic=True,
        examples=(
            "ALTER USER 'app'@'%' IDENTIFIED BY 'Zq8vL2pRt7wX';",
            "CREATE USER app WITH ENCRYPTED PASSWORD 'Tr0ub4dor3x' CREATEDB;",
            "CREATE LOGIN app WITH PASSWORD = 'Xk7mQ2vLp9';",
            "ALTER ROLE app PASSWORD 'Zq8vL2pRt7wX';",
            "GRANT ALL PRIVILEGES ON shop.* TO 'shop'@'localhost' IDENTIFIED BY 'Kd8vQ2mLp9x';",
        ),
        negative_examples=(
            "CREATE USER $APP_USER WITH PASSWORD '$APP_PASSWORD';",
            "ALTER USER app IDENTIFIED BY :new_password;",
            "-- the password is identified by the server",
            "  // fixes problems identified by validate(), accepts the 'problems' property",
            "user.password_hash(candidate)",
            'db = connect(user="app", password=os.environ["PW"])',
        ),
    ),
    Rule(
        id="authorization-bearer",
        description="bearer token in an Authorization header",
        family="generic",
        pattern=r"(?i)\bbearer[ \t]+(?P<secret>[A-Za-z0-9._~+/-]{20,}=*)",
        hs_pattern=r"(?i)\bbearer[ \t]+[A-Za-z0-9._~+/-]{20}",
        keywords=("bearer",),
        entropy=3.5,
        generic=True,
        examples=(
            'curl -H "Authorization: Bearer KjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5" https://api',
            "headers = {'Authorization': 'Bearer r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg'}",
        ),
        negative_examples=(
            'curl -H "Authorization: Bearer $TOKEN" https://api',
            "headers = {'Authorization': 'Bearer YOUR_ACCESS_TOKEN_HERE'}",
            "# Bearer authentication_scheme_description",
        ),
    ),
    Rule(
        id="authorization-token",
        description="token in an Authorization header with a scheme other than Bearer (Token, ApiKey, SSWS …)",
        family="generic",
        pattern=r"(?i)\b(?P<name>(?:proxy-)?authorization)[\"']?[ \t]*[:=,][ \t]*[\"']?(?:token|apikey|api-key|key|sso-key|bot|ssws|splunk|genie[ \t]?key|dsn)"
        r"[ \t]+(?:token=)?[\"']?(?P<secret>[A-Za-z0-9._~+/=:-]{16,256})",
        hs_pattern=r"(?i)authorization[\"']?[ \t]*[:=,][ \t]*[\"']?(?:token|apikey|api-key|key|sso-key|bot|ssws|splunk|genie[ \t]?key|dsn)"
        r"[ \t]+(?:token=)?[\"']?[A-Za-z0-9._~+/=:-]{16}",
        keywords=("authorization",),
        entropy=3.3,
        generic=True,
        examples=(
            "headers = {'Authorization': 'Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b'}",
            "Authorization: SSWS 00QCjAl4MlV-WPXM9x7Lp2R4tZk8sQe3nB5vY6wHd",
        ),
        negative_examples=(
            "headers = {'Authorization': 'Token ' + token}",
            "Authorization: Token <your-token>",
            "Authorization: Token ${API_TOKEN}",
        ),
    ),
    Rule(
        id="authorization-basic",
        description="basic-auth credentials in an Authorization header",
        family="generic",
        pattern=r"(?i)\bbasic[ \t]+(?P<secret>[A-Za-z0-9+/]{12,}={0,2})(?![A-Za-z0-9+/=])",
        hs_pattern=r"(?i)\bbasic[ \t]+[A-Za-z0-9+/]{12}",
        keywords=("basic",),
        validator="basic-auth",
        examples=("Authorization: Basic YWNtZTpaUThtdkwycFJ0N3dY",),
        negative_examples=(
            "Authorization: Basic dXNlcm5hbWVwYXNzd29yZA==",  # decodes without a colon
            "a basic introduction to authentication",
        ),
    ),
    Rule(
        id="curl-user-password",
        description="credentials on a curl command line",
        family="generic",
        pattern=r"(?i)\bcurl\b[^\r\n]{0,200}?[ \t](?:-u|--user)[ \t]+[\"']?(?P<user>[^:\s\"'$]{1,64}):"
        r"(?P<secret>[^\s\"'$]{4,128})",
        keywords=("curl",),
        generic=True,
        examples=("curl -u admin:Zq8vL2pRt7wX https://ci.internal/api/json",),
        negative_examples=(
            'curl -u "$USER:$PASSWORD" https://ci.internal/api/json',
            "curl -u admin: https://ci.internal/",
        ),
    ),
    *LATE_RULES,
    Rule(
        id="generic-xml-secret",
        description="secret-like XML element with a value",
        family="generic",
        pattern=r"(?i)<(?P<name>[\w.:-]{0,40}?"
        + _ANY_NAME
        + r"[\w.-]{0,30}?)(?:[ \t][^<>\r\n]{0,200})?>"
        r"(?:<!\[CDATA\[)?(?P<secret>[^<\s]{5,256}?)(?:\]\]>)?</",
        hs_pattern=r"(?i)<[\w.:-]{0,40}?" + _ANY_NAME + r"[\w.-]{0,30}?(?:[ \t][^<>\r\n]{0,200})?>"
        r"(?:<!\[CDATA\[)?[^<\s]{5}",
        keywords=tuple(
            sorted({k for n in (_PASSWORD, _SECRET, _TOKEN, _APIKEY) for k in _keywords(n)})
        ),
        entropy=2.2,
        generic=True,
        examples=(
            "<password>Zq8vL2pRt7wX</password>",
            "<apiKey>KjIg8xNbe3nNyjOq9wMxEhh2</apiKey>",
            '<Pass encoding="base64">WnE4dkwycFJ0N3dY</Pass>',
            "<ns:clientSecret><![CDATA[yvHNsG9eh6Yo4gfqrc5Xlr]]></ns:clientSecret>",
            "<wachtwoord>Bnur806LU</wachtwoord>",
        ),
        negative_examples=(
            "<password>${db.password}</password>",
            "<password></password>",
            "<passwordPolicy>strict</passwordPolicy>",
            "<token>{{ token }}</token>",
        ),
    ),
    _quoted(
        "generic-password",
        _PASSWORD,
        "password",
        2.2,
        (
            'db_password = "Zq8vL2pRt7wX"',
            '{"password": "Tr0ub4dor&3x"}',
            "connect(host='db', password='9IS0J8HT9LGMXG9E')",
            "$config['db_pass'] = 'Xk7!mQ2#vLp9';",
            'DB_PASSWORD = "%82%XQI+MNSxhT"',
            '    psk="Kd8vQ2mLp9xW"',
        ),
        (
            'password = "changeme"',
            'password = "${DB_PASSWORD}"',
            'password = "<your-password>"',
            'password = "********"',
            "password_hash = 'c4fa2815d2802827283e0ad841735815'",
            'if password == "hunter2hunter":',
            'password = "aaaaaaaa"',
            'password_field = "passwordInput"',
            'password: "ENC[AES256_GCM,data:Tr0ub4dor,iv:abc,tag:def,type:str]"',
        ),
    ),
    _bare(
        "generic-password-assignment",
        _PASSWORD,
        "password",
        2.5,
        (
            "DB_PASSWORD=Zq8vL2pRt7wX",
            "  password: Tr0ub4dor&3x",
            "export PGPASSWORD=9IS0J8HT9LGMXG9E",
            "spring.datasource.password = Xk7!mQ2#vLp9",
            "psk=Kd8vQ2mLp9xW",
            ":rubygems_password: Hq3xT9pLz7",
        ),
        (
            "DB_PASSWORD=${DB_PASSWORD}",
            "password = self._password",
            "password = getpass.getpass()",
            "  password: !vault |",
            "password_file: /run/secrets/db_password",
            "PASSWORD=changeme",
            "PASSWORD_PROMPT=%USERPROFILE%",
            "password = password_for_user",
            "pass_filenames: false",
        ),
    ),
    _quoted(
        "generic-secret",
        _SECRET,
        "secret",
        3.0,
        (
            "SECRET_KEY = 'django-insecure-9IS0J8HT9LGMXG9Ekd8x'",
            '"client_secret": "yvHNsG9eh6Yo4gfqrc5XlrWi0B26R08q"',
            "app.config['SECRET'] = 'KjIg8xNbe3nNyjOq9wMxEhh2'",
        ),
        (
            "secret_name = 'prod/db/password'",
            "SECRET_KEY = os.environ['SECRET_KEY']",
            "secret = 'your-secret-here'",
            "client_secret_sha256 = '5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8'",
            "secret_id = '4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41'",
            "secretKeyRef: 'app-secrets'",
            "const USE_CREDENTIALS = 'use-credentials'",
        ),
    ),
    _bare(
        "generic-secret-assignment",
        _SECRET,
        "secret",
        3.2,
        (
            "SECRET_KEY=KjIg8xNbe3nNyjOq9wMxEhh2",
            "  client_secret: yvHNsG9eh6Yo4gfqrc5XlrWi0B26R08q",
        ),
        (
            "SECRET_KEY=${SECRET_KEY}",
            "secret = secrets.token_hex",
            "secrets_dir: /run/secrets",
            "  secretName: tls-cert",
        ),
    ),
    _quoted(
        "generic-token",
        _TOKEN,
        "token",
        3.3,
        (
            'auth_token = "r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg"',
            '"access_token": "KjIg8xNbe3nNyjOq9wMxEhh2ogoEmv"',
        ),
        (
            'token_type = "Bearer"',
            'tokenizer = "bert-base-uncased"',
            'csrf_token = "{{ csrf_token }}"',
            'token = "null"',
            "commit_token_sha = '7443e210471948d33296c87009e8a7f770d9106f'",
            'token_url = "https://oauth2.googleapis.com/token"',
        ),
    ),
    _bare(
        "generic-token-assignment",
        _TOKEN,
        "token",
        3.3,
        (
            "API_TOKEN=r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg",
            "  access_token: KjIg8xNbe3nNyjOq9wMxEhh2ogoEmv",
        ),
        (
            "token = tokens.pop()",
            "token = next_token",
            "API_TOKEN=${API_TOKEN}",
            "max_tokens: 4096",
            "    nextToken = this.nextToken;",
            "deploy_token_commit: 7443e210471948d33296c87009e8a7f770d9106f",
        ),
    ),
    _quoted(
        "generic-api-key",
        _APIKEY,
        "API key",
        3.3,
        (
            'api_key = "KjIg8xNbe3nNyjOq9wMxEhh2"',
            '{"apiKey": "r5pyzPCB9t2039bicBTW5ZE9LFaez7770"}',
            "headers['X-API-Key'] = 'yvHNsG9eh6Yo4gfqrc5XlrWi'",
        ),
        (
            'api_key = "<your-api-key-here>"',
            'api_key = "YOUR_API_KEY"',
            "api_key = process.env.API_KEY",
            'access_key_id = "4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41"',
            'api_key_header = "X-API-Key"',
        ),
    ),
    _bare(
        "generic-api-key-assignment",
        _APIKEY,
        "API key",
        3.3,
        (
            "MAPS_API_KEY=KjIg8xNbe3nNyjOq9wMxEhh2",
            "  apiKey: r5pyzPCB9t2039bicBTW5ZE9LFaez7770",
        ),
        (
            "API_KEY=${API_KEY}",
            "api_key = settings.API_KEY",
            "api_key: <your-api-key-here>",
        ),
    ),
    Rule(
        id="generic-name-value-pair",
        description="secret as the value of a (name, value) pair (Ruby `set :x, '…'`, tuples, defaults)",
        family="generic",
        pattern=r"(?i)(?:^|[\s(\[{,])(?::|[\"'])(?P<name>[\w.-]{0,40}?"
        + _ANY_NAME
        + r"[\w.-]{0,30}?)[\"']?[ \t]*,[ \t]*"
        + _QUOTED_VALUE
        + r"[ \t]*(?:[)\]}]|\r?$)",
        hs_pattern=r"(?i)" + _ANY_NAME + r"[\w.-]{0,30}?[\"']?[ \t]*,[ \t]*[\"'`][^\"'`\s\\]{5}",
        keywords=tuple(
            sorted({k for n in (_PASSWORD, _SECRET, _TOKEN, _APIKEY) for k in _keywords(n)})
        ),
        entropy=2.5,
        generic=True,
        severity="medium",
        examples=(
            "set :keystorePassword, 'N5p4#2ZN!wLPnw0Ve'",
            'db_pass = os.environ.get("DB_PASSWORD", "Xq2Lm8vTz7!")',
            "('api_key', 'Rk7Zp1Ys9Hb3Mf6Ue0Dq'),",
        ),
        negative_examples=(
            'getattr(settings, "PASSWORD", None)',
            '("password", "Password")',
            "set :password, ENV['PW']",
            'os.environ.get("DB_PASSWORD", "")',
            'MovedAttribute("HTTPPasswordMgr", "urllib2", "urllib.request"),',
            '("pw_name", "pw_passwd", "pw_uid", "pw_gid")',
        ),
    ),
    Rule(
        id="generic-key-assignment",
        description="high-entropy value of a *_KEY / *_SECRET / *_TOKEN variable in a shell or .env line",
        family="generic",
        pattern=r"(?m)^[ \t]*(?:export[ \t]+|-[ \t]+)?(?P<name>[A-Z][A-Z0-9_]{0,60}_(?:KEY|SECRET|TOKEN|PASS|PWD|AUTH|CREDENTIALS?))"
        r"[ \t]*[=:][ \t]*(?P<q>[\"'])?(?P<secret>[A-Za-z0-9+/_.=~-]{20,256})",
        hs_pattern=r"_(?:KEY|SECRET|TOKEN|PASS|PWD|AUTH|CREDENTIALS?)[ \t]*[=:][ \t]*[\"']?[A-Za-z0-9+/_.=~-]{20}",
        keywords=("_key", "_secret", "_token", "_pass", "_pwd", "_auth", "_credential"),
        entropy=3.5,
        generic=True,
        severity="medium",
        examples=(
            "export OPENAI_KEY=1q75Prw92jt9s47UOKvIqnFiZuO0YoryQdhs2FHx2nQPnldz",
            "MAPBOX_KEY='pk9Zq8vL2pRt7wXKjIg8xNbe3nNy'",
        ),
        negative_examples=(
            "export SSH_KEY=/home/ci/.ssh/id_ed25519_deploy_key",
            "PUBLIC_KEY=MCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE",
            "CACHE_KEY=build-cache-linux-x86_64-python3",
        ),
    ),
    Rule(
        id="generic-inline-password",
        description="password written inline in text or a one-line config (ID:x PW:y, pwd=…, password => …)",
        family="generic",
        pattern=r"(?i)(?:^|[\s(\[,/;|-])(?P<name>(?:[a-z0-9]+[_ -])?(?:pw|pwd|pass|passwd|password|passwort|psswd|pswd|paswd"
        r"|pasw(?:o?r)?d|pssw(?:o?r)?d|passphrase|passcode|kennwort|senha|contrasena))[ \t]*(?:=>|:=|[:=])[ \t]*"
        r"(?P<secret>[^\s,;()\[\]\"'`<>{}$|]{5,128})(?=[\s,;)\]\"'`|]|$)",
        hs_pattern=r"(?i)(?:pw|pwd|pass|passwd|password|passwort|psswd|pswd|paswd|pasw(?:o?r)?d|pssw(?:o?r)?d|passphrase|passcode"
        r"|kennwort|senha|contrasena)[ \t]*(?:=>|:=|[:=])[ \t]*[^\s,;()\[\]\"'`<>{}$|]{5}",
        keywords=(
            "pw",
            "pass",
            "psswd",
            "pswd",
            "paswd",
            "pasw",
            "pssw",
            "kennwort",
            "senha",
            "contrasena",
        ),
        entropy=2.5,
        generic=True,
        validator="letters-and-digits",
        severity="medium",
        examples=(
            "ID:master PW:dipPr10Gg!",
            "ssh deploy@10.0.0.5 (pwd:IhqSb1Gg)",
            "PASWD:=FlUgeGeHeImEn09",
            "login: admin, password => Xq2Lm8vTz7",
        ),
        negative_examples=(
            "def login(user, password=None):",
            "pw: self.pw",
            "password: Optional[str] = None",
            "password=password_hash(raw)",
            "pass: ${PASS}",
            "password:string",
            "username, _, password = base64.b64decode(rest).decode()",
        ),
    ),
    Rule(
        id="generic-inline-secret",
        description="key, secret or token written inline in text (Secret Key: …, API Secret: …)",
        family="generic",
        pattern=r"(?i)(?:^|[\s(\[,/;|>-])(?P<name>(?:[a-z0-9]{1,20}[ _-]){0,2}[a-z0-9]{0,20}?(?:secret[ _-]?key|access[ _-]?key|api[ _-]?(?:key|secret|token)"
        r"|client[ _-]?secret|auth(?:entication)?[ _-]?(?:key|token)|secret|token))[ \t]*(?:=>|:=|->|[:=])[ \t]*"
        r"(?P<secret>[A-Za-z0-9+/=_.~-]{12,256})(?=[\s,;)\]\"'`|<]|$)",
        hs_pattern=r"(?i)(?:key|secret|token)[ \t]*(?:=>|:=|->|[:=])[ \t]*[A-Za-z0-9+/=_.~-]{12}",
        keywords=("key", "secret", "token"),
        entropy=3.0,
        generic=True,
        validator="letters-and-digits",
        severity="medium",
        examples=(
            "SECRET KEY:AIhq5Xyb1Gga9Q3",
            "Token-> DemoToken: Nxs094M3ed2s1Re0F4M3ed2GZ8M= <- for User : demo",
            "API Secret: Rk7Zp1Ys9Hb3Mf6Ue0Dq",
        ),
        negative_examples=(
            "token: SOME_TOKEN_NAME_HERE",
            "secret: my-app-credentials",
            "primary key: user_id",
            "api key: see the dashboard",
        ),
    ),
    Rule(
        id="url-query-token",
        description="token, key or secret in a URL query string",
        family="generic",
        pattern=r"(?i)(?:[?&;]|%26|%3F)(?P<name>(?:access_|auth_|api_|id_|refresh_|private_)?token|api_?key|apikey|api-key|client_secret|secret|signature|auth)"
        r"(?:=|%3D)(?P<secret>[A-Za-z0-9_.~+/-]{16,256})",
        keywords=("token", "key", "secret", "signature", "auth"),
        entropy=3.3,
        generic=True,
        validator="letters-and-digits",
        severity="medium",
        examples=(
            'fetch("https://api.service.test/v1/items?token=zUkITxodk63bDVUMwIymb3zKTxICz85zC00cv0Gel1nE8O")',
            "https://hooks.service.test/notify?api_key=Rk7Zp1Ys9Hb3Mf6Ue0DqWcXe&channel=ops",
            'url = "https://x.test/39084?26timestamp%3D1395782596%26token%3Dh1d3Me4ch534d801sl3jdk%26v%3D3"',
        ),
        negative_examples=(
            "https://api.service.test/v1/items?token=${TOKEN}",
            "https://x.test/?token=REPLACE_WITH_YOUR_TOKEN",
            "https://x.test/?auth=oauth2&secret=false",
        ),
    ),
)
