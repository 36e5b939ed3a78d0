# ruff: noqa: E501 -- rule data: example tokens are long literals
"""AI APIs: OpenAI, Anthropic, Hugging Face, Groq, Perplexity, xAI, Replicate."""

from __future__ import annotations

from gitvault.scan.rules import Rule

_TAIL = r"(?![A-Za-z0-9_-])"

RULES: tuple[Rule, ...] = (
    Rule(
        id="anthropic-api-key",
        description="Anthropic API key",
        family="ai",
        pattern=r"\b(?P<secret>sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80,100}AA)" + _TAIL,
        hs_pattern=r"sk-ant-(?:api|admin)\d\d-[A-Za-z0-9_-]{80}",
        keywords=("sk-ant-",),
        severity="critical",
        examples=(
            "ANTHROPIC_API_KEY=sk-ant-api03-gUskL_6GgebhbkXNNv-hOV48vsoUu19X5IQLJhQbtN2FWXWD5KaPHI2u"
            "fKssJ_Sk-WzDNhY7AGbX6lTiDYHP9zyBylxLUAA",
        ),
        negative_examples=("ANTHROPIC_API_KEY=sk-ant-api03-...", "ANTHROPIC_API_KEY=sk-ant-xxxx"),
    ),
    Rule(
        id="openai-api-key",
        description="OpenAI API key",
        family="ai",
        pattern=r"\b(?P<secret>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ"
        r"[A-Za-z0-9_-]{20,200})" + _TAIL,
        hs_pattern=r"sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ[A-Za-z0-9_-]{20}",
        keywords=("t3blbkfj",),
        severity="critical",
        examples=(
            "OPENAI_API_KEY=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",
            'openai.api_key = "sk-proj-TZtFf_VnV7ktOdSJcmeA-BHJ2m5qGeRzxWkT3BlbkFJdgeV6-iYplGODlYx5uVEC"',
        ),
        negative_examples=("OPENAI_API_KEY=sk-...", "OPENAI_API_KEY=sk-your-key-here"),
    ),
    Rule(
        id="openai-project-key",
        description="OpenAI project or service-account key",
        family="ai",
        pattern=r"\b(?P<secret>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80,200})" + _TAIL,
        hs_pattern=r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{80}",
        keywords=("sk-proj-", "sk-svcacct-", "sk-admin-"),
        entropy=4.0,
        examples=(
            "OPENAI_API_KEY=sk-proj-TZtFf_VnV7ktOdSJcmeA-BHJ2m5qGeRzxWkdgeV6-iYplGODlYx5uVECweGT"
            "hdgH9hmsOazM4n8PVGXp",
        ),
        negative_examples=("OPENAI_API_KEY=sk-proj-" + "x" * 90,),
    ),
    Rule(
        id="huggingface-token",
        description="Hugging Face access token",
        family="ai",
        pattern=r"\b(?P<secret>hf_[A-Za-z]{34})\b",
        keywords=("hf_",),
        entropy=3.5,
        examples=("HF_TOKEN=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",),
        negative_examples=(
            "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "hf_hub_download_cache",
        ),
    ),
    Rule(
        id="groq-api-key",
        description="Groq API key",
        family="ai",
        pattern=r"\b(?P<secret>gsk_[A-Za-z0-9]{52})\b",
        keywords=("gsk_",),
        examples=("GROQ_API_KEY=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",),
        negative_examples=("GROQ_API_KEY=gsk_<key>",),
    ),
    Rule(
        id="perplexity-api-key",
        description="Perplexity API key",
        family="ai",
        pattern=r"\b(?P<secret>pplx-[A-Za-z0-9]{48})\b",
        keywords=("pplx-",),
        examples=("PPLX_KEY=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",),
        negative_examples=("PPLX_KEY=pplx-...",),
    ),
    Rule(
        id="xai-api-key",
        description="xAI API key",
        family="ai",
        pattern=r"\b(?P<secret>xai-[A-Za-z0-9]{80})\b",
        keywords=("xai-",),
        examples=(
            "XAI_API_KEY=xai-iSPOcSeVce2LWxm090I5Qe43W6T8ygpnnhcc826ZWOf0WOOsEgigYWPnsuvBr5pyz"
            "PCB9t2039bicBTW",
        ),
        negative_examples=("XAI_API_KEY=xai-<key>",),
    ),
    Rule(
        id="replicate-api-token",
        description="Replicate API token",
        family="ai",
        pattern=r"\b(?P<secret>r8_[A-Za-z0-9]{37})\b",
        keywords=("r8_",),
        entropy=3.5,
        examples=("REPLICATE_API_TOKEN=r8_h87mTa5Vsqxezy3Lex7BWr2drgd1QsO7jprBx",),
        negative_examples=("REPLICATE_API_TOKEN=r8_<token>",),
    ),
)
