"""Messaging and mail: Twilio, SendGrid, Mailchimp, Mailgun, Brevo, Postmark."""

from __future__ import annotations

from gitvault.scan.rules import Rule

_SEP = r"""[\"']?[ \t]*(?:=|:|:=|=>)[ \t]*[\"']?"""

RULES: tuple[Rule, ...] = (
    Rule(
        id="twilio-api-key",
        description="Twilio API key SID",
        family="messaging",
        pattern=r"\b(?P<secret>SK[0-9a-f]{32})\b",
        keywords=("sk",),
        entropy=3.0,
        examples=("TWILIO_API_KEY=SKc4fa2815d2802827283e0ad841735815",),
        negative_examples=(
            "TWILIO_API_KEY=SK00000000000000000000000000000000",
            "checksum SKIP c4fa2815d2802827283e0ad841735815",
        ),
    ),
    Rule(
        id="twilio-auth-token",
        description="Twilio auth token",
        family="messaging",
        pattern=r"(?i)twilio[\w.-]{0,20}(?:auth|token|secret)[\w.-]{0,10}"
        + _SEP
        + r"(?P<secret>[a-f0-9]{32})\b",
        keywords=("twilio",),
        entropy=3.0,
        examples=("TWILIO_AUTH_TOKEN=1e558e08baa7196b50ac2f86702824c1",),
        negative_examples=(
            "TWILIO_AUTH_TOKEN=your_auth_token",
            "TWILIO_ACCOUNT_SID=AC1e558e08baa7196b50ac2f86702824c1",
        ),
    ),
    Rule(
        id="sendgrid-api-key",
        description="SendGrid API key",
        family="messaging",
        pattern=r"\b(?P<secret>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])",
        keywords=("sg.",),
        examples=(
            "SENDGRID_API_KEY=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",
        ),
        negative_examples=(
            "SENDGRID_API_KEY=SG.xxxxxxxxxxxxxxxxxxxxxx.xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        ),
    ),
    Rule(
        id="mailchimp-api-key",
        description="Mailchimp API key",
        family="messaging",
        pattern=r"\b(?P<secret>[0-9a-f]{32}-us\d{1,2})\b",
        keywords=("-us",),
        entropy=3.0,
        examples=("MAILCHIMP_KEY=c4fa2815d2802827283e0ad841735815-us21",),
        negative_examples=("MAILCHIMP_KEY=00000000000000000000000000000000-us1",),
    ),
    Rule(
        id="mailgun-api-key",
        description="Mailgun API key",
        family="messaging",
        pattern=r"\b(?P<secret>key-[0-9a-f]{32})\b",
        keywords=("key-",),
        entropy=3.0,
        examples=("MAILGUN_API_KEY=key-c4fa2815d2802827283e0ad841735815",),
        negative_examples=("MAILGUN_API_KEY=key-00000000000000000000000000000000",),
    ),
    Rule(
        id="mailgun-signing-key",
        description="Mailgun webhook signing key",
        family="messaging",
        pattern=r"(?i)mailgun[\w.-]{0,20}(?:signing|webhook)[\w.-]{0,10}key"
        + _SEP
        + r"(?P<secret>[a-f0-9]{32}-[a-f0-9]{8}-[a-f0-9]{8})\b",
        keywords=("mailgun",),
        examples=(
            "MAILGUN_WEBHOOK_SIGNING_KEY=c4fa2815d2802827283e0ad841735815-1a2b3c4d-5e6f7a8b",
        ),
        negative_examples=("MAILGUN_WEBHOOK_SIGNING_KEY=<key>",),
    ),
    Rule(
        id="brevo-api-key",
        description="Brevo (Sendinblue) API key",
        family="messaging",
        pattern=r"\b(?P<secret>xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16})\b",
        keywords=("xkeysib-",),
        examples=(
            "BREVO_KEY=xkeysib-5a0cf318656b3e6f0bade65c3b188cc102ddb8379c7ce65426f74bde94fb78c8"
            "-u8jzPde0IgxLd6Gn",
        ),
        negative_examples=("BREVO_KEY=xkeysib-<key>",),
    ),
    Rule(
        id="postmark-server-token",
        description="Postmark server token",
        family="messaging",
        pattern=r"(?i)postmark[\w.-]{0,20}(?:token|key)[\w.-]{0,10}"
        + _SEP
        + r"(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
        keywords=("postmark",),
        examples=("POSTMARK_SERVER_TOKEN=4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41",),
        negative_examples=("POSTMARK_MESSAGE_ID=4f0c9a55-1b2e-4c1d-9c3e-2a7b8d6e5f41",),
    ),
)
