"""Code hosts and CI: GitHub, GitLab, Bitbucket/Atlassian."""

from __future__ import annotations

from gitvault.scan.rules import Rule

_TAIL = r"(?![A-Za-z0-9_])"

RULES: tuple[Rule, ...] = (
    Rule(
        id="github-pat",
        description="GitHub personal access token (classic)",
        family="code-host",
        pattern=r"\b(?P<secret>ghp_[A-Za-z0-9]{36})" + _TAIL,
        hs_pattern=r"ghp_[A-Za-z0-9]{36}",
        keywords=("ghp_",),
        examples=(
            "GITHUB_TOKEN=ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB",
            "git clone https://ghp_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB@github.com/acme/app",
        ),
        negative_examples=(
            "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "tokens start with ghp_ and are 40 characters long",
        ),
    ),
    Rule(
        id="github-fine-grained-pat",
        description="GitHub fine-grained personal access token",
        family="code-host",
        pattern=r"\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})" + _TAIL,
        hs_pattern=r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}",
        keywords=("github_pat_",),
        examples=(
            "token: github_pat_nXsiVpzz63FfkCzJr4i0B3_"
            "qIO2zVZxqyxKjxvWfColNV9ds0HqtO93L7Q5uUaVcojsNOBAGx5diFoNPc1",
        ),
        negative_examples=("token: github_pat_<your-token-here>",),
    ),
    Rule(
        id="github-oauth-token",
        description="GitHub OAuth access token",
        family="code-host",
        pattern=r"\b(?P<secret>gho_[A-Za-z0-9]{36})" + _TAIL,
        hs_pattern=r"gho_[A-Za-z0-9]{36}",
        keywords=("gho_",),
        examples=('{"access_token": "gho_2V21I9MPFLV9FUPXQMB0Y07NYRVD5RXI67NF"}',),
        negative_examples=('{"access_token": "gho_' + "0" * 36 + '"}',),
    ),
    Rule(
        id="github-app-token",
        description="GitHub App user-to-server or installation token",
        family="code-host",
        pattern=r"\b(?P<secret>gh[us]_[A-Za-z0-9]{36})" + _TAIL,
        hs_pattern=r"gh[us]_[A-Za-z0-9]{36}",
        keywords=("ghu_", "ghs_"),
        examples=(
            "export GH_TOKEN=ghs_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprB",
            "token = 'ghu_FqaDZeV7G5IfQHeVVEqZe2qpUWnoVPDF2yeX'",
        ),
        negative_examples=("# installation tokens (ghs_...) expire after an hour",),
    ),
    Rule(
        id="github-refresh-token",
        description="GitHub refresh token",
        family="code-host",
        pattern=r"\b(?P<secret>ghr_[A-Za-z0-9]{36,76})" + _TAIL,
        hs_pattern=r"ghr_[A-Za-z0-9]{36}",
        keywords=("ghr_",),
        examples=("refresh_token=ghr_vm14TUOizwd1iaeOV4qBkdfQ1y3GQsMpSs12",),
        negative_examples=("refresh_token=ghr_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",),
    ),
    Rule(
        id="gitlab-pat",
        description="GitLab personal, project or group access token",
        family="code-host",
        pattern=r"\b(?P<secret>glpat-[A-Za-z0-9_-]{20,})",
        hs_pattern=r"glpat-[A-Za-z0-9_-]{20}",
        keywords=("glpat-",),
        examples=(
            "GITLAB_TOKEN=glpat-KdNnFRIBXuDL7DxtpYlS",
            "private_token: glpat-u8jzPde0IgxLd6Gn_KdNnFRIBXuDL7Dx",
        ),
        negative_examples=("GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx", "token prefix glpat-"),
    ),
    Rule(
        id="gitlab-pipeline-trigger-token",
        description="GitLab pipeline trigger token",
        family="code-host",
        pattern=r"\b(?P<secret>glptt-[0-9a-f]{40})\b",
        keywords=("glptt-",),
        examples=(
            "curl -F token=glptt-7443e210471948d33296c87009e8a7f770d9106f https://gitlab/api",
        ),
        negative_examples=("token=glptt-0000000000000000000000000000000000000000",),
    ),
    Rule(
        id="gitlab-runner-token",
        description="GitLab runner authentication or registration token",
        family="code-host",
        pattern=r"\b(?P<secret>(?:glrt-|GR1348941)[A-Za-z0-9_-]{20,})",
        hs_pattern=r"(?:glrt-|GR1348941)[A-Za-z0-9_-]{20}",
        keywords=("glrt-", "gr1348941"),
        examples=(
            'token = "glrt-KdNnFRIBXuDL7DxtpYlS"',
            "registration-token: GR1348941u8jzPde0IgxLd6GnKdNn",
        ),
        negative_examples=('token = "glrt-REPLACE_WITH_RUNNER_TOKEN"',),
    ),
    Rule(
        id="gitlab-other-token",
        description="GitLab deploy, feed, OAuth-app or incoming-mail token",
        family="code-host",
        pattern=r"\b(?P<secret>(?:gldt|glft|glsoat|glimt|gloas|glcbt)-[A-Za-z0-9_-]{20,})",
        hs_pattern=r"(?:gldt|glft|glsoat|glimt|gloas|glcbt)-[A-Za-z0-9_-]{20}",
        keywords=("gldt-", "glft-", "glsoat-", "glimt-", "gloas-", "glcbt-"),
        examples=("deploy_token: gldt-XZjljENUhJduRHHJEYXg", "feed: glft-9IS0J8HT9LGMXG9EKdNn"),
        negative_examples=("deploy_token: gldt-<token>",),
    ),
    Rule(
        id="atlassian-api-token",
        description="Atlassian (Jira/Confluence/Bitbucket) API token",
        family="code-host",
        pattern=r"\b(?P<secret>ATATT3[A-Za-z0-9_=-]{180,200})",
        hs_pattern=r"ATATT3[A-Za-z0-9_=-]{180}",
        keywords=("atatt3",),
        examples=(
            "JIRA_TOKEN=ATATT3xFfGF0"
            + "euVaT5jpTFPWhLn5drcFlCxvnNGdcmyHc7E4nSmwfIp7JoppZrDDs7YvcX1e"
            "YgURZEQ3PZgPsTF2bUnxiP3zcCr1Y6ffeIIemGpb3EfKoNSvphIk7s4pqL0KJFlK6CXzU6M98NdFQCyXYb"
            "TuEPPIKBLhcuiS4hX4TnCt1RTrzJm8Iq0na0=B1C2D3E4",
        ),
        negative_examples=("JIRA_TOKEN=ATATT3<token>",),
    ),
    Rule(
        id="bitbucket-app-password",
        description="Bitbucket app password / repository access token",
        family="code-host",
        pattern=r"\b(?P<secret>ATBB[A-Za-z0-9]{28}[A-F0-9]{8})\b",
        keywords=("atbb",),
        examples=("BITBUCKET_APP_PASSWORD=ATBBXZjljENUhJduRHHJEYXg4JdpmrcX1A2B3C4D",),
        negative_examples=("BITBUCKET_APP_PASSWORD=ATBBxxxxxxxxxxxxxxxxxxxxxxxxxxxx00000000",),
    ),
)
