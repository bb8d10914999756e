"""Field validators used to declare frames (private to the protocol package).

A validator takes ``(field_name, raw_json_value)`` and returns the checked value or
raises :class:`ProtocolError`. They check shape and bounds only; they never decode
opaque payloads.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from re import Pattern
from typing import Any

from .codes import ErrorCode
from .errors import ProtocolError

Validator = Callable[[str, Any], Any]


def _bad(name: str, what: str, code: ErrorCode = ErrorCode.BAD_FRAME) -> ProtocolError:
    return ProtocolError(code, f"field {name!r} {what}")


def v_str(
    max_len: int,
    *,
    min_len: int = 0,
    pattern: Pattern[str] | None = None,
    code: ErrorCode = ErrorCode.BAD_FRAME,
) -> Validator:
    """A string of bounded length, optionally matching *pattern* (failing with *code*)."""

    def check(name: str, value: Any) -> str:
        if type(value) is not str:
            raise _bad(name, "must be a string")
        if not min_len <= len(value) <= max_len:
            raise _bad(name, f"must be {min_len}-{max_len} characters", code)
        if pattern is not None and pattern.fullmatch(value) is None:
            raise _bad(name, "has characters or a form that is not allowed", code)
        return value

    return check


def v_payload(max_text: int, max_binary: int) -> Validator:
    """An opaque payload: a non-empty base64 string, or the bytes of a binary body."""

    def check(name: str, value: Any) -> str | bytes:
        kind = type(value)
        if kind is str:
            if not 1 <= len(value) <= max_text:
                raise _bad(name, f"must be 1-{max_text} characters")
        elif kind is bytes:
            if not 1 <= len(value) <= max_binary:
                raise _bad(name, f"must be 1-{max_binary} bytes", ErrorCode.TOO_LARGE)
        else:
            raise _bad(name, "must be a string (or a binary body)")
        return value  # type: ignore[no-any-return]

    return check


def v_int(lo: int, hi: int) -> Validator:
    """An integer (not a bool) in ``[lo, hi]``."""

    def check(name: str, value: Any) -> int:
        if type(value) is not int or not lo <= value <= hi:
            raise _bad(name, f"must be an integer in [{lo}, {hi}]")
        return value

    return check


def v_float(lo: float, hi: float) -> Validator:
    """A finite number in ``[lo, hi]``; integers are accepted and kept as floats."""

    def check(name: str, value: Any) -> float:
        if type(value) not in (int, float) or not math.isfinite(value) or not lo <= value <= hi:
            raise _bad(name, f"must be a number in [{lo}, {hi}]")
        return float(value)

    return check


def v_bool(name: str, value: Any) -> bool:
    """A JSON boolean."""
    if type(value) is not bool:
        raise _bad(name, "must be true or false")
    return value


def v_enum(*choices: str) -> Validator:
    """One of a fixed set of strings."""
    allowed = frozenset(choices)

    def check(name: str, value: Any) -> str:
        if type(value) is not str or value not in allowed:
            raise _bad(name, f"must be one of {sorted(allowed)}")
        return value

    return check


def v_opt(inner: Validator) -> Validator:
    """``None`` (JSON null) or whatever *inner* accepts."""

    def check(name: str, value: Any) -> Any:
        return None if value is None else inner(name, value)

    return check


def v_list(inner: Validator, max_items: int) -> Validator:
    """A list of at most *max_items* items, each checked by *inner*; returns a tuple."""

    def check(name: str, value: Any) -> tuple[Any, ...]:
        if type(value) is not list or len(value) > max_items:
            raise _bad(name, f"must be a list of at most {max_items} items")
        return tuple(inner(name, item) for item in value)

    return check


def v_map(key: Validator, val: Validator, max_items: int) -> Validator:
    """An object of at most *max_items* entries with checked keys and values."""

    def check(name: str, value: Any) -> dict[Any, Any]:
        if type(value) is not dict or len(value) > max_items:
            raise _bad(name, f"must be an object of at most {max_items} entries")
        return {key(name, k): val(name, v) for k, v in value.items()}

    return check


def v_record(cls: type[Any]) -> Validator:
    """A nested record (a dataclass declared with :func:`spec`), from a JSON object."""

    def check(name: str, value: Any) -> Any:
        if type(value) is not dict:
            raise _bad(name, "must be an object")
        return build(cls, value)

    return check


def spec(validator: Validator, default: Any = dataclasses.MISSING) -> Any:
    """Declare a dataclass field with its wire validator (and a default if optional)."""
    return dataclasses.field(default=default, metadata={"v": validator})


_SPECS: dict[type[Any], tuple[tuple[str, Validator, bool, Any], ...]] = {}


def compile_spec(cls: type[Any]) -> None:
    """Precompute ``(name, validator, required, default)`` for every field of *cls*."""
    items = []
    for f in dataclasses.fields(cls):
        validator = f.metadata.get("v")
        if validator is None:
            raise TypeError(f"{cls.__name__}.{f.name} has no validator")
        required = f.default is dataclasses.MISSING
        items.append((f.name, validator, required, None if required else f.default))
    _SPECS[cls] = tuple(items)


def build(cls: type[Any], data: dict[str, Any]) -> Any:
    """Validate *data* field by field and construct *cls*; unknown keys are ignored."""
    kwargs: dict[str, Any] = {}
    for name, validator, required, default in _SPECS[cls]:
        if name in data:
            kwargs[name] = validator(name, data[name])
        elif required:
            raise _bad(name, "is missing")
        else:
            kwargs[name] = default
    return cls(**kwargs)


def to_json(value: Any) -> Any:
    """Convert a record, tuple or mapping into plain JSON values, dropping ``None`` fields."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            name: to_json(getattr(value, name))
            for name, _, _, _ in _SPECS[type(value)]
            if getattr(value, name) is not None
        }
    if isinstance(value, tuple | list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value
