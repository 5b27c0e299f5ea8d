"""Typed YAML: read YAML (1.2 floats) into dataclasses whose annotations are checked, with errors that name the key.

Generic: nothing here knows what a training recipe is. :func:`build_dataclass` builds one dataclass from a mapping
(unknown keys get a close-match suggestion), :func:`coerce` checks one value against an annotation (``int`` is
accepted for ``float``; ``X | None``, ``Literal[...]``, ``list[X]``, ``dict``, ``Any``), :func:`require` raises the
``ValueError`` a dataclass's own validation gives.
"""
from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from typing import Any, Literal

import yaml

__all__ = ["YamlLoader", "build_dataclass", "coerce", "load_yaml", "require", "suggest", "type_name"]


class YamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that also reads ``1e-4`` as a float (YAML 1.2); YAML 1.1 wants ``1.0e-4``."""


YamlLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
YamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"), list("-+0123456789"))


def load_yaml(text: str) -> Any:
    """Parse YAML text with :class:`YamlLoader` (safe: plain data only)."""
    return yaml.load(text, Loader=YamlLoader)  # noqa: S506 (a SafeLoader subclass)


def suggest(key: str, valid) -> str:
    """`` Did you mean 'x'?`` for the closest of ``valid`` to ``key``, or an empty string."""
    close = difflib.get_close_matches(key, list(valid), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def build_dataclass(cls: type, raw: Any, section: str, source: str):
    """``cls(**raw)`` with every key known to ``cls`` and every value checked against its annotation.

    Args:
        cls: a dataclass (its ``__post_init__`` may validate further).
        raw: the mapping read from YAML.
        section: the name of this mapping in the file (quoted in errors).
        source: where the data came from (a file name, quoted in errors).
    """
    if not isinstance(raw, dict):
        raise TypeError(f"{source}: section {section!r} must be a mapping of keys to values, "
                        f"got {type(raw).__name__} ({raw!r}).")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs = {}
    for key, value in raw.items():
        if key not in names:
            raise ValueError(f"{source}: unknown key {key!r} in section {section!r}.{suggest(str(key), names)} "
                             f"Valid keys: {', '.join(names)}.")
        kwargs[key] = coerce(value, hints[key], f"{section}.{key}", source)
    return cls(**kwargs)


def type_name(tp) -> str:
    """A readable name of an annotation: ``int | null``, ``'a' | 'b'``, ``list[float]``."""
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(a) for a in typing.get_args(tp))
    if origin is not None:
        return f"{origin.__name__}[{', '.join(type_name(a) for a in typing.get_args(tp))}]"
    return "null" if tp is type(None) else getattr(tp, "__name__", str(tp))


def coerce(value: Any, tp, key: str, source: str) -> Any:
    """Check ``value`` against the annotation ``tp``; ints are accepted for floats. Returns the value to store."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def fail():
        raise TypeError(f"{source}: {key} must be {type_name(tp)}, got {type(value).__name__} {value!r}. "
                        f"Fix the value in the recipe or override it, e.g. {key}=<value>.")

    if origin in (typing.Union, types.UnionType):
        if value is None:
            if type(None) in args:
                return None
            fail()
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, key, source)
            except (TypeError, ValueError):
                continue
        fail()
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{source}: {key}={value!r} is not one of {', '.join(repr(a) for a in args)}. "
                             f"Pick one of those values.")
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            fail()
        return [coerce(v, args[0], f"{key}[{i}]", source) for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            fail()
        return dict(value)
    if tp in (bool, int, float, str):
        allowed = (int, float) if tp is float else (tp,)
        if not isinstance(value, allowed) or (tp is not bool and isinstance(value, bool)):
            fail()  # a YAML true/false is never a number
        return float(value) if tp is float else value
    if tp is Any:
        return value
    raise TypeError(f"{source}: internal error, unsupported annotation {tp!r} for {key}.")


def require(ok: bool, message: str) -> None:
    """Raise ``ValueError(message)`` unless ``ok``."""
    if not ok:
        raise ValueError(message)
