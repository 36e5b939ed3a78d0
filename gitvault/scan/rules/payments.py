"""Payments and commerce: Stripe, Square, PayPal/Braintree, Shopify."""

from __future__ import annotations

from gitvault.scan.rules import Rule

_SEP = r"""[\"']?[ \t]*(?:=|:|:=|=>)[ \t]*[\"']?"""

RULES: tuple[Rule, ...] = (
    Rule(
        id="stripe-secret-key",
        description="Stripe secret key",
        family="payments",
        pattern=r"\b(?P<secret>sk_(?:live|test)_[A-Za-z0-9]{24,99})\b",
        hs_pattern=r"sk_(?:live|test)_[A-Za-z0-9]{24}",
        keywords=("sk_live_", "sk_test_"),
        severity="critical",
        examples=(
            "STRIPE_SECRET_KEY=sk_live_51KjIg8xNbe3nNyjOq9wMxEhh2ogoEmvnEN5N1aE6Pw",
            "stripe.api_key = 'sk_test_4eC39HqLyjWDarjtT1zdp7dcKjIg8xNb'",
        ),
        negative_examples=(
            "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
            "# keys start with sk_live_ in production",
        ),
    ),
    Rule(
        id="stripe-restricted-key",
        description="Stripe restricted key",
        family="payments",
        pattern=r"\b(?P<secret>rk_(?:live|test)_[A-Za-z0-9]{24,99})\b",
        hs_pattern=r"rk_(?:live|test)_[A-Za-z0-9]{24}",
        keywords=("rk_live_", "rk_test_"),
        examples=("key: rk_live_51XZjljENUhJduRHHJEYXg4JdpmrcX",),
        negative_examples=("key: rk_live_<restricted-key>",),
    ),
    Rule(
        id="stripe-webhook-secret",
        description="Stripe webhook signing secret",
        family="payments",
        pattern=r"\b(?P<secret>whsec_[A-Za-z0-9]{32,64})\b",
        hs_pattern=r"whsec_[A-Za-z0-9]{32}",
        keywords=("whsec_",),
        examples=("STRIPE_WEBHOOK_SECRET=whsec_yvHNsG9eh6Yo4gfqrc5XlrWi0B26R08q",),
        negative_examples=("STRIPE_WEBHOOK_SECRET=whsec_...",),
    ),
    Rule(
        id="square-access-token",
        description="Square access token",
        family="payments",
        pattern=r"\b(?P<secret>(?:EAAA[A-Za-z0-9_-]{60}|sq0atp-[A-Za-z0-9_-]{22}))(?![A-Za-z0-9_-])",
        keywords=("eaaa", "sq0atp-"),
        entropy=3.5,
        examples=(
            "SQUARE_ACCESS_TOKEN=EAAAiSPOcSeVce2LWxm090I5Qe43W6T8ygpnnhcc826ZWOf0WOOsEgigYWPnsuvB",
            "square_token: sq0atp-nXsiVpzz63FfkCzJr4i0B3",
        ),
        negative_examples=("SQUARE_ACCESS_TOKEN=EAAA" + "A" * 60,),
    ),
    Rule(
        id="square-oauth-secret",
        description="Square OAuth application secret",
        family="payments",
        pattern=r"\b(?P<secret>sq0csp-[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])",
        keywords=("sq0csp-",),
        examples=("SQUARE_APP_SECRET=sq0csp-MjAdTdlzC5T4uUhf7kvmlP7HVDctQUy1xvCkgafrfwA",),
        negative_examples=("SQUARE_APP_SECRET=sq0csp-<secret>",),
    ),
    Rule(
        id="braintree-access-token",
        description="PayPal Braintree access token",
        family="payments",
        pattern=r"\b(?P<secret>access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32})\b",
        keywords=("access_token$",),
        examples=(
            "BRAINTREE_TOKEN=access_token$production$u8jzpde0igxld6gn$c4fa2815d2802827283e0ad841735815",
        ),
        negative_examples=("BRAINTREE_TOKEN=access_token$production$<merchant>$<token>",),
    ),
    Rule(
        id="braintree-private-key",
        description="Braintree private key",
        family="payments",
        pattern=r"(?i)braintree[\w.-]{0,20}private[\w.-]{0,5}key"
        + _SEP
        + r"(?P<secret>[a-f0-9]{32})\b",
        keywords=("braintree",),
        examples=("BRAINTREE_PRIVATE_KEY=c4fa2815d2802827283e0ad841735815",),
        negative_examples=("BRAINTREE_PRIVATE_KEY=${BRAINTREE_PRIVATE_KEY}",),
    ),
    Rule(
        id="paypal-client-secret",
        description="PayPal REST client secret",
        family="payments",
        pattern=r"(?i)paypal[\w.-]{0,20}secret[\w.-]{0,10}"
        + _SEP
        + r"(?P<secret>E[A-Za-z0-9_-]{79})(?![A-Za-z0-9_-])",
        keywords=("paypal",),
        entropy=3.5,
        examples=(
            "PAYPAL_CLIENT_SECRET=ETZtFf_VnV7ktOdSJcmeA-BHJ2m5qGeRzxWkdgeV6-iYplGODlYx5uVEC"
            "weGThdgH9hmsOazM4n8PVGX",
        ),
        negative_examples=("PAYPAL_CLIENT_SECRET=<client secret from the dashboard>",),
    ),
    Rule(
        id="shopify-token",
        description="Shopify access token or shared secret",
        family="payments",
        pattern=r"\b(?P<secret>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        keywords=("shpat_", "shpca_", "shppa_", "shpss_"),
        examples=("SHOPIFY_TOKEN=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",),
        negative_examples=("SHOPIFY_TOKEN=shpat_00000000000000000000000000000000",),
    ),
)
