"""Rendering a Koenig seed: at each onset an excitation, then a Gaussian noise tail."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentroom import __version__
from latentroom.audio.types import Audio
from latentroom.seeds.config import SeedConfig, SeedLayer
from latentroom.seeds.excitations import excitation_samples, make_excitation

SIDECAR_FORMAT_VERSION = 1


@dataclass(frozen=True, eq=False)
class RenderedLayer:
    """Where one layer's steps and onsets fell in the buffer."""

    layer: SeedLayer
    rhythm: list[int]  # [steps] one cycle, 1 at onsets
    step_samples: float  # length of a step in samples (not rounded)
    n_steps: int  # steps that start inside the buffer
    pulse_samples: np.ndarray  # [P] int64, sample index of each onset


@dataclass(frozen=True, eq=False)
class RenderedSeed:
    """A rendered seed and everything needed to describe it.

    ``rhythm`` and ``pulse_samples`` are those of the main layer (``layers[0]``).
    """

    audio: Audio  # [C, N] float32
    rhythm: list[int]  # [steps] one cycle of the main rhythm
    pulse_samples: np.ndarray  # [P] int64, onsets of the main rhythm
    config: SeedConfig
    layers: tuple[RenderedLayer, ...]  # main layer first

    def to_dict(self) -> dict[str, Any]:
        """The JSON sidecar: every parameter, the rhythms, the pulse positions, the version."""
        return {
            "format_version": SIDECAR_FORMAT_VERSION,
            "kind": "koenig_seed",
            "latentroom_version": __version__,
            "seed": self.config.seed,
            "sample_rate": self.audio.sample_rate,
            "channels": self.audio.channels,
            "n_samples": self.audio.n_samples,
            "rhythm": list(self.rhythm),
            "pulse_samples": [int(p) for p in self.pulse_samples],
            "config": self.config.to_dict(),
            "layers": [
                {
                    **done.layer.to_dict(),
                    "rhythm": list(done.rhythm),
                    "step_samples": done.step_samples,
                    "n_steps": done.n_steps,
                    "pulse_samples": [int(p) for p in done.pulse_samples],
                }
                for done in self.layers
            ],
        }


def render_seed(config: SeedConfig | None = None) -> RenderedSeed:
    """Render a Koenig seed (by default the protocol's: E(5,13), 10 s, 48 kHz, mono).

    Every layer is rendered into one mono buffer, in order, from one generator seeded with
    ``config.seed``; the buffer is copied to each channel.

    Parameters
    ----------
    config : SeedConfig or None
        The parameters; ``None`` is ``SeedConfig()``.

    Returns
    -------
    RenderedSeed
        Audio of shape ``(config.channels, config.n_samples)`` and the pulse positions.

    Examples
    --------
    >>> seed = render_seed()
    >>> seed.rhythm
    [1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0, 0]
    >>> seed.pulse_samples.tolist()
    [0, 110769, 184615, 295385, 369231]
    """
    config = SeedConfig() if config is None else config
    rng = np.random.default_rng(config.seed)
    mono = np.zeros(config.n_samples)
    layers = tuple(_render_layer(mono, config, layer, rng) for layer in config.all_layers())
    samples = np.tile(mono.astype(np.float32), (config.channels, 1))
    main = layers[0]
    audio = Audio(samples, config.sample_rate)
    return RenderedSeed(audio, main.rhythm, main.pulse_samples, config, layers)


def step_starts(config: SeedConfig, layer: SeedLayer) -> np.ndarray:
    """Sample index of every step of ``layer`` that starts inside the buffer.

    Returns
    -------
    np.ndarray [shape=(S,), dtype=int64]
        ``round(i * step_samples)`` (half to even) for each step ``i``.
    """
    step = config.step_samples(layer)
    if config.step_ms is None and config.bpm is None:
        n_steps = layer.steps * config.cycles
    else:
        n_steps = math.ceil(config.n_samples / step)
    starts = np.rint(np.arange(n_steps) * step).astype(np.int64)
    return starts[starts < config.n_samples]


def _render_layer(
    buffer: np.ndarray, config: SeedConfig, layer: SeedLayer, rng: np.random.Generator
) -> RenderedLayer:
    """Add one layer into ``buffer`` (in place, float64) and say where its onsets fell."""
    rhythm = layer.rhythm()
    starts = step_starts(config, layer)
    pulses = starts[np.resize(np.array(rhythm, dtype=bool), starts.size)]
    gain = 10.0 ** (layer.level_db / 20.0)
    tail_rms = gain * 10.0 ** (config.tail_db / 20.0)
    length = excitation_samples(
        layer.excitation, length_ms=config.excitation_ms, sample_rate=config.sample_rate
    )
    offset = length // 2 if layer.excitation == "click" else 0  # the click is centred
    for pulse in pulses:
        wave = make_excitation(
            layer.excitation,
            sample_rate=config.sample_rate,
            amplitude=config.amplitude * gain,
            freq=config.freq,
            length_ms=config.excitation_ms,
            rng=rng,
        )
        _add_at(buffer, wave, int(pulse) - offset)
        if config.tail_samples > 0:
            _add_at(buffer, _noise_tail(config.tail_samples, tail_rms, rng), int(pulse) + 1)
    return RenderedLayer(layer, rhythm, config.step_samples(layer), int(starts.size), pulses)


def _noise_tail(n_samples: int, rms: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise scaled to exactly ``rms``."""
    noise = rng.standard_normal(n_samples)
    return np.asarray(noise * (rms / np.sqrt(np.mean(noise**2))))


def _add_at(buffer: np.ndarray, wave: np.ndarray, start: int) -> None:
    """``buffer[start : start + len(wave)] += wave``, clipped to the buffer on both sides."""
    lo, hi = max(start, 0), min(start + wave.size, buffer.size)
    if hi > lo:
        buffer[lo:hi] += wave[lo - start : hi - start]
