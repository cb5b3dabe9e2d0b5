"""The composition spec (TOML): sources, stats, synths and sections, parsed and checked strictly.

The schema is documented in ``docs/composition.md``. Every error names the offending key by its
dotted path (``sections[1].pattern``, ``synth.noise.frames``).
"""

from __future__ import annotations

import os
import secrets
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.compose.patterns import MAX_FRAMES, PATTERNS, TWO_ARRAY_PATTERNS
from latentroom.compose.synth import DISTRIBUTIONS
from latentroom.errors import ConfigError

#: A section without a pattern plays A ``loops`` times.
REPEAT = "repeat"
#: Section keys every pattern takes, and the extra keys each pattern allows.
_SECTION_KEYS = frozenset({"name", "a", "b", "pattern", "loops", "seed"})
PATTERN_OPTIONS: dict[str, frozenset[str]] = {
    REPEAT: frozenset(),
    "fibo": frozenset(),
    "orale": frozenset({"depth", "amount"}),
    "blender": frozenset({"cells_per_step"}),
    "swapper": frozenset({"n_swaps"}),
}
_TOP_KEYS = frozenset(
    {"codec", "seed", "max_frames", "decode", "latent_wav_subtype", "sources", "stats", "synth"}
    | {"sections", "level"}
)


@dataclass(frozen=True)
class SourceSpec:
    """A latent file (``.npy``, latent WAV with sidecar) or an audio file to encode."""

    name: str
    path: Path  # absolute
    start: int = 0  # first frame kept
    frames: int | None = None  # frames kept from ``start`` (None: to the end)


@dataclass(frozen=True)
class StatsSpec:
    """Statistics over the frames of some sources."""

    name: str
    sources: tuple[str, ...]
    ar_order: int = 2  # order of the AR fit used by distribution "ar"


@dataclass(frozen=True)
class SynthSpec:
    """Synthetic latents drawn from a stats entry."""

    name: str
    stats: str
    distribution: str
    frames: int
    seed: int | None = None  # None: derived from the master seed at render time


@dataclass(frozen=True)
class SectionSpec:
    """One section of the output: a pattern over material A (and B)."""

    name: str
    a: str
    b: str | None = None  # only blender and swapper take B
    pattern: str = REPEAT
    loops: int = 1
    seed: int | None = None  # None: derived from the master seed at render time
    options: dict[str, Any] = field(default_factory=dict)  # depth, amount, cells_per_step, ...


@dataclass(frozen=True)
class CompositionSpec:
    """A whole composition: sections rendered in order and concatenated."""

    codec: str = "builtin"  # encodes audio sources, decodes the result, gives the frame rate
    seed: int | None = None  # master seed; None draws one (recorded in the resolved spec)
    max_frames: int = MAX_FRAMES  # refuse a composition longer than this many frames
    decode: bool = True  # write the decoded audio
    latent_wav_subtype: str = "FLOAT"  # "FLOAT" (every Pd) or "DOUBLE" (Pd >= 0.55)
    level: str = "keep"  # level policy of the decoded audio (latentroom.audio.levels)
    sources: tuple[SourceSpec, ...] = ()
    stats: tuple[StatsSpec, ...] = ()
    synth: tuple[SynthSpec, ...] = ()
    sections: tuple[SectionSpec, ...] = ()


def load_spec(path: str | os.PathLike[str]) -> CompositionSpec:
    """Read and check a spec file; relative source paths are taken from the spec's folder."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such spec file; check the path") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not a readable TOML spec ({err})") from err
    return parse_spec(raw, base_dir=path.resolve().parent)


def parse_spec(raw: dict[str, Any], *, base_dir: Path) -> CompositionSpec:
    """Build a ``CompositionSpec`` from parsed TOML, rejecting unknown keys and bad references."""
    _check_keys(raw, _TOP_KEYS, "")
    spec = CompositionSpec(
        codec=_get(raw, "codec", str, "codec", "builtin"),
        seed=_seed(raw.get("seed"), "seed"),
        max_frames=_count(raw.get("max_frames", MAX_FRAMES), "max_frames"),
        decode=_get(raw, "decode", bool, "decode", True),
        latent_wav_subtype=_choice(
            raw.get("latent_wav_subtype", "FLOAT"), ("FLOAT", "DOUBLE"), "latent_wav_subtype"
        ),
        level=_level(raw.get("level", "keep")),
        sources=tuple(_source(n, v, base_dir) for n, v in _table(raw, "sources").items()),
        stats=tuple(_stats(n, v) for n, v in _table(raw, "stats").items()),
        synth=tuple(_synth(n, v) for n, v in _table(raw, "synth").items()),
        sections=tuple(_section(i, v) for i, v in enumerate(_sections(raw))),
    )
    _check_references(spec)
    return spec


def resolve_seeds(spec: CompositionSpec, *, seed: int | None = None) -> CompositionSpec:
    """Fill in every seed: the master (``seed``, the spec's, or a fresh draw), then the rest.

    A synth or section without a seed gets one derived from the master seed and its position
    (``SeedSequence(master, spawn_key=(kind, index))``), so a resolved spec renders alike.
    """
    chosen = _seed(seed if seed is not None else spec.seed, "seed")
    master = secrets.randbits(32) if chosen is None else chosen
    synth = tuple(
        s if s.seed is not None else replace(s, seed=derive_seed(master, 0, i))
        for i, s in enumerate(spec.synth)
    )
    sections = tuple(
        s if s.seed is not None else replace(s, seed=derive_seed(master, 1, i))
        for i, s in enumerate(spec.sections)
    )
    return replace(spec, seed=master, synth=synth, sections=sections)


def derive_seed(master: int, kind: int, index: int) -> int:
    """A 32-bit seed for item ``index`` of a kind (0 synth, 1 section) from the master seed."""
    state = np.random.SeedSequence(master, spawn_key=(kind, index)).generate_state(1)
    return int(state[0])


def _source(name: str, raw: Any, base_dir: Path) -> SourceSpec:
    where = f"sources.{name}"
    table = _as_table(raw, where)
    _check_keys(table, frozenset({"path", "start", "frames"}), where)
    if "path" not in table:
        raise ConfigError(f"{where}.path is missing; give the latent or audio file to read")
    path = Path(_get(table, "path", str, f"{where}.path", ""))
    frames = table.get("frames")
    return SourceSpec(
        name=name,
        path=path if path.is_absolute() else (base_dir / path).resolve(),
        start=_count(table.get("start", 0), f"{where}.start", minimum=0),
        frames=None if frames is None else _count(frames, f"{where}.frames"),
    )


def _stats(name: str, raw: Any) -> StatsSpec:
    where = f"stats.{name}"
    table = _as_table(raw, where)
    _check_keys(table, frozenset({"sources", "ar_order"}), where)
    sources = table.get("sources")
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
        raise ConfigError(f"{where}.sources must be a non-empty list of source names")
    return StatsSpec(name, tuple(sources), _count(table.get("ar_order", 2), f"{where}.ar_order"))


def _synth(name: str, raw: Any) -> SynthSpec:
    where = f"synth.{name}"
    table = _as_table(raw, where)
    _check_keys(table, frozenset({"stats", "distribution", "frames", "seed"}), where)
    for key in ("stats", "distribution", "frames"):
        if key not in table:
            raise ConfigError(f"{where}.{key} is missing")
    return SynthSpec(
        name=name,
        stats=_get(table, "stats", str, f"{where}.stats", ""),
        distribution=_choice(table["distribution"], DISTRIBUTIONS, f"{where}.distribution"),
        frames=_count(table["frames"], f"{where}.frames"),
        seed=_seed(table.get("seed"), f"{where}.seed"),
    )


def _section(index: int, raw: Any) -> SectionSpec:
    where = f"sections[{index}]"
    table = _as_table(raw, where)
    pattern = _choice(table.get("pattern", REPEAT), (REPEAT, *PATTERNS), f"{where}.pattern")
    allowed = PATTERN_OPTIONS[pattern]
    for key in table:
        if key not in _SECTION_KEYS and key not in allowed:
            raise ConfigError(
                f"{where}.{key}: unknown key for pattern {pattern!r}; allowed: "
                f"{', '.join(sorted(_SECTION_KEYS | allowed))}"
            )
    if "a" not in table:
        raise ConfigError(f"{where}.a is missing; name a source or synth")
    options = {key: table[key] for key in allowed if key in table}
    for key in ("depth", "cells_per_step", "n_swaps"):
        if key in options:
            _count(options[key], f"{where}.{key}")
    amount = options.get("amount", 0)
    if isinstance(amount, bool) or not isinstance(amount, int | float) or amount < 0:
        raise ConfigError(f"{where}.amount must be a number >= 0; got {options['amount']!r}")
    b = table.get("b")
    return SectionSpec(
        name=_get(table, "name", str, f"{where}.name", f"section-{index}"),
        a=_get(table, "a", str, f"{where}.a", ""),
        b=None if b is None else _get(table, "b", str, f"{where}.b", ""),
        pattern=pattern,
        loops=_count(table.get("loops", 1), f"{where}.loops"),
        seed=_seed(table.get("seed"), f"{where}.seed"),
        options=options,
    )


def _check_references(spec: CompositionSpec) -> None:
    sources = {s.name for s in spec.sources}
    stats = {s.name for s in spec.stats}
    materials = sources | {s.name for s in spec.synth}
    clash = sources & {s.name for s in spec.synth}
    if clash:
        raise ConfigError(f"synth.{sorted(clash)[0]}: the name is also a source; rename one")
    for st in spec.stats:
        for i, name in enumerate(st.sources):
            _check_name(name, sources, f"stats.{st.name}.sources[{i}]", "source")
    for sy in spec.synth:
        _check_name(sy.stats, stats, f"synth.{sy.name}.stats", "stats entry")
    if not spec.sections:
        raise ConfigError("sections: the spec has no [[sections]]; add at least one")
    for i, sec in enumerate(spec.sections):
        _check_name(sec.a, materials, f"sections[{i}].a", "source or synth")
        if sec.pattern in TWO_ARRAY_PATTERNS:
            if sec.b is None:
                raise ConfigError(f"sections[{i}].b is missing; pattern {sec.pattern!r} needs B")
            _check_name(sec.b, materials, f"sections[{i}].b", "source or synth")
        elif sec.b is not None:
            raise ConfigError(
                f"sections[{i}].b: pattern {sec.pattern!r} takes no B (only blender, swapper)"
            )


def _check_name(name: str, known: set[str], where: str, what: str) -> None:
    if name not in known:
        raise ConfigError(
            f"{where}: unknown {what} {name!r}; known: {', '.join(sorted(known)) or 'none'}"
        )


def _check_keys(table: dict[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in table:
        if key not in allowed:
            path = f"{where}.{key}" if where else key
            raise ConfigError(f"{path}: unknown key; allowed: {', '.join(sorted(allowed))}")


def _table(raw: dict[str, Any], key: str) -> dict[str, Any]:
    return _as_table(raw.get(key, {}), key)


def _as_table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table; got {type(value).__name__}")
    return value


def _sections(raw: dict[str, Any]) -> list[Any]:
    value = raw.get("sections", [])
    if not isinstance(value, list):
        raise ConfigError("sections must be an array of tables ([[sections]])")
    return value


def _get(table: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    value = table.get(key, default)
    if not isinstance(value, kind):
        raise ConfigError(f"{where} must be a {kind.__name__}; got {value!r}")
    return value


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise ConfigError(f"{where}: unknown value {value!r}; choose one of {', '.join(allowed)}")
    return str(value)


def _level(value: Any) -> str:
    from latentroom.audio.levels import LevelPolicy

    if not isinstance(value, str):
        raise ConfigError(f'level must be a string such as "keep" or "lufs:-23"; got {value!r}')
    return str(LevelPolicy.parse(value))


def _count(value: Any, where: str, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{where} must be an integer >= {minimum}; got {value!r}")
    return value


def _seed(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise ConfigError(f"{where} must be an integer in 0..2**63-1; got {value!r}")
    return value
