# ruff: noqa: E501 -- rule data: example tokens are long literals
"""Cloud providers: AWS, Google Cloud, Azure, DigitalOcean, Alibaba, Heroku and friends."""

from __future__ import annotations

from gitvault.scan.rules import Rule

# A short separator between a name and its value: quotes, colon, equals, spaces.
_SEP = r"""[\"']?[ \t]*(?:=|:|:=|=>|,)[ \t]*[\"'`]?"""

RULES: tuple[Rule, ...] = (
    Rule(
        id="aws-access-key-id",
        description="AWS access key ID",
        family="cloud",
        pattern=r"\b(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})\b",
        keywords=("akia", "asia", "abia", "acca", "a3t"),
        examples=(
            "aws_access_key_id = AKIA2V27IWMPFLV3FUPX",
            '"AccessKeyId": "ASIATTOF7JYU5JSJC6I7"',
        ),
        negative_examples=(
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "AKIA is the prefix of long-term key ids",
            "id = AKIA2V21I9MPFLV3FUPXQQ",  # too long: not an access key id
        ),
    ),
    Rule(
        id="aws-secret-access-key",
        description="AWS secret access key",
        family="cloud",
        pattern=r"(?i)aws[\w.-]{0,20}(?:secret|sk)[\w.-]{0,20}"
        + _SEP
        + r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        hs_pattern=r"(?i)aws[\w.-]{0,20}(?:secret|sk)[\w.-]{0,20}" + _SEP + r"[A-Za-z0-9/+]{40}",
        keywords=("aws",),
        entropy=3.5,
        validator="not-hex-digest",
        severity="critical",
        examples=(
            "aws_secret_access_key = F+vauP7+L7V21jxUdcfQm9/seB1qRmUR8AK3R2Gg",
            'AWS_SECRET_ACCESS_KEY: "r5pyzPCB9t2039bicBTW5ZE9LFaez7770H2DCpYg"',
        ),
        negative_examples=(
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
            "aws_secret_sha = 7443e210471948d33296c87009e8a7f770d9106f",
        ),
    ),
    Rule(
        id="aws-session-token",
        description="AWS session token",
        family="cloud",
        pattern=r"(?i)aws[\w.-]{0,10}session[\w.-]{0,10}token"
        + _SEP
        + r"(?P<secret>[A-Za-z0-9/+=]{100,})",
        hs_pattern=r"(?i)aws[\w.-]{0,10}session[\w.-]{0,10}token" + _SEP + r"[A-Za-z0-9/+=]{100}",
        keywords=("session",),
        entropy=4.0,
        examples=(
            "aws_session_token = FwoGZXIvYXdzEJr//////////wEaDPe0IgxLd6GnKdNnFRIBXuDL7DxtpYlS"
            "nXsiVpzz63FfkCzJr4i0B3KjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5N1aE6PwZPf1Qh6yYT",
        ),
        negative_examples=(
            "aws_session_token = ${AWS_SESSION_TOKEN}",
            "aws_session_token = None",
        ),
    ),
    Rule(
        id="gcp-api-key",
        description="Google API key",
        family="cloud",
        pattern=r"\b(?P<secret>AIza[0-9A-Za-z_-]{35})(?![0-9A-Za-z_-])",
        hs_pattern=r"AIza[0-9A-Za-z_-]{35}",
        keywords=("aiza",),
        examples=(
            'const firebaseKey = "AIzaFqaDZeV7G5IfQHeVVEqZe2qpUWnoVPDF2ye";',
            "GOOGLE_API_KEY=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        ),
        negative_examples=(
            "key = AIzaSyXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
            "# keys look like AIza followed by 35 characters",
        ),
    ),
    Rule(
        id="gcp-oauth-client-secret",
        description="Google OAuth client secret",
        family="cloud",
        pattern=r"\b(?P<secret>GOCSPX-[A-Za-z0-9_-]{28})(?![A-Za-z0-9_-])",
        keywords=("gocspx-",),
        examples=('"client_secret": "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"',),
        negative_examples=('"client_secret": "GOCSPX-<your-client-secret>"',),
    ),
    Rule(
        id="gcp-service-account-key",
        description="Google Cloud service-account private key (JSON)",
        family="cloud",
        pattern=r"\"private_key\"[ \t]*:[ \t]*\"(?P<secret>-----BEGIN PRIVATE KEY-----\\n"
        r"[A-Za-z0-9+/=]{40,})",
        hs_pattern=r"\"private_key\"[ \t]*:[ \t]*\"-----BEGIN PRIVATE KEY-----\\n[A-Za-z0-9+/=]{40}",
        keywords=("private_key",),
        severity="critical",
        examples=(
            '  "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'
            'BKcwggSjAgEAAoIBAQC7yPM9\\n",',
        ),
        negative_examples=(
            '  "private_key": "",',
            '  "private_key_id": "1e558e08baa7196b50ac2f86702824c1c0",',
        ),
    ),
    Rule(
        id="gcp-oauth-refresh-token",
        description="Google OAuth refresh token",
        family="cloud",
        pattern=r"(?<![A-Za-z0-9_-])(?P<secret>1//0[A-Za-z0-9_-]{40,})",
        hs_pattern=r"1//0[A-Za-z0-9_-]{40}",
        keywords=("1//0",),
        entropy=3.5,
        examples=('refresh_token = "1//0gMjAdTdlzC5T4uUhf7kvmlP7HVDctQUy1xvCkgafrfwA"',),
        negative_examples=("see https://example.com/1//0 for details", "1//0" + "a" * 44),
    ),
    Rule(
        id="azure-storage-account-key",
        description="Azure storage account key",
        family="cloud",
        pattern=r"(?i)AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)",
        keywords=("accountkey",),
        severity="critical",
        examples=(
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey="
            "LLT+ZQISA+pQyOMqlfZZgZMnafy8hWskBf6wmxe1mbVrNHMx1eOc3g+fp1Z5ibXt80nk8Btb2abplBpq8cJF5x==;"
            "EndpointSuffix=core.windows.net",
        ),
        negative_examples=(
            "AccountName=devstoreaccount1;AccountKey=<account-key>",
            "AccountKey=${STORAGE_KEY}",
        ),
    ),
    Rule(
        id="azure-shared-access-key",
        description="Azure Service Bus / Event Hubs / IoT shared access key",
        family="cloud",
        pattern=r"(?i)SharedAccessKey=(?P<secret>[A-Za-z0-9+/]{42,43}=)",
        keywords=("sharedaccesskey",),
        examples=(
            "Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=send;"
            "SharedAccessKey=MjAdTdlzC5T4uUhf7kvmlP7HVDctQUy1xvCkgafrfwA=",
        ),
        negative_examples=("SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>",),
    ),
    Rule(
        id="azure-sas-token",
        description="Azure shared access signature",
        family="cloud",
        pattern=r"(?i)[?&]sv=20\d\d-\d\d-\d\d&[^\s\"']{0,200}?sig=(?P<secret>[A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})",
        hs_pattern=r"(?i)[?&]sv=20\d\d-\d\d-\d\d&[^\s\"']{0,200}?sig=[A-Za-z0-9%+/]{40}",
        keywords=("sig=",),
        examples=(
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2030-01-01"
            "&sig=yvHNsG9eh6Yo4gfqrc5XlrWi0B26R08qKjIg8xNbe3nN%3D",
        ),
        negative_examples=(
            "https://acme.blob.core.windows.net/c/f.txt?sv=2022-11-02&sig=<signature>",
        ),
    ),
    Rule(
        id="azure-ad-client-secret",
        description="Microsoft Entra ID (Azure AD) client secret",
        family="cloud",
        pattern=r"(?<![A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34})"
        r"(?![A-Za-z0-9_~.-])",
        hs_pattern=r"[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31}",
        keywords=("q~",),
        entropy=3.5,
        examples=(
            'AZURE_CLIENT_SECRET="abC8Q~ogoEmvnEN5N1aE6PwZPf1Qh6yYTKjIg8x"',
            "client_secret: Xy_8Q~KdNnFRIBXuDL7DxtpYlS.nXsiVpzz63F",
        ),
        negative_examples=("the secret looks like abc8Q~ followed by 34 characters",),
    ),
    Rule(
        id="digitalocean-token",
        description="DigitalOcean personal access, OAuth or refresh token",
        family="cloud",
        pattern=r"\b(?P<secret>do[por]_v1_[a-f0-9]{64})\b",
        keywords=("dop_v1_", "doo_v1_", "dor_v1_"),
        examples=(
            "DIGITALOCEAN_TOKEN=dop_v1_5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8",
        ),
        negative_examples=("DIGITALOCEAN_TOKEN=dop_v1_" + "0" * 64,),
    ),
    Rule(
        id="alibaba-access-key-id",
        description="Alibaba Cloud AccessKey ID",
        family="cloud",
        pattern=r"\b(?P<secret>LTAI[A-Za-z0-9]{12,20})\b",
        keywords=("ltai",),
        entropy=3.0,
        examples=("access_key_id: LTAI5tKdNnFRIBXuDL7Dxt",),
        negative_examples=("LTAI is the prefix of Alibaba access key ids", "LTAIXXXXXXXXXXXXXXXX"),
    ),
    Rule(
        id="heroku-api-key",
        description="Heroku API key",
        family="cloud",
        pattern=r"(?i)(?:heroku[\w.-]{0,20}(?:key|token|secret)[\w.-]{0,10}"
        + _SEP
        + r"(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
        r"|(?P<secret2>HRKU-[A-Za-z0-9_-]{60}))",
        keywords=("heroku", "hrku-"),
        examples=(
            "HEROKU_API_KEY=4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41",
            "token: HRKU-AAiSPOcSeVce2LWxm090I5Qe43W6T8ygpnnhcc826ZWOf0WOOsEgigYWPnsuv",
        ),
        negative_examples=(
            "heroku_app_id = 4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41",
            "HEROKU_API_KEY=${HEROKU_API_KEY}",
        ),
    ),
)
