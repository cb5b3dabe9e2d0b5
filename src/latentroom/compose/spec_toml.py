"""Write a ``CompositionSpec`` back as TOML (a small emitter for the spec's own value types)."""

from __future__ import annotations

import json
import math
import re
from typing import Any

from latentroom.compose.spec import CompositionSpec, SectionSpec

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_HEADER = "# Resolved by `latentroom compose render`: every seed is explicit and paths absolute.\n"


def spec_to_toml(spec: CompositionSpec) -> str:
    """The spec as TOML text that ``parse_spec`` reads back to an equal spec.

    Optional values left as None (an unset seed, ``frames`` of a source) are omitted.
    """
    top = {
        "codec": spec.codec,
        "seed": spec.seed,
        "max_frames": spec.max_frames,
        "decode": spec.decode,
        "latent_wav_subtype": spec.latent_wav_subtype,
        "level": spec.level,
    }
    parts = [_HEADER + _pairs(top)]
    for src in spec.sources:
        values = {"path": str(src.path), "start": src.start, "frames": src.frames}
        parts.append(f"[sources.{_key(src.name)}]\n" + _pairs(values))
    for st in spec.stats:
        values = {"sources": list(st.sources), "ar_order": st.ar_order}
        parts.append(f"[stats.{_key(st.name)}]\n" + _pairs(values))
    for sy in spec.synth:
        values = {
            "stats": sy.stats,
            "distribution": sy.distribution,
            "frames": sy.frames,
            "seed": sy.seed,
        }
        parts.append(f"[synth.{_key(sy.name)}]\n" + _pairs(values))
    parts.extend("[[sections]]\n" + _pairs(_section_values(sec)) for sec in spec.sections)
    return "\n".join(parts)


def _section_values(section: SectionSpec) -> dict[str, Any]:
    return {
        "name": section.name,
        "a": section.a,
        "b": section.b,
        "pattern": section.pattern,
        "loops": section.loops,
        "seed": section.seed,
        **{key: section.options[key] for key in sorted(section.options)},
    }


def _pairs(values: dict[str, Any]) -> str:
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in values.items() if v is not None)


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else _string(name)


def _string(text: str) -> str:
    # JSON string escapes (\", \\, \n, \uXXXX) are all valid TOML basic-string escapes; TOML
    # also forbids a raw DEL, which JSON leaves alone.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML spec values must be finite; got {value}")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to a TOML spec")
