"""``--format k8s``: v1 Secret manifests, binary-safe, checked against the schema rules.

kubectl needs a cluster even for ``--dry-run=client``, so the manifests are
checked structurally: parsed back by PyYAML (a YAML 1.1 reader like the one
kubectl uses, so ``yes``/``on`` must come back as strings) and by JSON, then
validated with the same rules the API server applies to a Secret.
"""

from __future__ import annotations

import base64
import json

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from gitvault.errors import BadInput
from gitvault.export.base import RenderOptions, get_format
from gitvault.export.k8s import (
    is_dns_subdomain,
    name_from_file,
    validate_labels,
    validate_secret,
)
from gitvault.export.model import Source, collect

K8S = get_format("k8s")
BINARY_ISH = "".join(chr(c) for c in range(1, 256)) + "\x00€😀\u2028"


def two_files() -> list[Source]:
    return [
        Source("secrets/prod/db.yaml", [{"db": {"password": "p@ss'w\"rd\n", "port": 5432}}]),
        Source("secrets/prod/api.yaml", [{"api": {"token": "yes"}, "flag": True}]),
    ]


def yaml_docs(text: str) -> list[dict[str, object]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def test_one_secret_per_file_by_default() -> None:
    docs = yaml_docs(K8S.render(collect(two_files()), RenderOptions(namespace="web")))
    assert [d["metadata"]["name"] for d in docs] == ["db", "api"]  # type: ignore[index]
    for doc in docs:
        validate_secret(doc)
        assert doc["metadata"]["namespace"] == "web"  # type: ignore[index]
        assert doc["type"] == "Opaque"
    assert base64.b64decode(docs[0]["data"]["DB_PASSWORD"]) == b"p@ss'w\"rd\n"  # type: ignore[index]
    assert base64.b64decode(docs[1]["data"]["API_TOKEN"]) == b"yes"  # type: ignore[index]
    assert base64.b64decode(docs[1]["data"]["FLAG"]) == b"true"  # type: ignore[index]


def test_merged_secret_with_labels() -> None:
    options = RenderOptions(k8s_name="web-secrets", labels={"app": "web"}, merge=True)
    (doc,) = yaml_docs(K8S.render(collect(two_files()), options))
    assert doc["metadata"]["name"] == "web-secrets"  # type: ignore[index]
    assert doc["metadata"]["labels"]["app"] == "web"  # type: ignore[index]
    assert set(doc["data"]) == {"DB_PASSWORD", "DB_PORT", "API_TOKEN", "FLAG"}  # type: ignore[arg-type]
    annotations = doc["metadata"]["annotations"]  # type: ignore[index]
    assert annotations["gitvault/sources"] == "secrets/prod/db.yaml,secrets/prod/api.yaml"


def test_k8s_name_prefixes_per_file_secrets() -> None:
    docs = yaml_docs(K8S.render(collect(two_files()), RenderOptions(k8s_name="web")))
    assert [d["metadata"]["name"] for d in docs] == ["web-db", "web-api"]  # type: ignore[index]


def test_string_data_values_stay_strings_in_yaml_1_1() -> None:
    docs = yaml_docs(K8S.render(collect(two_files()), RenderOptions(string_data=True)))
    assert docs[0]["stringData"] == {"DB_PASSWORD": "p@ss'w\"rd\n", "DB_PORT": "5432"}
    assert docs[1]["stringData"] == {"API_TOKEN": "yes", "FLAG": "true"}
    for doc in docs:
        validate_secret(doc)


def test_json_output_is_a_list_for_several_secrets() -> None:
    obj = json.loads(K8S.render(collect(two_files()), RenderOptions(output="json")))
    assert obj["kind"] == "List" and obj["apiVersion"] == "v1"
    for item in obj["items"]:
        validate_secret(item)
    single = json.loads(K8S.render(collect(two_files()[:1]), RenderOptions(output="json")))
    assert single["kind"] == "Secret"


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(BINARY_ISH)))
def test_data_is_binary_safe(value: str) -> None:
    for output in ("yaml", "json"):
        text = K8S.render(collect([Source("a.yaml", [{"v": value}])]), RenderOptions(output=output))
        doc = yaml_docs(text)[0] if output == "yaml" else json.loads(text)
        assert base64.b64decode(doc["data"]["V"], validate=True).decode("utf-8") == value


def test_same_file_stem_in_two_directories_takes_the_directory_into_the_name() -> None:
    sources = [
        Source("secrets/prod/db.yaml", [{"a": "1"}]),
        Source("secrets/dev/db.yaml", [{"b": "2"}]),
        Source("secrets/dev/web.yaml", [{"c": "3"}]),
    ]
    docs = yaml_docs(K8S.render(collect(sources), RenderOptions()))
    assert [d["metadata"]["name"] for d in docs] == ["prod-db", "dev-db", "web"]


def test_same_file_name_twice_is_still_a_name_collision() -> None:
    sources = [Source("prod/db.yaml", [{"a": "1"}]), Source("prod/db.yml", [{"b": "2"}])]
    with pytest.raises(BadInput, match=r"secret name prod-db comes from both"):
        K8S.render(collect(sources), RenderOptions())


def test_merge_needs_a_name() -> None:
    with pytest.raises(BadInput, match="--k8s-name"):
        K8S.render(collect(two_files()), RenderOptions(merge=True))


@pytest.mark.parametrize(
    "options",
    [
        RenderOptions(k8s_name="Web_Secrets"),
        RenderOptions(k8s_name="-web"),
        RenderOptions(k8s_name="a" * 254),
        RenderOptions(namespace="Prod"),
        RenderOptions(namespace="a.b"),
        RenderOptions(labels={"bad key!": "x"}),
        RenderOptions(labels={"app": "-bad-"}),
        RenderOptions(labels={"app": "x" * 64}),
    ],
)
def test_invalid_metadata_is_refused(options: RenderOptions) -> None:
    with pytest.raises(BadInput):
        K8S.render(collect(two_files()[:1]), options)


def test_validate_secret_rules() -> None:
    good = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}, "data": {"A": "eA=="}}
    validate_secret(good)
    with pytest.raises(BadInput, match="data key"):
        validate_secret({**good, "data": {"bad/key": "eA=="}})
    with pytest.raises(BadInput, match="base64"):
        validate_secret({**good, "data": {"A": "not base64!"}})
    with pytest.raises(BadInput, match="v1 Secret"):
        validate_secret({**good, "kind": "ConfigMap"})
    with pytest.raises(BadInput, match="1 MiB"):
        validate_secret({**good, "stringData": {"B": "x" * (1024 * 1024 + 1)}})


def test_name_helpers() -> None:
    assert name_from_file("secrets/prod/Web_App.yaml") == "web-app"
    assert is_dns_subdomain("a.b-c")
    assert not is_dns_subdomain("a..b")
    validate_labels({"app.kubernetes.io/name": "web", "tier": ""})


def test_files_with_the_same_keys_become_separate_secrets_with_per_file_collisions() -> None:
    sources = [
        Source("secrets/prod/web.yaml", [{"db": {"password": "prod-pass-1"}}]),
        Source("secrets/staging/web.yaml", [{"db": {"password": "staging-pass-2"}}]),
    ]
    docs = yaml_docs(K8S.render(collect(sources, per_file=True), RenderOptions()))
    assert [d["metadata"]["name"] for d in docs] == ["prod-web", "staging-web"]
    values = [base64.b64decode(d["data"]["DB_PASSWORD"]).decode() for d in docs]  # type: ignore[index]
    assert values == ["prod-pass-1", "staging-pass-2"]
    # Within one file a collision is still an error.
    clash = [Source("a.yaml", [{"db": {"password": "x1"}, "DB_PASSWORD": "x2"}])]
    with pytest.raises(BadInput, match="DB_PASSWORD comes from both"):
        collect(clash, per_file=True)
