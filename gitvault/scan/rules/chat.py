"""Chat platforms: Slack, Discord, Telegram, Microsoft Teams."""

from __future__ import annotations

from gitvault.scan.rules import Rule

RULES: tuple[Rule, ...] = (
    Rule(
        id="slack-bot-token",
        description="Slack bot token",
        family="chat",
        pattern=r"\b(?P<secret>xoxb-\d{9,13}-\d{9,13}-[A-Za-z0-9]{24,34})\b",
        keywords=("xoxb-",),
        examples=("SLACK_BOT_TOKEN=xoxb-2345678901-3456789012345-KjIg8xNbe3nNyjOq9wMxEhh2",),
        negative_examples=(
            "SLACK_BOT_TOKEN=xoxb-your-bot-token",
            "SLACK_BOT_TOKEN=xoxb-0000000000-0000000000000-xxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
    Rule(
        id="slack-user-token",
        description="Slack user, workspace or legacy token",
        family="chat",
        pattern=r"\b(?P<secret>xox[pears]-\d{9,13}-\d{9,13}-\d{9,13}-[a-f0-9]{32})\b",
        keywords=("xoxp-", "xoxe-", "xoxa-", "xoxr-", "xoxs-"),
        examples=(
            "token = 'xoxp-2345678901-3456789012-4567890123-c4fa2815d2802827283e0ad841735815'",
        ),
        negative_examples=("token = 'xoxp-...'",),
    ),
    Rule(
        id="slack-app-token",
        description="Slack app-level token",
        family="chat",
        pattern=r"\b(?P<secret>xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-f0-9]{64})\b",
        keywords=("xapp-",),
        examples=(
            "SLACK_APP_TOKEN=xapp-1-A04B5C6D7E8-4567890123456-"
            "5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8",
        ),
        negative_examples=("SLACK_APP_TOKEN=xapp-1-...",),
    ),
    Rule(
        id="slack-config-token",
        description="Slack configuration (refresh) token",
        family="chat",
        pattern=r"\b(?P<secret>xoxe\.xox[bp]-\d-[A-Za-z0-9]{100,200})",
        hs_pattern=r"xoxe\.xox[bp]-\d-[A-Za-z0-9]{100}",
        keywords=("xoxe.xox",),
        examples=(
            "refresh: xoxe.xoxp-1-" + "iSPOcSeVce2LWxm090I5Qe43W6T8ygpnnhcc826ZWOf0WOOsEgigYWPnsuvB"
            "GOsDbjqMVzaVp62BSKLVPA2oQUP44XPSL2oRlPhDBuqOSg5ApYzTTOkq2BEDbN2A",
        ),
        negative_examples=("refresh: xoxe.xoxp-1-<token>",),
    ),
    Rule(
        id="slack-webhook-url",
        description="Slack incoming webhook URL",
        family="chat",
        pattern=r"(?P<secret>https://hooks\.slack\.com/(?:services|workflows|triggers)/"
        r"T[A-Z0-9]{8,12}/[AB][A-Z0-9]{8,12}/[A-Za-z0-9]{23,25})",
        keywords=("hooks.slack.com",),
        examples=(
            "SLACK_WEBHOOK=https://hooks.slack.com/services/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",
        ),
        negative_examples=(
            "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
            "see https://hooks.slack.com/services/ for the docs",
        ),
    ),
    Rule(
        id="discord-webhook-url",
        description="Discord webhook URL",
        family="chat",
        pattern=r"(?P<secret>https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/"
        r"\d{17,20}/[A-Za-z0-9_-]{60,70})",
        hs_pattern=r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/"
        r"\d{17,20}/[A-Za-z0-9_-]{60}",
        keywords=("discord",),
        examples=(
            "url = 'https://discord.com/api/webhooks/1187654329876543210/"
            "iSPOcSeVce2LWxm090I5Qe43W6T8ygpnnhcc826ZWOf0WOOsEgigYWPnsuvB-_x9'",
        ),
        negative_examples=("url = 'https://discord.com/api/webhooks/{id}/{token}'",),
    ),
    Rule(
        id="discord-bot-token",
        description="Discord bot token",
        family="chat",
        pattern=r"(?i)discord[^\r\n]{0,40}?(?<![A-Za-z0-9_-])"
        r"(?P<secret>[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40})"
        r"(?![A-Za-z0-9_-])",
        hs_pattern=r"(?i)discord[^\r\n]{0,40}?[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\."
        r"[A-Za-z0-9_-]{27}",
        keywords=("discord",),
        entropy=3.5,
        examples=(
            'DISCORD_TOKEN="MTA4NzY1NDMyMTA5ODc2NTQzMg.GxYz12.KjIg8xNbe3nNyjOq9wMxEhh2ogoEmv"',
        ),
        negative_examples=('DISCORD_TOKEN="<bot token from the developer portal>"',),
    ),
    Rule(
        id="telegram-bot-token",
        description="Telegram bot token",
        family="chat",
        pattern=r"(?<![0-9A-Za-z])(?P<secret>\d{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])",
        hs_pattern=r"\d{8,10}:AA[A-Za-z0-9_-]{33}",
        keywords=(":aa",),
        examples=("TELEGRAM_BOT_TOKEN=5432109876:AAFqaDZeV7G5IfQHeVVEqZe2qpUWnoVPDF2",),
        negative_examples=("TELEGRAM_BOT_TOKEN=123456789:AAxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",),
    ),
    Rule(
        id="teams-webhook-url",
        description="Microsoft Teams incoming webhook URL",
        family="chat",
        pattern=r"(?P<secret>https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/"
        r"[a-f0-9-]{36}@[a-f0-9-]{36}/IncomingWebhook/[A-Za-z0-9]{32}/[a-f0-9-]{36})",
        keywords=("webhook.office.com",),
        examples=(
            "https://acme.webhook.office.com/webhookb2/4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41"
            "@9b1d2e3f-4a5b-4c6d-8e7f-0a1b2c3d4e5f/IncomingWebhook/"
            "c4fa2815d2802827283e0ad841735815/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ),
        negative_examples=("https://acme.webhook.office.com/webhookb2/<id>",),
    ),
)
