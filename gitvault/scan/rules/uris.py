# ruff: noqa: E501 -- rule data: example credentials are long literals
"""Credentials in connection strings, command lines and calls that take a password.

No name like ``password =`` sits next to these values; the context is the syntax
itself: ``user/pass@`` in an Oracle JDBC URL, ``Pwd=`` in an ODBC string, ``-p`` after
``mysql``, the second string argument of ``HTTPBasicAuth(…)``. Every match still
passes the generic filters (placeholders, references, near-misses). All example
credentials are invented.
"""

from __future__ import annotations

from gitvault.scan.rules import Rule
from gitvault.scan.rules._kit import rule

_VAL = r"""[^\s"'`$<>{}|;&()\\]"""  # a bare command-line value: no quoting, no expansion
_QVAL = r"""[^"'`\s\\]"""  # inside quotes


_rule = rule


# Listed after the specific connection-string and Authorization rules of `generic`,
# so those keep their claim on the bytes they match (see generic.LATE_RULES).
LATE_RULES: tuple[Rule, ...] = (
    _rule(
        "connection-string-password-first",
        "password in an ADO.NET/ODBC/JDBC connection string (any key order, braces)",
        r"(?i)(?:^|[;\"'\s(])(?:password|pwd)[ \t]*=[ \t]*(?P<secret>\{[^}\r\n]{3,128}\}|[^;\"'\s{}]{3,128})[ \t]*;"
        r"[^\r\n]{0,200}?(?:user id|userid|uid|user|username|server|data source|host|database|initial catalog|port|dbname|driver)[ \t]*=",
        ("password", "pwd"),
        (
            "Password=Rk7Zp1Ys9H;User ID=app;Data Source=db01;Initial Catalog=shop",
            '"Pwd=Xq2Lm8v!Tz;Uid=app;Server=tcp:db,1433;Driver={ODBC Driver 18 for SQL Server}"',
        ),
        (
            "Password=<password>;User ID=app;Data Source=db01",
            "Password=;User ID=app;Server=db01",
            "Pwd=%DB_PWD%;Uid=app;Server=db01",
        ),
    ),
    _rule(
        "cli-header-credential",
        "credential in an HTTP header on a command line or in code (-H 'X-Api-Key: …')",
        r"(?:-H|--header|[Hh]eaders?\.(?:set|add|append)\(|setRequestHeader\()[ \t]*[\"']?"
        r"(?P<name>(?i:[\w-]*(?:key|token|secret|auth|password|session)[\w-]*))[\"']?[ \t]*[:,][ \t]*[\"']?"
        r"(?i:(?:token|bearer|basic|apikey|key)[ \t=]+)?(?P<secret>[^\s\"'$<>{}(),;]{8,256})",
        ("-h", "header", "setrequestheader"),
        (
            "curl -H 'X-Api-Key: Hq3xT9pLzUe1wKc8mZr4N' https://api.service.test/v1",
            'curl --header "X-Auth-Token: Rk7Zp1Ys9Hb3Mf6Ue0DqWc" https://api.test',
            "xhr.setRequestHeader('X-Auth-Token', 'Wz4rKp9LmXq2Lm8vTz7b');",
        ),
        (
            "curl -H 'X-Api-Key: $API_KEY' https://api",
            "curl -H 'Authorization: Bearer <token>'",
            'self.headers.set("WWW-Authenticate", value)',
        ),
        entropy=3.0,
    ),
)

RULES: tuple[Rule, ...] = (
    _rule(
        "jdbc-oracle-password",
        "password in an Oracle JDBC URL or sqlplus/RMAN connect string (user/pass@db)",
        r"(?i)(?:jdbc:oracle:[a-z]+:|\b(?:sqlplus|rman|expdp|impdp|sqlldr|exp|imp)[ \t]+(?:-[sSlL][ \t]+)*|\bconnect[ \t]+)"
        r"[\"']?[\w$#.-]{1,64}/(?P<secret>[^\s@/\"'`$<>{}]{3,128})@",
        ("jdbc:oracle", "sqlplus", "rman", "expdp", "impdp", "sqlldr", "exp", "imp", "connect"),
        (
            "url=jdbc:oracle:thin:scott/Tg7kLm2pQx@db.internal:1521/ORCL",
            "sqlplus -s app_owner/Wz4rKp9Lm@PRODDB @deploy.sql",
        ),
        (
            "url=jdbc:oracle:thin:@db.internal:1521/ORCL",
            "sqlplus -s ${DB_USER}/${DB_PASS}@PRODDB",
            "sqlplus scott/tiger@orcl",
        ),
    ),
    _rule(
        "connection-string-password-braced",
        "password in braces in an ODBC connection string",
        r"(?i)(?:uid|user id|user|server|driver)[ \t]*=[^\r\n]{0,200}?;[ \t]*(?:password|pwd)[ \t]*=[ \t]*(?P<secret>\{[^}\r\n]{3,128}\})",
        ("password", "pwd"),
        ("Driver={PostgreSQL Unicode};Server=db;Uid=app;Pwd={Hq3;xT9pL!};",),
        ("Driver={PostgreSQL Unicode};Server=db;Uid=app;Pwd={your_password};",),
        hs_pattern=r"(?i)(?:password|pwd)[ \t]*=[ \t]*\{[^}\r\n]{3}",
    ),
    _rule(
        "libpq-keyword-password",
        "password in a libpq / DSN keyword string (host=… user=… password=…)",
        r"(?i)\b(?:host|hostaddr|dbname|user|port|service)=[^\s\"',()]+[ \t]+(?:[a-z_]+=[^\s\"',()]*[ \t]+){0,6}?password=(?P<q>')?(?P<secret>[^\s\"',()]{3,128})",
        ("password=",),
        (
            'conn = psycopg2.connect("host=db.internal dbname=shop user=app password=Hq3xT9pLz")',
            "DSN: host=10.0.0.5 port=5432 user=report password=Ue1wKc8mZr sslmode=require",
        ),
        ("host=db user=app password=$PGPASSWORD", "host=db user=app password=%s"),
    ),
    _rule(
        "mysql-cli-password",
        "password on a mysql/mariadb command line (-pSECRET, --password=SECRET)",
        r"\b(?i:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mysqlpump|mysqlsh|mariadb|mariadb-dump|mydumper|myloader)\b"
        r"[^\r\n|;&]{0,200}?[ \t](?:-p|--password=)(?P<q>['\"])?(?P<secret>" + _VAL + r"{3,128})",
        ("mysql", "mariadb", "mydumper", "myloader"),
        (
            "mysql -h db.internal -u root -pHq3xT9pLz shop < dump.sql",
            "mysqldump -uapp --password='Ue1wKc8mZr' --single-transaction shop",
            "alias dbprod='mysql -u admin -pWz4rKp9Lm -h 10.0.0.7'",
        ),
        (
            "mysql -u root -p shop",
            "mysql -u root -p$MYSQL_ROOT_PASSWORD shop",
            "mysql -h db -P 3306 -u app -p",
        ),
    ),
    _rule(
        "sshpass-password",
        "password given to sshpass -p",
        r"\bsshpass[ \t]+(?:-[a-oq-zA-Z][ \t]+\S+[ \t]+)*-p[ \t]*(?P<q>['\"])?(?P<secret>"
        + _VAL
        + r"{3,128})",
        ("sshpass",),
        (
            "sshpass -p 'Hq3xT9pLz' ssh deploy@10.0.0.5",
            "sshpass -pUe1wKc8mZr scp build.tgz ci@host:/srv",
        ),
        ('sshpass -p "$SSH_PASS" ssh deploy@host', "sshpass -f ~/.pw ssh host"),
    ),
    _rule(
        "cli-password-flag",
        "password, token or key passed as a command-line flag",
        r"(?i)(?:^|[ \t\"'=(\[,])--?(?P<name>(?:[a-z0-9]+-)?(?:password|passwd|passphrase|pass|pwd|token|api-?key|secret|client-secret|auth-token|access-token|access-key|secret-key|private-key-passphrase|storepass|keypass|srcstorepass|deststorepass|srckeypass|destkeypass|bearer))"
        r"(?:[ \t]+|=)(?P<q>['\"])?(?P<secret>" + _VAL + r"{4,256})",
        ("pass", "pwd", "token", "api", "secret", "key"),
        (
            "wget --user=ci --password=Hq3xT9pLz https://files.internal/build.tgz",
            "keytool -importkeystore -srcstorepass Ue1wKc8mZr -deststorepass Wz4rKp9Lm",
            "vault login --token=Rk7Zp1Ys9Hb3Mf6Ue0Dq",
            "ghost-cli --admin-password 'Xq2Lm8vTz!'",
        ),
        (
            "parser.add_argument('--password', help='database password')",
            "docker login --password-stdin",
            "app --token $TOKEN",
            "app --password <password>",
            "app --password=${PASSWORD}",
            "--pass-through --token-file /run/token",
        ),
    ),
    _rule(
        "cli-openssl-pass",
        "passphrase in an openssl -pass/-passin/-passout pass: argument",
        r"(?i)-(?:passin|passout|pass|password|k)[ \t]+[\"']?pass:(?P<secret>[^\s\"'$]{3,128})",
        ("pass:",),
        ("openssl pkcs12 -export -in c.pem -out c.p12 -passout pass:Hq3xT9pLz",),
        ("openssl rsa -in k.pem -passin pass:$KEY_PASS", "openssl rsa -passin env:KEY_PASS"),
    ),
    _rule(
        "env-prefix-command",
        "secret environment variable set inline before a command (PGPASSWORD=… psql)",
        r"(?:^|[ \t;&|(`])(?P<name>[A-Z][A-Z0-9_]*(?:PASSWORD|PASSWD|PASS|PWD|TOKEN|SECRET|API_KEY|APIKEY|ACCESS_KEY)[A-Z0-9_]*)="
        r"(?P<q>['\"])?(?P<secret>" + _VAL + r"{4,256})['\"]?[ \t]+(?:[a-z./~][\w./-]*)",
        ("pass", "pwd", "token", "secret", "api", "key"),
        (
            "PGPASSWORD=Hq3xT9pLz psql -h db -U app shop",
            "  GITHUB_TOKEN='Rk7Zp1Ys9Hb3Mf6Ue0Dq' ./release.sh",
        ),
        ("PGPASSWORD=$DB_PASS psql -h db", "API_TOKEN=changeme ./run.sh"),
    ),
    _rule(
        "powershell-securestring",
        "plaintext password turned into a SecureString in PowerShell",
        r"(?i)ConvertTo-SecureString(?:[ \t]+-(?:String|AsPlainText|Force))*[ \t]+(?P<q>\\?[\"'])(?P<secret>[^\"'\s$`\\]{4,128})\\?[\"']",
        ("convertto-securestring",),
        (
            '$pw = ConvertTo-SecureString "Hq3xT9pLz!" -AsPlainText -Force',
            "ConvertTo-SecureString -String 'Ue1wKc8mZr' -AsPlainText -Force",
        ),
        (
            "$pw = ConvertTo-SecureString $env:DB_PASS -AsPlainText -Force",
            '$pw = ConvertTo-SecureString "$plain" -AsPlainText -Force',
        ),
    ),
    _rule(
        "net-user-password",
        "password on a Windows net user / runas-style command",
        r"(?i)\bnet[ \t]+user[ \t]+[\w.$-]{1,64}[ \t]+(?P<secret>[^\s/*\"'%]{4,128})[ \t]+/(?:add|domain|y)",
        ("net",),
        ("net user svc_backup Hq3xT9pLz! /add",),
        ("net user svc_backup * /add", "net user %USER% %PASS% /add"),
    ),
    _rule(
        "call-user-password-pair",
        "username and password passed to an auth class or login call",
        r"(?i)\b(?:HTTPBasicAuth|HTTPDigestAuth|HTTPProxyAuth|BasicAuth|DigestAuth|NetworkCredential|UsernamePasswordCredentials"
        r"|PasswordAuthentication|UsernamePasswordAuthenticationToken|PasswordCredential|BasicAWSCredentials|AwsBasicCredentials\.create"
        r"|StaticCredentialsProvider|basic_auth|basicAuth|http_auth|setCredentials|withCredentials|getConnection|login|simple_bind_s|simple_bind|bind_s"
        r"|FTP_TLS|FTP|SMTP_SSL|Net::FTP\.new|PSCredential|auth)[ \t]*(?:=[ \t]*)?[(\[][ \t]*(?:(?:[^,()\[\]\"'\r\n]{1,100}|[\"'][^\"'\r\n]{0,200}[\"'])[ \t]*,[ \t]*)?"
        r"[\"'](?P<user>[^\"'\r\n]{1,64})[\"'][ \t]*,[ \t]*(?P<q>[\"'])(?P<secret>"
        + _QVAL
        + r"{3,128})[\"']",
        ("auth", "credential", "login", "connection", "bind", "ftp", "smtp"),
        (
            "r = requests.get(url, auth=HTTPBasicAuth('svc', 'Hq3xT9pLz'))",
            "requests.post(url, auth=('deploy', 'Ue1wKc8mZr'))",
            'var cred = new NetworkCredential("svc_mail", "Wz4rKp9Lm!");',
            'Connection c = DriverManager.getConnection(url, "app", "Rk7Zp1Ys9H");',
            'DriverManager.getConnection("jdbc:postgresql://db/app", "app", "ivT6x-V4#aKKVN5q");',
            "server.login('alerts@corp.test', 'Xq2Lm8vTz7')",
            "es = Elasticsearch(hosts, http_auth=('elastic', 'Tg7kLm2pQx'))",
        ),
        (
            "requests.get(url, auth=(user, password))",
            "requests.get(url, auth=('user', 'password'))",
            "server.login(os.environ['USER'], os.environ['PW'])",
            "auth=('admin', '')",
        ),
    ),
    _rule(
        "call-set-password",
        "password, token or key passed to a setter or builder call",
        r"(?i)(?:\.|\b)(?P<name>(?:set|with|put)_?[a-z_]*(?:password|passwd|passphrase|pass|pwd|secret|token|api_?key|credentials?)|password|passwd|api_?key|secret_?key)"
        r"[ \t]*\([ \t]*(?:@|[rbu])?(?P<q>[\"'])(?P<secret>"
        + _QVAL
        + r"{4,256})[\"'][ \t]*(?:\)|\.toCharArray|,)",
        ("set", "with", "put", "pass", "api", "secret"),
        (
            'dataSource.setPassword("Hq3xT9pLz");',
            'builder.withApiKey("Rk7Zp1Ys9Hb3Mf6Ue0Dq").build()',
            'client = Client.builder().password("Ue1wKc8mZr").build();',
            'props.put_password("Xq2Lm8vTz7!")',
        ),
        (
            'ds.setPassword(System.getenv("DB_PASSWORD"));',
            'ds.setPassword("");',
            'form.setPasswordLabel("Password");',
            'ds.setPassword("${db.password}");',
        ),
        hs_pattern=r"(?i)(?:password|passwd|passphrase|pass|pwd|secret|token|api_?key|credentials?)[ \t]*\([ \t]*(?:@|[rbu])?[\"'][^\"'`\s\\]{4}",
    ),
    _rule(
        "curl-setopt-credential",
        "credential passed to libcurl (CURLOPT_PASSWORD, CURLOPT_USERPWD, CURLOPT_XOAUTH2_BEARER …)",
        r"\bCURLOPT_(?:PASSWORD|PROXYPASSWORD|KEYPASSWD|SSLKEYPASSWD|TLSAUTH_PASSWORD|XOAUTH2_BEARER"
        r"|(?:PROXY)?USERPWD)[ \t]*,[ \t]*(?:L|u8|u)?(?P<q>\")(?:[^\":\r\n]{1,64}:)?(?P<secret>[^\"\r\n]{4,256})\"",
        ("curlopt_",),
        (
            '    curl_easy_setopt(curl, CURLOPT_PASSWORD, "KiASRCRiGFLPDiIdZZLBXaNzXCMEdYIs");',
            '    curl_easy_setopt(curl, CURLOPT_USERPWD, "root:dkb82VddSD");',
        ),
        (
            "curl_easy_setopt(curl, CURLOPT_PASSWORD, password);",
            'curl_easy_setopt(c, CURLOPT_USERPWD, "user:");',
        ),
    ),
    _rule(
        "authorization-ntlm",
        "NTLM / Negotiate credentials in an Authorization header",
        r"(?i)\b(?:authorization|proxy-authorization)[\"']?[ \t]*[:=][ \t]*[\"']?(?:NTLM|Negotiate)[ \t]+(?P<secret>[A-Za-z0-9+/]{20,}={0,2})",
        ("ntlm", "negotiate"),
        (
            "Authorization: NTLM TlRMTVNTUAADAAAAGAAYAEgAAAAYABgAYAAAAA==",
            "Proxy-Authorization: Negotiate YIIHfwYGKwYBBQUCoIIHczCCB2+gMDAuBgkqhkiC9xIBAgIGCSqGSIb3",
        ),
        ("Authorization: NTLM <token>", "Authorization: Negotiate $TOKEN"),
        entropy=2.5,
    ),
)
