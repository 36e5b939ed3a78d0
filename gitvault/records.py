"""Small record classes for the read path, without importing :mod:`dataclasses`.

``dataclasses`` imports :mod:`inspect`, and with it ``ast``, ``dis``,
``tokenize`` and ``linecache``: about 12 ms of a ~85 ms ``gitvault decrypt``,
more than the decryption itself. The dozen value classes a decrypt, a
``git diff`` textconv or a hook touches need only what :func:`record` gives:
a generated ``__init__`` (defaults and default factories), ``__repr__``,
``__eq__``, frozen attributes with ``__hash__``, ``__slots__`` on request,
copying, and :func:`replace`. Type checkers treat them as dataclasses
(PEP 681), so annotations and ``replace(...)`` calls are checked as before.

Modules off the hot path keep using :mod:`dataclasses`; :func:`replace`
accepts instances of both, so a caller never needs to know which it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, dataclass_transform, overload

_T = TypeVar("_T")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class Field:
    """What :func:`field` declares for one attribute."""

    __slots__ = ("compare", "default", "factory", "repr")

    def __init__(self, default: Any, factory: Any, repr_: bool, compare: bool) -> None:
        self.default = default
        self.factory = factory
        self.repr = repr_
        self.compare = compare


def field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    repr: bool = True,
    compare: bool = True,
) -> Any:
    """Declare a default, a default factory, or leave an attribute out of repr/eq."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("give a default or a default_factory, not both")
    return Field(default, default_factory, repr, compare)


class FrozenRecordError(AttributeError):
    """Assignment to an attribute of a frozen record."""


def _own_fields(cls: type) -> list[str]:
    """Attributes annotated in the class body itself, ClassVars skipped."""
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - inspect is what we avoid
    return [n for n, a in own.items() if not str(a).startswith(("ClassVar", "typing.ClassVar"))]


def _fields_and_specs(cls: type) -> tuple[list[str], dict[str, Field]]:
    """Every field in declaration order (record base classes' first) with its declaration."""
    names: list[str] = []
    specs: dict[str, Field] = {}
    for klass in reversed(cls.__mro__[1:-1]):
        for name, spec in klass.__dict__.get("__record_specs__", {}).items():
            if name not in specs:
                names.append(name)
            specs[name] = spec
    for name in _own_fields(cls):
        value = cls.__dict__.get(name, MISSING)
        spec = value if isinstance(value, Field) else Field(value, MISSING, True, True)
        if name not in specs:
            names.append(name)
        specs[name] = spec
    return names, specs


def _make_init(names: list[str], specs: dict[str, Field], frozen: bool) -> Callable[..., None]:
    """Generate ``__init__`` once per class (as dataclasses does): a plain call per instance."""
    params: list[str] = []
    body: list[str] = []
    namespace: dict[str, Any] = {"_setattr": object.__setattr__, "MISSING": MISSING}
    seen_default = False
    for name in names:
        spec = specs[name]
        if spec.factory is not MISSING:
            namespace[f"_factory_{name}"] = spec.factory
            params.append(f"{name}=MISSING")
            value = f"_factory_{name}() if {name} is MISSING else {name}"
            seen_default = True
        elif spec.default is not MISSING:
            namespace[f"_default_{name}"] = spec.default
            params.append(f"{name}=_default_{name}")
            value = name
            seen_default = True
        else:
            if seen_default:
                raise TypeError(f"non-default field {name!r} follows a default field")
            params.append(name)
            value = name
        body.append(
            f"    _setattr(self, {name!r}, {value})" if frozen else f"    self.{name} = {value}"
        )
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(source, namespace)  # noqa: S102 - source built above from identifiers only
    return namespace["__init__"]  # type: ignore[no-any-return]


def _build(cls: type, frozen: bool, slots: bool) -> type:
    names, specs = _fields_and_specs(cls)
    for name in names:
        if not name.isidentifier():
            raise TypeError(f"record field {name!r} is not an identifier")
    shown = tuple(n for n in names if specs[n].repr)
    compared = tuple(n for n in names if specs[n].compare)
    own = cls.__dict__

    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
        return f"{type(self).__qualname__}({inner})"

    def __eq__(self: Any, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        # Tuples, as dataclasses compares: identical objects (a NaN) count as equal.
        return tuple(getattr(self, n) for n in compared) == tuple(
            getattr(other, n) for n in compared
        )

    def __hash__(self: Any) -> int:
        return hash(tuple(getattr(self, n) for n in compared))

    def __frozen_setattr__(self: Any, name: str, value: object) -> None:
        raise FrozenRecordError(f"cannot assign to field {name!r}")

    def __frozen_delattr__(self: Any, name: str) -> None:
        raise FrozenRecordError(f"cannot delete field {name!r}")

    def __reduce__(self: Any) -> tuple[type, tuple[Any, ...]]:
        # copy, deepcopy and pickle rebuild through __init__, so frozen and
        # slotted records copy like any other object.
        return type(self), tuple(getattr(self, n) for n in names)

    methods: dict[str, Any] = {
        "__init__": _make_init(names, specs, frozen),
        "__repr__": __repr__,
        "__eq__": __eq__,
        "__reduce__": __reduce__,
        "__match_args__": tuple(names),
    }
    if frozen:
        methods["__setattr__"] = __frozen_setattr__
        methods["__delattr__"] = __frozen_delattr__
    # Hashable when frozen, unhashable when mutable (as dataclasses), unless the
    # class body defines its own __hash__.
    if own.get("__hash__") is None:
        methods["__hash__"] = __hash__ if frozen else None
    if slots:
        body = {k: v for k, v in own.items() if k not in (*names, "__dict__", "__weakref__")}
        body["__slots__"] = tuple(n for n in names if n not in _inherited_slots(cls))
        cls = type(cls)(cls.__name__, cls.__bases__, body)
    for key, value in methods.items():
        if key not in own or key == "__hash__":  # __hash__: decided above
            setattr(cls, key, value)
    for name in names:
        # Class attributes holding defaults would shadow nothing useful and,
        # for fields declared with field(), are Field objects: drop them.
        if isinstance(cls.__dict__.get(name), Field):
            delattr(cls, name)
    cls.__record_fields__ = tuple(names)  # type: ignore[attr-defined]
    cls.__record_specs__ = {n: specs[n] for n in names}  # type: ignore[attr-defined]
    return cls


def _inherited_slots(cls: type) -> set[str]:
    found: set[str] = set()
    for klass in cls.__mro__[1:]:
        found.update(klass.__dict__.get("__slots__", ()))
    return found


@overload
def record(cls: type[_T], /) -> type[_T]: ...


@overload
def record(*, frozen: bool = False, slots: bool = False) -> Callable[[type[_T]], type[_T]]: ...


@dataclass_transform(field_specifiers=(field, Field))
def record(cls: type[_T] | None = None, /, *, frozen: bool = False, slots: bool = False) -> Any:
    """Turn a class with annotated attributes into a record (``@record`` or ``@record(...)``)."""

    def wrap(klass: type[_T]) -> type[_T]:
        return _build(klass, frozen, slots)

    return wrap if cls is None else wrap(cls)


def is_record(obj: object) -> bool:
    return hasattr(type(obj), "__record_fields__")


def replace(obj: _T, /, **changes: Any) -> _T:
    """A copy of ``obj`` with some fields changed (records and dataclasses alike)."""
    cls = type(obj)
    names = getattr(cls, "__record_fields__", None)
    if names is None:
        import dataclasses  # a dataclass instance: its module is loaded already

        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    unknown = set(changes) - set(names)
    if unknown:
        raise TypeError(f"{cls.__name__} has no field {sorted(unknown)[0]!r}")
    values = {n: changes[n] if n in changes else getattr(obj, n) for n in names}
    return cls(**values)
