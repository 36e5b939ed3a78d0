"""Package registries and container registries: npm, PyPI, RubyGems, Docker, NuGet, Clojars."""

from __future__ import annotations

from gitvault.scan.rules import Rule

RULES: tuple[Rule, ...] = (
    Rule(
        id="npm-token",
        description="npm access token",
        family="registry",
        pattern=r"\b(?P<secret>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9_])",
        hs_pattern=r"npm_[A-Za-z0-9]{36}",
        keywords=("npm_",),
        examples=(
            "//registry.npmjs.org/:_authToken=npm_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB",
            "NPM_TOKEN=npm_FqaDZeV7G5IfQHeVVEqZe2qpUWnoVPDF2yeQ",
        ),
        negative_examples=(
            "NPM_TOKEN=npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "npm_config_cache",
        ),
    ),
    Rule(
        id="npmrc-auth-token",
        description="registry auth token in an .npmrc",
        family="registry",
        pattern=r"(?m)(?:^[ \t]*|:)_auth(?:Token)?[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/=_.-]{20,})",
        hs_pattern=r"(?m)(?:^[ \t]*|:)_auth(?:Token)?[ \t]*=[ \t]*[A-Za-z0-9+/=_.-]{20}",
        keywords=("_auth",),
        entropy=3.5,
        examples=("//npm.pkg.github.com/:_authToken=KjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5",),
        negative_examples=(
            "exports.SOCKS5_NO_ACCEPTABLE_AUTH = exports.SOCKS5_CUSTOM_AUTH_START_ID = 1;",
            "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "//registry.npmjs.org/:_authToken=",
        ),
    ),
    Rule(
        id="pypi-token",
        description="PyPI upload token",
        family="registry",
        pattern=r"\b(?P<secret>pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,})",
        hs_pattern=r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50}",
        keywords=("pypi-ageichlwas5vcmc",),
        severity="critical",
        examples=(
            "password = pypi-AgEIcHlwaS5vcmcCJDRmMGM5YTU1LTFiMmUtNGMxZC05YzNlLTJhN2I4ZDZlNWY0MQ"
            "ACKlsxLFsicHJvamVjdHMiXV0AAAYgiSPOcSeVce2LWxm090I5Qe43",
        ),
        negative_examples=("password = pypi-AgEIcHlwaS5vcmc<rest-of-token>",),
    ),
    Rule(
        id="test-pypi-token",
        description="TestPyPI upload token",
        family="registry",
        pattern=r"\b(?P<secret>pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50,})",
        hs_pattern=r"pypi-AgENdGVzdC5weXBpLm9yZw[A-Za-z0-9_-]{50}",
        keywords=("pypi-agendgvzdc5wexbplm9yzw",),
        examples=(
            "TWINE_PASSWORD=pypi-AgENdGVzdC5weXBpLm9yZwIkNGYwYzlhNTUtMWIyZS00YzFkLTljM2UtMmE3YjhkNm"
            "U1ZjQxAAIqWzMsIjEyMyJdAAAGIFmdX2",
        ),
        negative_examples=("TWINE_PASSWORD=pypi-AgENdGVzdC5weXBpLm9yZw...",),
    ),
    Rule(
        id="rubygems-api-key",
        description="RubyGems API key",
        family="registry",
        pattern=r"\b(?P<secret>rubygems_[a-f0-9]{48})\b",
        keywords=("rubygems_",),
        examples=(":rubygems_api_key: rubygems_7c6f561c5cb347611a3ce9d97dcbee500fe7ee5fc324bdb2",),
        negative_examples=(":rubygems_api_key: rubygems_" + "0" * 48,),
    ),
    Rule(
        id="docker-hub-pat",
        description="Docker Hub personal access token",
        family="registry",
        pattern=r"\b(?P<secret>dckr_pat_[A-Za-z0-9_-]{27})(?![A-Za-z0-9_-])",
        keywords=("dckr_pat_",),
        examples=(
            "echo dckr_pat_ogoEmvnEN5N1aE6PwZPf1Qh6yYT | docker login -u acme --password-stdin",
        ),
        negative_examples=("DOCKER_TOKEN=dckr_pat_<token>",),
    ),
    Rule(
        id="docker-config-auth",
        description="registry credentials in a Docker config.json (base64 user:password)",
        family="registry",
        pattern=r"\"auth\"[ \t]*:[ \t]*\"(?P<secret>[A-Za-z0-9+/]{16,}={0,2})\"",
        hs_pattern=r"\"auth\"[ \t]*:[ \t]*\"[A-Za-z0-9+/]{16}",
        keywords=('"auth"',),
        validator="basic-auth",
        examples=('{"auths": {"ghcr.io": {"auth": "YWNtZTpTM2NyM3RQNHNzdzByZCE="}}}',),
        negative_examples=(
            '{"auths": {"ghcr.io": {"auth": "bm90aGluZyB0byBzZWUgaGVyZQ=="}}}',  # no user:password
            '"auth": "required"',
        ),
    ),
    Rule(
        id="nuget-api-key",
        description="NuGet API key",
        family="registry",
        pattern=r"\b(?P<secret>oy2[a-z0-9]{43})\b",
        keywords=("oy2",),
        entropy=3.5,
        examples=(
            "dotnet nuget push pkg.nupkg --api-key oy2kdnnfribxudl7dxtpylsnxsivpzz63ffkczjr4i0b3k",
        ),
        negative_examples=("--api-key oy2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",),
    ),
    Rule(
        id="clojars-token",
        description="Clojars deploy token",
        family="registry",
        pattern=r"\b(?P<secret>CLOJARS_[a-z0-9]{60})\b",
        keywords=("clojars_",),
        examples=(
            "password: CLOJARS_80b891baf90d0d3bf16295d06910bf3f5fb85967f532f3ab3cc2d0b698d5",
        ),
        negative_examples=("CLOJARS_USERNAME=acme",),
    ),
    Rule(
        id="artifactory-token",
        description="JFrog Artifactory API key or reference token",
        family="registry",
        pattern=r"\b(?P<secret>(?:AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56}))\b",
        keywords=("akcp", "cmvmdgtu"),
        entropy=3.5,
        examples=(
            "ARTIFACTORY_API_KEY=AKCp8GOsDbjqMVzaVp62BSKLVPA2oQUP44XPSL2oRlPhDBuqOSg5ApYzTTOkq2BEDbN2A1Lq9",
        ),
        negative_examples=("ARTIFACTORY_API_KEY=AKCp<key>",),
    ),
)
