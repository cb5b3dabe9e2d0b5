"""The Koenig seed's parameters: frozen dataclasses whose defaults are the source protocol's."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, TypeVar

from latentroom.audio.checks import MAX_CHANNELS
from latentroom.audio.types import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE
from latentroom.errors import ConfigError
from latentroom.seeds.euclid import check_pulses, euclidean, rotate
from latentroom.seeds.excitations import EXCITATIONS, excitation_samples
from latentroom.seeds.sieves import sieve_rhythm

_T = TypeVar("_T")
MAX_SECONDS = 3600.0  # a seed longer than an hour is a typo (1e9 s would ask numpy for 349 TiB)


@dataclass(frozen=True)
class SeedLayer:
    """One rhythm and the excitation that sounds it; a seed sums one or more layers."""

    pulses: int = 5  # k: onsets per cycle of E(k, n) (the protocol's E(5, 13))
    steps: int = 13  # n: steps per cycle
    rotation: int = 0  # left rotation of the rhythm, in steps
    sieve: str | None = None  # Xenakis sieve over the steps ("5@0|13@3"); replaces E(k, n)
    level_db: float = 0.0  # gain of this layer's excitation and tail, dB
    excitation: str = "impulse"  # impulse (the protocol's Dirac), noise-burst, sine-ping, click

    def __post_init__(self) -> None:
        check_pulses(self.pulses if self.sieve is None else 0, self.steps)
        if self.sieve is not None:
            sieve_rhythm(self.sieve, self.steps)  # raises on a malformed sieve
        if not math.isfinite(self.level_db):
            raise ConfigError(f"level_db must be a finite number of dB; got {self.level_db}")
        if self.excitation not in EXCITATIONS:
            raise ConfigError(
                f"unknown excitation {self.excitation!r}; choose one of {', '.join(EXCITATIONS)}"
            )

    def rhythm(self) -> list[int]:
        """One cycle of the rhythm, ``steps`` long: 1 at onsets."""
        if self.sieve is not None:
            return rotate(sieve_rhythm(self.sieve, self.steps), self.rotation)
        return euclidean(self.pulses, self.steps, rotation=self.rotation)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedLayer:
        """Build from a dict; unknown keys are a ``ConfigError``."""
        return _from_dict(cls, data)


@dataclass(frozen=True)
class SeedConfig:
    """Everything that defines a rendered Koenig seed; the defaults are the source protocol.

    The main rhythm comes from ``pulses``/``steps``/``rotation``/``sieve``/``excitation``;
    ``layers`` adds further rhythms on top, each with its own level and excitation. Steps are
    placed at ``round(step_index * step_samples)``: by default one cycle (or ``cycles``) of
    each layer spans the whole buffer; ``step_ms`` or ``bpm`` fix the step length instead and
    the steps repeat until the buffer is full.
    """

    pulses: int = 5  # k of E(k, n)
    steps: int = 13  # n of E(k, n)
    rotation: int = 0  # left rotation of the rhythm, in steps
    sieve: str | None = None  # Xenakis sieve over the steps; replaces E(k, n) when given
    seconds: float = 10.0  # buffer length
    sample_rate: int = 48_000  # Hz
    channels: int = 1  # identical copies of the mono seed
    cycles: int = 1  # cycles of the rhythm inside the buffer (without step_ms / bpm)
    step_ms: float | None = None  # fixed step length; the steps fill the buffer
    bpm: float | None = None  # fixed step length from a tempo ...
    steps_per_beat: int = 4  # ... with this many steps per beat (4: sixteenth notes)
    excitation: str = "impulse"  # impulse (the protocol's Dirac), noise-burst, sine-ping, click
    amplitude: float = 1.0  # peak of each excitation (the protocol's Dirac of 1.0)
    freq: float = 1000.0  # sine-ping frequency and click cut-off, Hz
    excitation_ms: float = 10.0  # length of noise-burst, sine-ping and click
    tail_ms: float = 20.0  # Gaussian white-noise tail after each pulse; 0 disables it
    tail_db: float = -40.0  # RMS level of each tail, dBFS
    seed: int = 0  # seeds the one generator behind every tail and noise burst
    layers: tuple[SeedLayer, ...] = ()  # further rhythms summed onto the main one

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        self._check_buffer()
        self._check_timing()
        self._check_sound()
        for layer in self.all_layers():
            self._check_fits(layer)

    @property
    def n_samples(self) -> int:
        """Buffer length ``N`` in samples."""
        return round(self.seconds * self.sample_rate)

    @property
    def tail_samples(self) -> int:
        """Length of each noise tail in samples (0: no tail)."""
        return round(self.tail_ms * self.sample_rate / 1000.0)

    def main_layer(self) -> SeedLayer:
        """The rhythm given by the top-level fields, at 0 dB."""
        return SeedLayer(self.pulses, self.steps, self.rotation, self.sieve, 0.0, self.excitation)

    def all_layers(self) -> tuple[SeedLayer, ...]:
        """The main layer followed by ``layers``."""
        return (self.main_layer(), *self.layers)

    def step_samples(self, layer: SeedLayer) -> float:
        """Length of one step of ``layer`` in samples (not rounded)."""
        if self.step_ms is not None:
            return self.step_ms * self.sample_rate / 1000.0
        if self.bpm is not None:
            return 60.0 * self.sample_rate / (self.bpm * self.steps_per_beat)
        return self.n_samples / (layer.steps * self.cycles)

    def to_dict(self) -> dict[str, Any]:
        """Every parameter, JSON-ready (layers as a list of dicts)."""
        data = asdict(self)
        data["layers"] = [layer.to_dict() for layer in self.layers]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeedConfig:
        """Build from a dict such as ``to_dict()`` gives; unknown keys are a ``ConfigError``."""
        data = dict(data)
        data["layers"] = tuple(
            layer if isinstance(layer, SeedLayer) else SeedLayer.from_dict(layer)
            for layer in data.get("layers", ())
        )
        return _from_dict(cls, data)

    def _check_buffer(self) -> None:
        if not (math.isfinite(self.seconds) and 0 < self.seconds <= MAX_SECONDS):
            raise ConfigError(
                f"duration must be > 0 and at most {MAX_SECONDS:g} seconds; got {self.seconds}"
            )
        if not MIN_SAMPLE_RATE <= self.sample_rate <= MAX_SAMPLE_RATE:
            raise ConfigError(
                f"sample rate {self.sample_rate} Hz is outside "
                f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; 48000 is the protocol's"
            )
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise ConfigError(f"channels must be 1..{MAX_CHANNELS}; got {self.channels}")
        if self.n_samples < 1:
            raise ConfigError(f"duration {self.seconds} s is shorter than one sample")

    def _check_timing(self) -> None:
        if self.cycles < 1:
            raise ConfigError(f"cycles must be >= 1; got {self.cycles}")
        for name, value in (("step_ms", self.step_ms), ("bpm", self.bpm)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be > 0; got {value}")
        if self.step_ms is not None and self.bpm is not None:
            raise ConfigError("give either step_ms or bpm, not both; both set the step length")
        if self.cycles != 1 and (self.step_ms is not None or self.bpm is not None):
            raise ConfigError(
                f"cycles ({self.cycles}) only applies when the steps span the buffer; "
                "drop it when giving step_ms or bpm (their steps fill the buffer)"
            )
        if self.steps_per_beat < 1:
            raise ConfigError(f"steps_per_beat must be >= 1; got {self.steps_per_beat}")

    def _check_sound(self) -> None:
        if not math.isfinite(self.amplitude):
            raise ConfigError(f"amplitude must be finite; got {self.amplitude}")
        if not 0 < self.freq < self.sample_rate / 2:
            raise ConfigError(
                f"freq {self.freq} Hz must lie between 0 and the Nyquist frequency "
                f"{self.sample_rate / 2:g} Hz"
            )
        if not (math.isfinite(self.excitation_ms) and self.excitation_ms > 0):
            raise ConfigError(f"excitation_ms must be > 0; got {self.excitation_ms}")
        if not (math.isfinite(self.tail_ms) and self.tail_ms >= 0):
            raise ConfigError(f"tail_ms must be >= 0 (0 disables the tail); got {self.tail_ms}")
        if not math.isfinite(self.tail_db):
            raise ConfigError(f"tail_db must be a finite level in dBFS; got {self.tail_db}")
        if self.seed < 0:
            raise ConfigError(f"seed must be >= 0; got {self.seed}")

    def _check_fits(self, layer: SeedLayer) -> None:
        step = self.step_samples(layer)
        step_ms = 1000.0 * step / self.sample_rate
        if step > self.n_samples:
            raise ConfigError(
                f"a step of {step_ms:g} ms is longer than the {self.seconds:g} s buffer; "
                "shorten the step or lengthen the buffer"
            )
        if step < 1:
            raise ConfigError(
                f"a step of {step_ms:g} ms is shorter than one sample; use fewer steps or cycles"
            )
        if self.tail_samples > step:
            raise ConfigError(
                f"the tail of {self.tail_ms:g} ms is longer than a step ({step_ms:g} ms); "
                "shorten --tail-ms or lengthen the steps"
            )
        length = excitation_samples(
            layer.excitation, length_ms=self.excitation_ms, sample_rate=self.sample_rate
        )
        if length > step:
            raise ConfigError(
                f"the {layer.excitation} of {self.excitation_ms:g} ms is longer than a step "
                f"({step_ms:g} ms); shorten --excitation-ms or lengthen the steps"
            )


_LAYER_TYPES: dict[str, type] = {
    "pulses": int,
    "steps": int,
    "rotation": int,
    "sieve": str,
    "level_db": float,
    "excitation": str,
}


def parse_layer(text: str) -> SeedLayer:
    """Read a layer from ``"KEY=VALUE,..."``, e.g. ``"pulses=3,steps=8,level_db=-6"``.

    Raises
    ------
    ConfigError
        An item that is not ``KEY=VALUE``, an unknown key, a value of the wrong type, or any
        ``SeedLayer`` validation error.
    """
    data: dict[str, Any] = {}
    for item in text.split(","):
        key, sep, value = (part.strip() for part in item.partition("="))
        if not sep or key not in _LAYER_TYPES:
            raise ConfigError(
                f"layer {text!r}: cannot read {item.strip()!r}; write KEY=VALUE pairs joined by "
                f"commas with keys from {', '.join(_LAYER_TYPES)}, e.g. 'pulses=3,steps=8'"
            )
        try:
            data[key] = _LAYER_TYPES[key](value)
        except ValueError:
            kind = _LAYER_TYPES[key].__name__
            raise ConfigError(f"layer {text!r}: {key} must be {kind}; got {value!r}") from None
    return SeedLayer.from_dict(data)


def _from_dict(cls: type[_T], data: dict[str, Any]) -> _T:
    names = {field.name for field in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(
            f"unknown {cls.__name__} keys {unknown}; allowed keys are {sorted(names)}"
        )
    return cls(**data)
