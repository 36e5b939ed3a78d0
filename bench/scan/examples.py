# ruff: noqa: E501, S608 -- benchmark data: long literal templates; SQL text is data, never executed
"""Labelled credential examples: recall and false alarms of every scanner on one set.

Builds ``bench/out/scan-examples/`` — one small file per example, named the way such a
file is named in a repository (``.netrc``, ``settings.py``, ``sitemanager.xml`` …) —
and a manifest saying which files hold a credential (``pos``) and which hold a
near-miss (``neg``): placeholders, references, code, public material, digests and
malformed tokens. Every scanner is run over the directory and scored the same way: a
positive counts as found when the scanner reports any line of its file, a negative
counts as flagged when the scanner reports anything in it.

Provenance. The *shapes* come from the formats' own documentation: PostgreSQL (libpq
connection URIs and keyword strings, ``.pgpass``), MySQL / MariaDB client options,
Oracle JDBC thin URLs, Microsoft ADO.NET / ODBC connection strings, GNU inetutils
(``.netrc``), Git credential storage, npm and pip config files, Docker CLI
``config.json``, Apache Maven ``settings.xml``, Gradle properties, NuGet.config,
s3cmd ``.s3cfg``, boto / AWS CLI credential files, rclone, Apache ``htpasswd``,
FileZilla ``sitemanager.xml`` / ``recentservers.xml``, WinSCP ``WinSCP.ini``, the
Sublime/VS Code/Atom SFTP plugins' JSON, WordPress ``wp-config.php``, Django settings,
Spring Boot ``application.properties``, Rails ``database.yml``, crypt(3), passlib,
Django and LDAP password-hash formats, RFC 7468 PEM, RFC 7517 JWK, PuTTY ``.ppk`` and
age. The *values* are generated here from a fixed seed (random strings of the right
alphabet and length, or human-style passwords); none is a real credential and none
was copied from any scanner's rule file or test data.

Caveat: written by the same engineer as the rules, so it measures breadth over
formats the author knew about, not the unknown; the CredSweeper samples in run.py and
the held-out sets are the independent checks.

Usage:
  python bench/scan/examples.py build
  python bench/scan/examples.py score [--tools gitvault,betterleaks,kingfisher,detect-secrets]
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
OUT = REPO / "bench/out/scan-examples"

_rng = random.Random(1414)
_ALNUM = string.ascii_letters + string.digits
_WORDS = ["Winter", "Blue", "Harbor", "Falcon", "Maple", "Copper", "Orbit", "Violet", "Tango", "Quartz"]


def rnd(n: int, alphabet: str = _ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def human() -> str:
    """A human-made password: word + digits + symbol, or two words."""
    w = _rng.choice(_WORDS)
    return _rng.choice(
        [
            f"{w}{_rng.randint(1990, 2030)}{_rng.choice('!#$%&*')}",
            f"{w.lower()}-{_rng.choice(_WORDS)}-{_rng.randint(10, 99)}",
            f"{w[0]}{rnd(3, string.ascii_lowercase)}{_rng.randint(100, 999)}{w[1:3].upper()}",
        ]
    )


def strong() -> str:
    return rnd(_rng.randint(12, 20), _ALNUM + "!#%+-_=")


def token(n: int = 32) -> str:
    return rnd(n)


def hexs(n: int) -> str:
    return rnd(n, "0123456789abcdef")


def b64(n: int) -> str:
    return base64.b64encode(_rng.randbytes(n)).decode()


def c64(n: int) -> str:
    return rnd(n, "./" + _ALNUM)


def pw() -> str:
    return _rng.choice([human, strong])()


# ------------------------------------------------------------------------------------------
# Positives: (file name, content). One credential per file.


def positives() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []

    def add(kind: str, name: str, text: str) -> None:
        out.append((kind, name, text))

    # Generic assignments in many languages and config syntaxes.
    names_pw = ["password", "db_password", "dbPassword", "DB_PASS", "adminPwd", "smtp-password", "passwd",
                "mysql_root_password", "redisPassword", "contrasena", "passwort", "mot_de_passe", "senha",
                "wachtwoord", "ldap_bind_pw", "keystorePassword"]
    names_key = ["api_key", "apiKey", "X_API_KEY", "client_secret", "clientSecret", "secret_key", "access_token",
                 "authToken", "auth_token", "private_key", "app_secret", "signing_key", "webhook_secret",
                 "consumer_secret", "encryption_key", "session_secret", "jwt_secret", "master_key"]
    syntaxes = [
        ("py", "settings.py", '{n} = "{v}"\n'),
        ("py-kw", "db.py", 'conn = psycopg2.connect(host="db", user="app", {n}="{v}")\n'),
        ("js", "config.js", "const {n} = '{v}';\n"),
        ("js-obj", "client.js", "module.exports = {{\n  host: 'api.internal',\n  {n}: '{v}',\n}};\n"),
        ("ts", "env.ts", 'export const {n}: string = "{v}";\n'),
        ("go", "main.go", 'var {n} = "{v}"\n'),
        ("go-struct", "cfg.go", 'cfg := Config{{Host: "db", {N}: "{v}"}}\n'),
        ("java", "App.java", 'private static final String {N} = "{v}";\n'),
        ("kotlin", "App.kt", 'val {n} = "{v}"\n'),
        ("cs", "Program.cs", 'var {n} = @"{v}";\n'),
        ("php", "config.php", "<?php\n${n} = '{v}';\n"),
        ("php-arr", "database.php", "<?php return ['mysql' => ['host' => 'db', '{n}' => '{v}']];\n"),
        ("ruby", "config.rb", "{n} = '{v}'\n"),
        ("ruby-hash", "deploy.rb", "set :{n}, '{v}'\n"),
        ("sh", "deploy.sh", 'export {N}="{v}"\n'),
        ("sh-bare", ".bashrc", "export {N}={v}\n"),
        ("ps1", "setup.ps1", '${n} = "{v}"\n'),
        ("yaml", "config.yml", "service:\n  {n}: {v}\n"),
        ("yaml-q", "values.yaml", "db:\n  {n}: \"{v}\"\n"),
        ("json", "config.json", '{{"host": "db.internal", "{n}": "{v}"}}\n'),
        ("toml", "config.toml", '[db]\n{n} = "{v}"\n'),
        ("ini", "app.ini", "[database]\n{n} = {v}\n"),
        ("properties", "application.properties", "app.{n}={v}\n"),
        ("env", "prod.env", "{N}={v}\n"),
        ("xml-attr", "web.config", '<connection host="db" {n}="{v}" />\n'),
        ("xml-elem", "config.xml", "<config>\n  <{n}>{v}</{n}>\n</config>\n"),
        ("hcl", "main.tf", 'resource "x" "y" {{\n  {n} = "{v}"\n}}\n'),
        ("dockerfile", "Dockerfile", "FROM alpine\nENV {N}={v}\n"),
        ("makefile", "Makefile", "{N} := {v}\n"),
        ("compose", "docker-compose.yml", "services:\n  db:\n    environment:\n      - {N}={v}\n"),
    ]
    for syn, fname, tpl in syntaxes:
        for names, gen in ((names_pw, pw), (names_key, lambda: token(_rng.choice([24, 32, 40])))):
            n = _rng.choice(names)
            big = n.upper().replace("-", "_")
            add(f"generic-{syn}", fname, tpl.format(n=n.replace("-", "_") if syn in ("py", "go", "java", "kotlin", "cs", "ruby", "php", "ps1", "ts", "js", "py-kw", "ruby-hash") else n, N=big, v=gen()))

    # URIs and connection strings.
    for scheme, host in [("postgres", "db.internal:5432/app"), ("postgresql", "10.0.0.4/shop"), ("mysql", "mysql.internal:3306/app"),
                         ("mongodb", "mongo1:27017,mongo2:27017/app?replicaSet=rs0"), ("mongodb+srv", "cluster0.q1w2e.mongodb.net/app"),
                         ("redis", "cache.internal:6379/0"), ("rediss", "cache.internal:6380"), ("amqp", "rabbit.internal:5672/vhost"),
                         ("ftp", "files.internal/pub"), ("sftp", "sftp.internal:22/upload"), ("smtp", "smtp.mail.test:587"),
                         ("ldap", "ldap.corp.test:389"), ("https", "nexus.corp.test/repository/"), ("http", "proxy.corp.test:3128"),
                         ("jdbc:postgresql", "db:5432/app"), ("jdbc:mysql", "db:3306/app")]:
        user = _rng.choice(["app", "svc_user", "deploy", "admin2"])
        add("uri", "app.env", f"DATABASE_URL={scheme}://{user}:{pw()}@{host}\n")
    add("uri", "settings.py", f"CELERY_BROKER_URL = 'redis://:{strong()}@redis:6379/1'\n")
    add("jdbc", "application.properties", f"spring.datasource.url=jdbc:mysql://db:3306/app?user=app&password={strong()}\n")
    add("jdbc", "context.xml", f'<Resource url="jdbc:oracle:thin:scott/{strong()}@db.corp.test:1521/ORCL" />\n')
    add("jdbc", "hibernate.cfg", f"url=jdbc:sqlserver://db:1433;databaseName=app;user=sa;password={strong()};\n")
    add("adonet", "appsettings.json", f'{{"ConnectionStrings": {{"Default": "Server=tcp:sql.corp.test,1433;Database=app;User ID=app;Password={strong()};Encrypt=True;"}}}}\n')
    add("adonet", "Web.config", f'<add name="Db" connectionString="Data Source=sql01;Initial Catalog=shop;User Id=web;Pwd={strong()};" />\n')
    add("odbc", "odbc.ini", f"conn = Driver={{ODBC Driver 18 for SQL Server}};Server=db;Uid=app;Pwd={{{strong()}}};\n")
    add("libpq", "db.py", f'psycopg2.connect("host=db.internal port=5432 dbname=app user=app password={strong()}")\n')

    # Command lines.
    add("cli", "backup.sh", f"mysqldump -u root -p{strong()} --all-databases > all.sql\n")
    add("cli", "restore.sh", f"mysql -h db -u app --password={strong()} app < dump.sql\n")
    add("cli", "deploy.sh", f"sshpass -p '{strong()}' ssh root@10.0.0.5 'systemctl restart app'\n")
    add("cli", "ci.sh", f"curl -u admin:{strong()} https://jenkins.corp.test/job/build/api/json\n")
    add("cli", "ci.sh", f"curl -H 'X-API-Key: {token(32)}' https://api.service.test/v2/items\n")
    add("cli", "release.sh", f"docker login -u ci --password {strong()} registry.corp.test\n")
    add("cli", "pg.sh", f"PGPASSWORD={strong()} psql -h db -U app -c 'select 1'\n")
    add("cli", "cert.sh", f"openssl pkcs12 -export -in c.pem -inkey k.pem -out c.p12 -passout pass:{strong()}\n")
    add("cli", "keystore.sh", f"keytool -genkeypair -alias app -keystore app.jks -storepass {strong()}\n")
    add("cli", "setup.ps1", f'$sec = ConvertTo-SecureString "{strong()}" -AsPlainText -Force\n')
    add("cli", ".bash_history", f"echo '{strong()}' | sudo -S apt-get update\n")
    add("cli", "wget.sh", f"wget --user=ci --password={strong()} https://files.corp.test/a.tgz\n")
    add("cli", "sqlplus.sh", f"sqlplus -s system/{strong()}@ORCL @migrate.sql\n")

    # Calls in code.
    add("call", "client.py", f"r = requests.get(url, auth=HTTPBasicAuth('svc', '{strong()}'))\n")
    add("call", "client.py", f"r = requests.post(url, auth=('deploy', '{strong()}'), json=body)\n")
    add("call", "Mail.java", f'Session.getInstance(props, new Authenticator() {{ protected PasswordAuthentication getPasswordAuthentication() {{ return new PasswordAuthentication("alerts", "{strong()}".toCharArray()); }} }});\n')
    add("call", "Db.java", f'ds.setPassword("{strong()}");\n')
    add("call", "Net.cs", f'var cred = new NetworkCredential("svc", "{strong()}");\n')
    add("call", "mail.py", f"smtp.login('alerts@corp.test', '{strong()}')\n")
    add("call", "Db.java", f'Connection c = DriverManager.getConnection("jdbc:postgresql://db/app", "app", "{strong()}");\n')

    # Credential stores and framework configs.
    add("store", ".netrc", f"machine api.corp.test login ci password {strong()}\n")
    add("store", ".netrc", f"machine git.corp.test\n  login deploy\n  password {strong()}\n")
    add("store", ".pgpass", f"db.corp.test:5432:app:app:{strong()}\n")
    add("store", ".git-credentials", f"https://deploy:{token(40)}@git.corp.test\n")
    add("store", ".npmrc", f"//npm.corp.test/:_password={b64(12)}\n")
    add("store", ".pypirc", f"[distutils]\nindex-servers = corp\n\n[corp]\nrepository = https://pypi.corp.test\nusername = ci\npassword = {strong()}\n")
    add("store", "config.json", '{"auths": {"registry.corp.test": {"auth": "' + base64.b64encode(f"ci:{strong()}".encode()).decode() + '"}}}\n')
    add("store", "settings.xml", f"<settings><servers><server><id>corp</id><username>ci</username><password>{strong()}</password></server></servers></settings>\n")
    add("store", "gradle.properties", f"mavenUser=ci\nmavenPassword={strong()}\n")
    add("store", "NuGet.config", f'<packageSourceCredentials><corp><add key="Username" value="ci" /><add key="ClearTextPassword" value="{strong()}" /></corp></packageSourceCredentials>\n')
    add("store", ".s3cfg", f"[default]\naccess_key = AKIA{rnd(16, string.ascii_uppercase + '234567')}\nsecret_key = {rnd(40, _ALNUM + '/+')}\n")
    add("store", "credentials", f"[default]\naws_access_key_id = AKIA{rnd(16, string.ascii_uppercase + '234567')}\naws_secret_access_key = {rnd(40, _ALNUM + '/+')}\n")
    add("store", "rclone.conf", f"[remote]\ntype = sftp\nhost = files.corp.test\nuser = ci\npass = {rnd(40, _ALNUM + '-_')}\n")
    add("store", ".htpasswd", f"admin:$apr1${c64(8)}${c64(22)}\n")
    add("store", "sitemanager.xml", f'<Server><Host>ftp.corp.test</Host><User>web</User><Pass encoding="base64">{base64.b64encode(strong().encode()).decode()}</Pass></Server>\n')
    add("store", "recentservers.xml", f"<Server><Host>10.0.0.9</Host><User>upload</User><Pass>{strong()}</Pass></Server>\n")
    add("store", "WinSCP.ini", f"[Sessions\\web@ftp.corp.test]\nHostName=ftp.corp.test\nUserName=web\nPassword={hexs(60).upper()}\n")
    add("store", "sftp-config.json", f'{{\n    "type": "sftp",\n    "host": "10.0.0.9",\n    "user": "web",\n    "password": "{strong()}",\n    "remote_path": "/var/www/"\n}}\n')
    add("store", ".ftpconfig", f'{{\n  "protocol": "ftp",\n  "host": "ftp.corp.test",\n  "user": "web",\n  "pass": "{strong()}"\n}}\n')
    add("store", "wp-config.php", f"<?php\ndefine( 'DB_NAME', 'wp' );\ndefine( 'DB_USER', 'wp' );\ndefine( 'DB_PASSWORD', '{strong()}' );\n")
    add("store", "settings.py", f"DATABASES = {{\n    'default': {{\n        'ENGINE': 'django.db.backends.postgresql',\n        'USER': 'app',\n        'PASSWORD': '{strong()}',\n    }}\n}}\n")
    add("store", "settings.py", f"SECRET_KEY = 'django-insecure-{rnd(40, string.ascii_lowercase + string.digits + '!@#%^&*(-_=+)')}'\n")
    add("store", "application.properties", f"spring.datasource.username=app\nspring.datasource.password={strong()}\n")
    add("store", "database.yml", f"production:\n  adapter: postgresql\n  database: app\n  username: app\n  password: {strong()}\n")
    add("store", "secrets.yml", f"production:\n  secret_key_base: {hexs(128)}\n")
    add("store", ".my.cnf", f"[client]\nuser=root\npassword={strong()}\n")
    add("store", ".bash_profile", f"export GITHUB_TOKEN={token(36)}\n")
    add("store", ".zshrc", f"export OPENAI_KEY={token(48)}\n")
    add("store", "dump.sql", f"INSERT INTO `wp_users` VALUES (1,'admin','$P$B{c64(30)}','admin','admin@corp.test');\n")
    add("store", "dump.sql", f"INSERT INTO users (id, email, password) VALUES (7, 'ana@corp.test', '$2b$12${c64(53)}');\n")
    add("store", "users.sql", f"CREATE USER 'report'@'%' IDENTIFIED BY '{strong()}';\n")
    add("store", "init.sql", f"ALTER USER postgres WITH PASSWORD '{strong()}';\n")
    add("store", "mongoid.yml", f"production:\n  clients:\n    default:\n      uri: mongodb://app:{strong()}@mongo1:27017/app\n")
    add("store", "robomongo.json", f'{{"connections": [{{"serverHost": "10.0.0.3", "credentials": [{{"userName": "admin", "userPassword": "{strong()}"}}]}}]}}\n')
    add("store", ".vscode/sftp.json", f'{{"host": "10.0.0.9", "username": "web", "password": "{strong()}"}}\n')
    add("store", "WebServers.xml", f'<fileTransfer host="ftp.corp.test" port="21" login="web" password="{hexs(24)}" />\n')
    add("store", "ventrilo_srv.ini", f"[Server]\nName=guild\nAdminPassword={strong()}\nPassword={strong()}\n")
    add("store", ".esmtprc", f"hostname = smtp.corp.test:587\nusername = alerts\npassword = {strong()}\n")
    add("store", "hub", f"github.com:\n- user: ci\n  oauth_token: {hexs(40)}\n  protocol: https\n")
    add("store", "shadow", f"deploy:$6${c64(8)}${c64(86)}:19700:0:99999:7:::\n")
    add("store", "pwdump.txt", f"Administrator:500:aad3b435b51404eeaad3b435b51404ee:{hexs(32)}:::\n")
    add("store", "ldap.ldif", f"dn: uid=ana,ou=people,dc=corp,dc=test\nuserPassword: {{SSHA}}{b64(24)}\n")
    add("store", "users.json", f'{{"username": "ana", "password": "pbkdf2_sha256$600000${rnd(12)}${b64(32)}"}}\n')
    add("store", "users.py", f"HASH = '$argon2id$v=19$m=65536,t=3,p=4${b64(16).rstrip('=')}${b64(32).rstrip('=')}'\n")
    add("store", "mysql.sql", f"GRANT ALL ON *.* TO 'app'@'%' IDENTIFIED BY PASSWORD '*{hexs(40).upper()}';\n")
    add("store", "router.cfg", f"username admin privilege 15 password 7 {_rng.randint(0, 15):02d}{rnd(16, '0123456789ABCDEF')}\n")
    add("store", "wireguard.conf", f"[Interface]\nAddress = 10.0.0.2/24\nPrivateKey = {b64(32)}\n")

    # Keys.
    body = b64(48)
    add("key", "id_rsa.txt", f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n{b64(48)}\n-----END RSA PRIVATE KEY-----\n")
    add("key", "server.key.txt", f"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,{hexs(32).upper()}\n\n{b64(48)}\n-----END RSA PRIVATE KEY-----\n")
    add("key", "key.pem.txt", f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{b64(48)}\n-----END ENCRYPTED PRIVATE KEY-----\n")
    add("key", "deploy_key.txt", f"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA{b64(36)}\n-----END OPENSSH PRIVATE KEY-----\n")
    add("key", "ec.txt", f"-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEI{b64(45)}\n-----END EC PRIVATE KEY-----\n")
    add("key", "signing.asc", f"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQdGBG{b64(45)}\n-----END PGP PRIVATE KEY BLOCK-----\n")
    add("key", "sa.json", '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEv' + b64(45) + '\\n-----END PRIVATE KEY-----\\n"}\n')
    add("key", "tls-secret.yaml", "apiVersion: v1\nkind: Secret\ndata:\n  tls.key: " + base64.b64encode(f"-----BEGIN RSA PRIVATE KEY-----\nMIIEp{b64(60)}\n".encode()).decode() + "\n")
    add("key", "server.ppk", f"PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: k\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAI{b64(24)}\n{b64(12)}\nPrivate-Lines: 1\n{b64(36)}\nPrivate-MAC: {hexs(64)}\n")
    add("key", "jwk.json", '{"kty": "EC", "crv": "P-256", "x": "' + b64(32).rstrip("=").replace("+", "-").replace("/", "_") + '", "y": "' + b64(32).rstrip("=").replace("+", "-").replace("/", "_") + '", "d": "' + b64(32).rstrip("=").replace("+", "-").replace("/", "_") + '"}\n')
    add("key", "keys.txt.bak", "# created: 2024-01-01\nAGE-SECRET-KEY-1" + rnd(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L") + "\n")
    return out


# ------------------------------------------------------------------------------------------
# Negatives: near-misses in the same places.


def negatives() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []

    def add(kind: str, name: str, text: str) -> None:
        out.append((kind, name, text))

    placeholders = ["${DB_PASSWORD}", "{{ db_password }}", "%(password)s", "<your-password>", "changeme", "your_password_here",
                    "xxxxxxxxxxxx", "********", "example-password", "dummy", "<%= ENV['DB_PASSWORD'] %>", "$DB_PASSWORD",
                    "%DB_PASSWORD%", "REPLACE_ME", "TODO", "password", "secret", "null", "", "{password}"]
    for i, v in enumerate(placeholders):
        tpl = ['password = "{v}"\n', "DB_PASSWORD={v}\n", "  password: {v}\n", '{{"api_key": "{v}"}}\n',
               "<password>{v}</password>\n", "spring.datasource.password={v}\n"][i % 6]
        add("placeholder", f"cfg{i}.txt", tpl.format(v=v))
    refs = [
        'password = os.environ["DB_PASSWORD"]\n', "const token = process.env.GITHUB_TOKEN;\n",
        'password := os.Getenv("DB_PASSWORD")\n', "String password = System.getenv(\"DB_PASSWORD\");\n",
        "self.password = password\n", "api_key = settings.API_KEY\n", "password = getpass.getpass()\n",
        'secret = config.get("secret")\n', "$password = $_POST['password'];\n", "token = request.headers.get('X-Token')\n",
        "password: !vault |\n", "client_secret: ${{ secrets.CLIENT_SECRET }}\n", "password = self._password\n",
        "password = ENV.fetch('DB_PASSWORD')\n", "DB_PASSWORD: ${DB_PASSWORD:?required}\n",
        "requests.get(url, auth=(user, password))\n", "mysql -u root -p$MYSQL_ROOT_PASSWORD app\n",
        "curl -u \"$USER:$PASS\" https://api\n", "sshpass -p \"$SSHPASS\" ssh host\n", "psql postgres://app:${PGPASSWORD}@db/app\n",
        'ds.setPassword(env("DB_PASSWORD"));\n', "docker login -u ci --password-stdin < token.txt\n",
    ]
    for i, t in enumerate(refs):
        add("reference", f"ref{i}.py", t)
    code = [
        "def check_password(password: str) -> bool:\n    return hasher.verify(password)\n",
        "PASSWORD_MIN_LENGTH = 12\n", 'password_field = "password_input"\n', 'token_type = "Bearer"\n',
        "max_tokens: 4096\n", 'tokenizer = "bert-base-uncased"\n', "if token == 'EOF':\n    break\n",
        'label = "Password:"\n', "parser.add_argument('--password', help='database password')\n",
        'secret_name = "prod/db/credentials"\n', "password_file: /run/secrets/db_password\n",
        '<input type="password" name="password" placeholder="Password">\n', "password_reset_url = '/accounts/reset/'\n",
        "pass_filenames: false\n", "bypass_cache = True\n", "secretKeyRef:\n  name: app-secrets\n  key: password\n",
        "    pass\n", "TOKEN_EXPIRY_SECONDS = 3600\n", "auth = 'basic'\n", "// TODO: read the password from the vault\n",
    ]
    for i, t in enumerate(code):
        add("code", f"code{i}.py", t)
    digests = [
        f"password_hash_sha256 = '{hexs(64)}'\n", f"commit: {hexs(40)}\n", f"client_id = '{rnd(8, '0123456789abcdef')}-{hexs(4)}-{hexs(4)}-{hexs(4)}-{hexs(12)}'\n",
        f'"integrity": "sha512-{b64(64)}"\n', f"checksum: {hexs(32)}\n", f"token_fingerprint = '{hexs(40)}'\n",
        f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ{b64(60)} user@host\n",
        f"-----BEGIN CERTIFICATE-----\nMIID{b64(45)}\n-----END CERTIFICATE-----\n",
        f"-----BEGIN PUBLIC KEY-----\nMIIBIjANBg{b64(45)}\n-----END PUBLIC KEY-----\n",
        f"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBG{b64(45)}\n-----END PGP PUBLIC KEY BLOCK-----\n",
        "  tls.crt: " + base64.b64encode(f"-----BEGIN CERTIFICATE-----\nMIID{b64(45)}\n".encode()).decode() + "\n",
        f"age_recipient: age1{rnd(58, 'qpzry9x8gf2tvdw0s3jn54khce6mua7l')}\n",
        f'"x": "{b64(32).rstrip("=")}", "kty": "EC"\n',
    ]
    for i, t in enumerate(digests):
        add("public-or-digest", f"data{i}.yaml", t)
    near = [
        'password = "aaaaaaaaaaaa"\n', 'api_key = "abcdefghijklmnop"\n', 'secret = "1234567890123456"\n',
        'token = "abcabcabcabcabc"\n', 'password = "qwertyuiop"\n', "password = 'password123'\n",
        "api_key = 'test_key_123'\n", 'password = "Password1"\n' if False else 'password = "admin123"\n',
        "admin:$apr1$salt$\n", "root:$6$short$abc:19700:0:99999:7:::\n", "$2b$12$tooshort\n",
        "DATABASE_URL=postgres://user:password@localhost:5432/app\n", "redis://localhost:6379/0\n",
        "https://user@github.com/org/repo.git\n", "mysql -u root -p app\n", "sshpass -f ~/.sshpass ssh host\n",
        "machine github.com login ci password $GITHUB_TOKEN\n", "*:*:*:postgres:$PGPASS\n",
        "-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----\n",
        "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n",
        "ENV DB_PASSWORD=\"\"\n", "curl -u admin: https://ci/\n", 'auth = ("user", "")\n',
        "GRANT SELECT ON app.* TO 'report'@'%';\n", "-- the password is identified by the server\n",
        "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n<private key here>\n",
    ]
    for i, t in enumerate(near):
        add("near-miss", f"near{i}.cfg", t)
    return out


def build(out: Path) -> list[dict[str, object]]:
    if out.exists():
        for p in sorted(out.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    manifest: list[dict[str, object]] = []
    for label, items in (("pos", positives()), ("neg", negatives())):
        for i, (kind, name, text) in enumerate(items):
            rel = f"{label}/{i:03d}-{kind}/{name}"
            path = out / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            manifest.append({"path": rel, "label": label, "kind": kind})
    (out.parent / "scan-examples-manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def score(manifest: list[dict[str, object]], flagged_files: set[str]) -> dict[str, object]:
    pos = [m for m in manifest if m["label"] == "pos"]
    neg = [m for m in manifest if m["label"] == "neg"]
    tp = [m for m in pos if m["path"] in flagged_files]
    fp = [m for m in neg if m["path"] in flagged_files]
    missed: dict[str, int] = {}
    for m in pos:
        if m["path"] not in flagged_files:
            missed[str(m["kind"])] = missed.get(str(m["kind"]), 0) + 1
    return {
        "recall": len(tp) / len(pos),
        "found": len(tp),
        "positives": len(pos),
        "negatives_flagged": len(fp),
        "negatives": len(neg),
        "missed": missed,
        "flagged_negatives": sorted(str(m["path"]) for m in fp),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["build", "score"])
    parser.add_argument("--tools", default="gitvault,betterleaks,kingfisher,detect-secrets")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--tree", type=Path, help="gitvault checkout to measure (default: here)")
    args = parser.parse_args()
    if args.action == "build":
        m = build(OUT)
        print(f"{OUT}: {sum(1 for x in m if x['label'] == 'pos')} positives, {sum(1 for x in m if x['label'] == 'neg')} negatives")
        return
    sys.path.insert(0, str(HERE))
    import run  # the runners of the main benchmark

    if args.tree:
        run.TREE = args.tree.resolve()

    manifest = json.loads((OUT.parent / "scan-examples-manifest.json").read_text())
    results: dict[str, dict[str, object]] = {}
    for tool in [t for t in args.tools.split(",") if t]:
        try:
            hits = run.RUNNERS[tool](OUT)
        except FileNotFoundError as exc:
            print(f"skipping {tool}: {exc} not installed")
            continue
        files = {p for p, _ in hits}
        results[tool] = score(manifest, files)
    print(f"{'scanner':16} {'recall':>14} {'negatives flagged':>20}")
    for tool, r in results.items():
        print(
            f"{tool:16} {r['found']:>4}/{r['positives']:<4} {float(r['recall']) * 100:5.1f}% "  # type: ignore[arg-type]
            f"{r['negatives_flagged']:>6}/{r['negatives']:<4} {r['negatives_flagged'] / r['negatives'] * 100:5.1f}%"  # type: ignore[operator]
        )
        if r["missed"]:
            print(f"{'':16} missed: {r['missed']}")
        if r["flagged_negatives"]:
            print(f"{'':16} flagged: {r['flagged_negatives'][:12]}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
