"""Search engines and vector databases.

Every sample below is invented. Formats were learnt from provider documentation and
public rule sets (gitleaks, kingfisher, trufflehog, detect-secrets); the patterns,
samples and wording are ours.
"""

from __future__ import annotations

from gitvault.scan.rules import Rule
from gitvault.scan.rules._kit import keyed, prefixed

_F = "search"

RULES: tuple[Rule, ...] = (
    keyed(
        "algolia-admin-key",
        "Algolia admin or write API key",
        _F,
        r"algolia",
        r"[a-f0-9]{32}",
        "347c23e4e7f4615c8e1bb8101fb4e055",
        "ALGOLIA_ADMIN_KEY",
        keywords=("algolia",),
    ),
    keyed(
        "elastic-api-key",
        "Elasticsearch / Elastic Cloud API key",
        _F,
        r"elastic[_.-]?(?:search|cloud|api|co\b)|\bes_",
        r"[A-Za-z0-9_-]{20,22}:[A-Za-z0-9_-]{20,22}|[A-Za-z0-9+/]{50,120}={0,2}",
        "1l7VPqdN78mHbpzpH9mBQ3bZNODDyTykH1/2qCodNSDjdoGvP/no7E6xHJ==",
        "ELASTIC_API_KEY",
        keywords=("elastic", "es_"),
        tail="",
    ),
    prefixed(
        "elastic-cloud-key",
        "Elastic Cloud (serverless) API key",
        _F,
        r"essu_[A-Za-z0-9+/]{60,160}={0,2}",
        "essu_miBcddHch3/avbMi1LJtq+2JPmfyLOkuF65UECsgIAXb0AEORR4ZmfvWmOo5uTradIehguXc9FQWCy/oI47TUg==",
        "EC_API_KEY",
        keywords=("essu_",),
        tail="",
        hs=r"\bessu_[A-Za-z0-9+/]{60}",
    ),
    keyed(
        "typesense-key",
        "Typesense API key",
        _F,
        r"typesense",
        r"[A-Za-z0-9]{32}",
        "16795PUcKINhoC3R6YllE0CDiZ0U7ked",
        "TYPESENSE_API_KEY",
        keywords=("typesense",),
    ),
    keyed(
        "meilisearch-key",
        "Meilisearch master or API key",
        _F,
        r"meili",
        r"[A-Za-z0-9_-]{32,64}",
        "A9ajW4Zq1wZbRZ2u9rxnscGkiPm8f1iH4jYmpJ8H",
        "MEILI_MASTER_KEY",
        keywords=("meili",),
    ),
    keyed(
        "swiftype-key",
        "Swiftype / Elastic App Search private key",
        _F,
        r"swiftype",
        r"private-[a-z0-9]{24}|[A-Za-z0-9_-]{20}",
        "private-tqt5bkiy4advbvbc2gieyrnu",
        "SWIFTYPE_API_KEY",
        keywords=("swiftype",),
    ),
    prefixed(
        "pinecone-key",
        "Pinecone API key",
        _F,
        r"pcsk_[A-Za-z0-9]{5,6}_[A-Za-z0-9]{60,70}",
        "pcsk_2g8yxI_2KQAW6XV08T9Slzo9llAfq6i4ye1iHyfOVUKWHGADB5bfghIOmYZi6na59e6pikF",
        "PINECONE_API_KEY",
    ),
    keyed(
        "pinecone-key-legacy",
        "Pinecone API key (legacy UUID)",
        _F,
        r"pinecone",
        r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        "e92d4f35-414b-4181-afee-e3f23f665b7b",
        "PINECONE_API_KEY",
        keywords=("pinecone",),
    ),
    keyed(
        "qdrant-key",
        "Qdrant API key",
        _F,
        r"qdrant",
        r"[A-Za-z0-9_|-]{40,80}",
        "IpfW401CFzvklAUaHSPQGNhZ3Jb0rmkj0xGL2kQEMwRGKfPO",
        "QDRANT_API_KEY",
        keywords=("qdrant",),
    ),
    keyed(
        "weaviate-key",
        "Weaviate API key",
        _F,
        r"weaviate",
        r"[A-Za-z0-9]{40}",
        "tSt6pwM9HLBZH7iTKU629aCZ5kZ1z6D5pZ1QIoi5",
        "WEAVIATE_API_KEY",
        keywords=("weaviate",),
    ),
    prefixed(
        "coveo-key",
        "Coveo API key",
        _F,
        r"xx[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "xxb66fae32-58dc-41ac-a914-0813731893f4",
        "COVEO_API_KEY",
        keywords=("xx",),
        auto_negatives=False,
        negatives=("COVEO_API_KEY=xx...", "ref: xx4f0c9a55-1b2e-4c1d"),
    ),
    keyed(
        "bonsai-key",
        "Bonsai Elasticsearch access key",
        _F,
        r"bonsai",
        r"[a-z0-9]{10}:[a-z0-9]{20,26}",
        "slazhxqvzx:81voz1s1nd76e2zoopfhce",
        "BONSAI_URL_KEY",
        keywords=("bonsai",),
    ),
)
