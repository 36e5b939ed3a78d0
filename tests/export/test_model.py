"""The naming rule, collisions and NAME_PREVIOUS (gitvault.export.model)."""

from __future__ import annotations

import pytest

from gitvault.errors import BadInput, ExitCode
from gitvault.export.model import (
    Source,
    collect,
    env_name,
    format_key_path,
    iter_leaves,
    scalar_text,
)
from gitvault.model import Comment, Timestamp
from gitvault.model import Mapping as DocMapping
from gitvault.model import Sequence as DocSequence


def names(*sources: Source) -> dict[str, object]:
    return {v.name: v.value for v in collect(list(sources))}


@pytest.mark.parametrize(
    ("path", "prefix", "expected"),
    [
        (("db", "password"), None, "DB_PASSWORD"),
        (("api-key",), None, "API_KEY"),
        (("hosts", 0), None, "HOSTS_0"),
        (("a.b", "c d"), None, "A_B_C_D"),
        (("db", "password"), "app", "APP_DB_PASSWORD"),
        (("db", "password"), "APP_", "APP_DB_PASSWORD"),
        (("db",), "my-app", "MY_APP_DB"),
        (("0day",), None, "_0DAY"),
        (("ключ",), None, "____"),
    ],
)
def test_naming_rule(path: tuple[str | int, ...], prefix: str | None, expected: str) -> None:
    assert env_name(path, prefix) == expected


def test_nested_lists_and_order() -> None:
    tree = {"db": {"password": "p", "hosts": ["a", {"name": "b"}]}, "port": 5432}
    assert list(names(Source("f.yaml", [tree]))) == [
        "DB_PASSWORD",
        "DB_HOSTS_0",
        "DB_HOSTS_1_NAME",
        "PORT",
    ]


def test_empty_collections_export_nothing() -> None:
    assert names(Source("f.yaml", [{"a": {}, "b": [], "c": "x"}])) == {"C": "x"}


def test_several_documents_start_with_their_index() -> None:
    assert names(Source("f.yaml", [{"a": 1}, {"a": 2}])) == {"_0_A": 1, "_1_A": 2}
    assert names(Source("f.yaml", [{"a": 1}, {"a": 2}], prefix="x")) == {"X_0_A": 1, "X_1_A": 2}


def test_collision_between_files_names_both_sources_not_values() -> None:
    with pytest.raises(BadInput) as info:
        collect(
            [
                Source("secrets/a.yaml", [{"db": {"password": "s3cret-a"}}]),
                Source("secrets/b.yaml", [{"DB_PASSWORD": "s3cret-b"}]),
            ]
        )
    message = str(info.value)
    assert "DB_PASSWORD" in message
    assert "secrets/a.yaml:db.password" in message
    assert "secrets/b.yaml:DB_PASSWORD" in message
    assert "s3cret" not in message
    assert info.value.exit_code == ExitCode.BAD_INPUT == 5


def test_collision_inside_one_file() -> None:
    with pytest.raises(BadInput, match=r"a\.yaml:db-url and a\.yaml:db_url"):
        collect([Source("a.yaml", [{"db-url": "x", "db_url": "y"}])])


def test_prefix_avoids_collision() -> None:
    got = names(
        Source("a.yaml", [{"token": "1"}], prefix="a"),
        Source("b.yaml", [{"token": "2"}], prefix="b"),
    )
    assert got == {"A_TOKEN": "1", "B_TOKEN": "2"}


def test_previous_follows_its_name() -> None:
    source = Source(
        "a.yaml",
        [{"db": {"password": "new", "user": "u"}}],
        previous={("db", "password"): "old", ("gone",): "ignored"},
    )
    variables = collect([source])
    assert [(v.name, v.value) for v in variables] == [
        ("DB_PASSWORD", "new"),
        ("DB_PASSWORD_PREVIOUS", "old"),
        ("DB_USER", "u"),
    ]
    assert variables[1].origin == "a.yaml:db.password (previous)"


def test_previous_colliding_with_a_real_key_is_an_error() -> None:
    source = Source(
        "a.yaml", [{"token": "new", "token_previous": "x"}], previous={("token",): "old"}
    )
    with pytest.raises(BadInput, match="TOKEN_PREVIOUS"):
        collect([source])


def test_key_path_display() -> None:
    assert format_key_path(("db", "password")) == "db.password"
    # The same display as every other gitvault message (keypath.display).
    assert format_key_path(("hosts", 0)) == "hosts[0]"
    assert format_key_path(("a.b", 0, "c")) == '["a.b"][0].c'
    assert format_key_path((1, "a")) == "[1].a"  # a later document of a multi-document file


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "x"),
        (True, "true"),
        (False, "false"),
        (None, ""),
        (42, "42"),
        (1.5, "1.5"),
        (float("inf"), ".inf"),
        (float("-inf"), "-.inf"),
        (float("nan"), ".nan"),
    ],
)
def test_scalar_text(value: object, text: str) -> None:
    assert scalar_text(value) == text  # type: ignore[arg-type]


def test_document_model_trees_are_accepted() -> None:
    seq = DocSequence([Comment(" c"), "a"])
    doc = DocMapping([("when", Timestamp("2024-01-02T03:04:05Z")), Comment(" x"), ("l", seq)])
    assert list(iter_leaves(doc)) == [(("when",), "2024-01-02T03:04:05Z"), (("l", 0), "a")]


def test_bare_document_is_refused() -> None:
    with pytest.raises(BadInput, match="bare value"):
        collect([Source("a.yaml", ["just a string"])])
