"""Strict construction of the analysis config dataclasses from plain dicts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from latentroom.errors import ConfigError

T = TypeVar("T")


def config_from_dict(cls: type[T], values: dict[str, Any], what: str) -> T:
    """``cls(**values)``, refusing keys that are not fields of the dataclass ``cls``.

    Parameters
    ----------
    what : str
        Names the settings in the error ("Phase 0 settings").
    """
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {what} {unknown}; known: {sorted(known)}")
    return cls(**values)
