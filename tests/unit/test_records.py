"""gitvault.records: the dataclass subset the read path uses, without importing dataclasses."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import subprocess
import sys

import pytest

from gitvault.model import Comment, Timestamp
from gitvault.records import FrozenRecordError, field, record, replace
from gitvault.sops.metadata import AgeStanza, Metadata


@record(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0
    tags: list[str] = field(default_factory=list)
    secret: str = field(default="", repr=False, compare=False)


@record
class Counter:
    name: str
    hits: int = 0


@dataclasses.dataclass(frozen=True)
class Plain:
    a: int
    b: str = "x"


def test_init_defaults_and_factories() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags, p.secret) == (1, 0, [], "")
    assert Point(1).tags is not Point(1).tags  # a fresh list each time
    assert Point(x=2, y=3, tags=["a"]).tags == ["a"]
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, [], "s", "extra")  # type: ignore[call-arg]


def test_frozen_and_slots() -> None:
    p = Point(1)
    with pytest.raises(FrozenRecordError):
        p.x = 5  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]
    assert not hasattr(p, "__dict__")
    assert Point.__slots__ == ("x", "y", "tags", "secret")  # type: ignore[attr-defined]


def test_eq_hash_repr() -> None:
    assert Point(1, 2) == Point(1, 2, secret="different")  # secret: compare=False
    assert Point(1, 2) != Point(1, 3)
    assert Point(1, 2) != (1, 2)
    assert hash(Point(1, 2, tags=())) == hash(Point(1, 2, tags=(), secret="z"))  # type: ignore[arg-type]
    assert "secret" not in repr(Point(1, secret="hunter2"))
    assert repr(Point(1)) == "Point(x=1, y=0, tags=[])"
    nan = float("nan")
    assert Point(nan) == Point(nan) or Point(nan).x is not nan  # the same object compares equal
    c = Counter("a")
    c.hits += 1
    assert c == Counter("a", 1)
    with pytest.raises(TypeError):
        hash(c)  # mutable records are unhashable, as mutable dataclasses are


def test_replace_records_and_dataclasses() -> None:
    p = Point(1, 2, ["t"])
    q = replace(p, y=9)
    assert (q.x, q.y, q.tags) == (1, 9, ["t"]) and p.y == 2
    with pytest.raises(TypeError):
        replace(p, z=1)
    assert replace(Plain(1), b="y") == Plain(1, "y")


def test_copy_deepcopy_pickle_of_frozen_slotted_records() -> None:
    p = Point(1, 2, ["a"])
    assert copy.copy(p) == p
    deep = copy.deepcopy(p)
    assert deep == p and deep.tags is not p.tags
    assert copy.deepcopy(Comment("x", inline=True)) == Comment("x", inline=True)
    assert pickle.loads(  # noqa: S301 - our own bytes
        pickle.dumps(Timestamp("2024-01-02T03:04:05Z"))
    ) == Timestamp("2024-01-02T03:04:05Z")


def test_metadata_keeps_its_dataclass_behaviour() -> None:
    meta = Metadata(age=(AgeStanza("age1x", "enc"),), lastmodified="", mac="")
    assert meta.foreign == {} and meta.foreign is not Metadata((), "", "").foreign
    assert replace(meta, mac="m").mac == "m"
    assert meta.with_defaults().unencrypted_suffix == "_unencrypted"
    assert meta == Metadata(age=(AgeStanza("age1x", "enc"),), lastmodified="", mac="")


def test_a_non_default_field_after_a_default_is_refused() -> None:
    with pytest.raises(TypeError):

        @record
        class Bad:
            a: int = 1
            b: int


def test_decrypt_imports_neither_dataclasses_nor_hashlib(tmp_path: object) -> None:
    """The point of this module: the read path stays off dataclasses/inspect and OpenSSL hashing."""
    code = (
        "import sys, gitvault.vault, gitvault.identities, gitvault.cli, gitvault.cli.writes,"
        " gitvault.locking, gitvault.policy, gitvault.policy.validcache, gitvault.keypath,"
        " gitvault.sopsconfig, gitvault.drivers.textconv;"
        "print(' '.join(m for m in ('dataclasses', 'inspect', 'hashlib', 'hmac') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
