"""Per-pass feedback parameters as pure functions of the pass index, read from TOML."""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.errors import ConfigError

#: The protocol's prompts (seed §4.2): pass 1, and passes 2-5 with the entropy request added.
PROMPT = (
    "Granular synthesis, comb filter resonance, metallic decay, non-linear distortion, "
    "ferrofluid texture"
)
PROMPT_EXTENDED = f"{PROMPT}, spectral degradation, digital artifacts, bitcrushing"

#: The default schedule, the source protocol; ``docs/examples/default-schedule.toml`` holds it too.
DEFAULT_SCHEDULE_TOML = f"""\
passes = 5  # the protocol: one texturising pass, then four passes of drift

[[stage]]
start = 1          # pass 1: initial texturisation
strength = 0.60
guidance = 15.0
prompt = "{PROMPT}"

[[stage]]
start = 2          # passes 2-5: lower strength, the prompt asks for entropy
strength = 0.45
guidance = 15.0
prompt = "{PROMPT_EXTENDED}"
"""

MAX_PASSES = 10_000
MAX_PROMPT_CHARS = 2_000
CURVES = ("linear", "cosine")


def _check_strength(value: float) -> bool:
    return 0.0 <= value <= 1.0


def _check_guidance(value: float) -> bool:
    return 0.0 <= value <= 100.0


def _check_gain(value: float) -> bool:
    return 0.0 < value <= 100.0


def _check_steps(value: float) -> bool:
    return value == int(value) and 1 <= value <= 1000


#: Numeric params: a check and the range it allows (for messages).
NUMERIC_PARAMS = {
    "strength": (_check_strength, "a number in [0, 1]"),
    "guidance": (_check_guidance, "a number in [0, 100]"),
    "gain": (_check_gain, "a number in (0, 100]"),
    "steps": (_check_steps, "an integer in [1, 1000]"),
}
PARAMS = (*NUMERIC_PARAMS, "prompt")
_STAGE_KEYS = ("start", *PARAMS)
_TOP_KEYS = ("passes", "defaults", "stage")


@dataclass(frozen=True)
class Ramp:
    """A value moving from ``start`` to ``end`` across its stage (``curve`` linear or cosine)."""

    start: float
    end: float
    curve: str = "linear"

    def at(self, fraction: float) -> float:
        """The value at ``fraction`` in [0, 1] of the stage."""
        if self.curve == "cosine":
            fraction = 0.5 - 0.5 * math.cos(math.pi * fraction)
        return self.start + (self.end - self.start) * fraction

    def to_dict(self) -> dict[str, Any]:
        return {"ramp": [self.start, self.end], "curve": self.curve}


Value = float | str | Ramp


@dataclass(frozen=True)
class Stage:
    """Values that hold from pass ``start`` until the next stage starts (or the run ends)."""

    start: int  # first pass of the stage, 1-based
    values: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class Schedule:
    """How many passes, and each param as a function of the pass index.

    A param's value at pass ``i`` is, by priority: an ``overrides`` entry (``--set``), the
    stage covering ``i``, ``defaults``. Params set nowhere are absent; backends then use their
    own defaults (recorded in the manifest).
    """

    passes: int = 5  # number of passes after the input (pass 0)
    defaults: dict[str, Value] = field(default_factory=dict)  # values for passes no stage sets
    stages: tuple[Stage, ...] = ()  # sorted by start, each start unique
    overrides: dict[str, Value] = field(default_factory=dict)  # --set: wins on every pass

    def __post_init__(self) -> None:
        _check_int("passes", self.passes, 1, MAX_PASSES)
        starts = [stage.start for stage in self.stages]
        if starts != sorted(set(starts)):
            raise ConfigError(f"stage starts must increase strictly; got {starts}")
        for stage in self.stages:
            _check_int("stage.start", stage.start, 1, MAX_PASSES)
            if stage.start > self.passes:
                raise ConfigError(
                    f"a stage starts at pass {stage.start}, after the last pass ({self.passes}); "
                    "remove the stage or raise passes"
                )

    def params_at(self, index: int) -> dict[str, float | str]:
        """The params of pass ``index`` (1-based) as plain values.

        1. find the stage covering the pass: the last one starting at or before it;
        2. its span runs to the pass before the next stage (or to the last pass);
        3. each param comes from the overrides, the stage or the defaults, in that order;
        4. a ramp is evaluated at the pass's fraction of its source's span (0 at the span's
           first pass, 1 at its last): the stage's span for stage values, the whole run
           (1..passes) for defaults and overrides.
        """
        if not 1 <= index <= self.passes:
            raise ConfigError(f"pass index {index} is outside 1..{self.passes}")
        stage, first, last = self._stage_at(index)
        run_fraction = _fraction(index, 1, self.passes)
        sources = [
            (self.defaults, run_fraction),
            (stage.values if stage else {}, _fraction(index, first, last)),
            (self.overrides, run_fraction),
        ]
        params: dict[str, float | str] = {}
        for values, fraction in sources:  # later sources win
            for name, value in values.items():
                params[name] = value.at(fraction) if isinstance(value, Ramp) else value
        if "steps" in params:
            params["steps"] = round(float(params["steps"]))
        return {name: params[name] for name in PARAMS if name in params}  # a stable order

    def _stage_at(self, index: int) -> tuple[Stage | None, int, int]:
        covering = [s for s in self.stages if s.start <= index]
        if not covering:
            return None, 1, self.passes
        stage = covering[-1]
        later = [s.start for s in self.stages if s.start > index]
        return stage, stage.start, min(later[0] - 1 if later else self.passes, self.passes)

    def set_params(self) -> list[str]:
        """Params some pass sets, in ``PARAMS`` order."""
        named = set(self.defaults) | set(self.overrides)
        for stage in self.stages:
            named |= set(stage.values)
        return [name for name in PARAMS if name in named]

    def with_passes(self, passes: int) -> Schedule:
        """The same schedule over another number of passes (``--passes``).

        Stages that would start after the new last pass are dropped: asking for fewer passes
        is asking for the schedule's beginning.
        """
        kept = tuple(stage for stage in self.stages if stage.start <= passes)
        return Schedule(passes, self.defaults, kept, self.overrides)

    def with_overrides(self, assignments: list[str]) -> Schedule:
        """Apply ``--set key=value`` assignments (value parsed as TOML, else taken as text)."""
        overrides = dict(self.overrides)
        for text in assignments:
            key, sep, raw = text.partition("=")
            key = key.strip()
            if not sep or not key:
                raise ConfigError(f"--set {text!r}: write key=value, e.g. --set strength=0.3")
            overrides[key] = _parse_value(f"--set {key}", key, _toml_scalar(raw.strip()))
        return Schedule(self.passes, self.defaults, self.stages, overrides)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the manifest stores it; ``schedule_from_dict`` reads it back)."""
        return {
            "passes": self.passes,
            "defaults": _values_to_dict(self.defaults),
            "stage": [{"start": s.start, **_values_to_dict(s.values)} for s in self.stages],
            "overrides": _values_to_dict(self.overrides),
        }


def _fraction(index: int, first: int, last: int) -> float:
    """Where pass ``index`` lies in ``first..last``: 0 at ``first``, 1 at ``last``."""
    return (index - first) / (last - first) if last > first else 0.0


def default_schedule() -> Schedule:
    """The protocol's schedule (``DEFAULT_SCHEDULE_TOML``)."""
    return parse_schedule(DEFAULT_SCHEDULE_TOML)


def parse_schedule(text: str, *, source: str = "schedule") -> Schedule:
    """Read a schedule from TOML text.

    Raises
    ------
    ConfigError
        Invalid TOML, unknown keys or out-of-range values; the message names the key.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML ({err}); see docs/feedback-loop.md") from err
    return schedule_from_dict(data, source=source)


def schedule_from_dict(data: dict[str, Any], *, source: str = "schedule") -> Schedule:
    """Build a schedule from parsed TOML (or ``Schedule.to_dict()``); unknown keys are errors."""
    data = dict(data)
    overrides = data.pop("overrides", {})  # present in manifests, not in hand-written TOML
    _reject_unknown(source, data, _TOP_KEYS)
    stages = []
    for number, raw in enumerate(data.get("stage", []), start=1):
        where = f"{source}: stage {number}"
        if not isinstance(raw, dict) or "start" not in raw:
            raise ConfigError(f"{where}: each [[stage]] needs a 'start' pass, e.g. start = 1")
        _reject_unknown(where, raw, _STAGE_KEYS)
        values = {k: _parse_value(f"{where}: {k}", k, v) for k, v in raw.items() if k != "start"}
        stages.append(Stage(_int_value(f"{where}: start", raw["start"]), values))
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: 'defaults' must be a table of params")
    _reject_unknown(f"{source}: defaults", defaults, PARAMS)
    return Schedule(
        passes=_int_value(f"{source}: passes", data.get("passes", 5)),
        defaults={k: _parse_value(f"{source}: defaults.{k}", k, v) for k, v in defaults.items()},
        stages=tuple(stages),
        overrides={k: _parse_value(f"{source}: --set {k}", k, v) for k, v in overrides.items()},
    )


def pass_seed(master_seed: int, index: int) -> int:
    """The seed of pass ``index``: child ``index`` of ``SeedSequence(master_seed)``, as uint32.

    A pure function of ``(master_seed, index)``, so extending a run keeps earlier seeds.
    """
    sequence = np.random.SeedSequence(master_seed, spawn_key=(index,))
    return int(sequence.generate_state(1, dtype=np.uint32)[0])


def _reject_unknown(where: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; allowed keys are {', '.join(allowed)}"
        )


def _parse_value(where: str, name: str, value: Any) -> Value:
    """Check one value of param ``name`` (constant, or ``{ramp = [a, b], curve = ...}``)."""
    if name not in PARAMS:
        raise ConfigError(
            f"{where}: unknown param {name!r}; allowed params are {', '.join(PARAMS)}"
        )
    if name == "prompt":
        if not isinstance(value, str) or len(value) > MAX_PROMPT_CHARS:
            raise ConfigError(f"{where}: must be text of at most {MAX_PROMPT_CHARS} characters")
        return value
    if isinstance(value, dict):
        return _parse_ramp(where, name, value)
    _check_number(where, name, value)
    return float(value)


def _parse_ramp(where: str, name: str, value: dict[str, Any]) -> Ramp:
    _reject_unknown(where, value, ("ramp", "curve"))
    ends = value.get("ramp")
    if not isinstance(ends, list) or len(ends) != 2:
        raise ConfigError(f"{where}: a ramp is {{ ramp = [first, last] }}, e.g. [0.6, 0.3]")
    for end in ends:
        _check_number(where, name, end)
    curve = value.get("curve", "linear")
    if curve not in CURVES:
        raise ConfigError(f"{where}: curve {curve!r} is unknown; use one of {', '.join(CURVES)}")
    return Ramp(float(ends[0]), float(ends[1]), curve)


def _check_number(where: str, name: str, value: Any) -> None:
    check, allowed = NUMERIC_PARAMS[name]
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(value) or not check(float(value)):
        raise ConfigError(f"{where} = {value!r} is out of range; it must be {allowed}")


def _int_value(where: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} = {value!r} must be a whole number")
    return value


def _check_int(where: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ConfigError(f"{where} = {value} is out of range; it must be in {low}..{high}")


def _toml_scalar(raw: str) -> Any:
    """``0.3`` -> 0.3, ``"a b"`` -> "a b", ``{ramp=[1,0]}`` -> dict; bare words stay text."""
    try:
        return tomllib.loads(f"value = {raw}")["value"]
    except tomllib.TOMLDecodeError:
        return raw


def _values_to_dict(values: dict[str, Value]) -> dict[str, Any]:
    return {k: v.to_dict() if isinstance(v, Ramp) else v for k, v in values.items()}


def load_schedule(
    path: str | os.PathLike[str] | None,
    *,
    passes: int | None = None,
    assignments: list[str] | None = None,
) -> Schedule:
    """The schedule of ``path`` (None: the default), with ``--passes`` and ``--set`` applied.

    Raises
    ------
    ConfigError
        A missing or invalid file, passes < 1, a bad assignment.
    """
    if path is None:
        schedule = default_schedule()
    else:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"schedule {path}: no such file; check the path")
        schedule = parse_schedule(path.read_text(encoding="utf-8"), source=str(path))
    if passes is not None:
        schedule = schedule.with_passes(passes)
    return schedule.with_overrides(assignments or [])
