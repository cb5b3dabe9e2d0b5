"""The Koenig family: Euclidean-rhythm seeds with varied k, n, tempo, excitation and layers."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from latentroom.datasets.clip import finish

if TYPE_CHECKING:
    from latentroom.seeds.config import SeedConfig, SeedLayer

MIN_STEP_SECONDS = 0.08  # shortest step in whole-cycle mode (shorter clips allow shorter)


def random_layer(rng: np.random.Generator) -> SeedLayer:
    """A second rhythm E(k, n), n in 3..16, at -12..0 dB with its own excitation."""
    from latentroom.seeds.config import SeedLayer
    from latentroom.seeds.excitations import EXCITATIONS

    steps = int(rng.integers(3, 17))
    return SeedLayer(
        pulses=int(rng.integers(1, steps)),
        steps=steps,
        rotation=int(rng.integers(0, steps)),
        level_db=rng.uniform(-12.0, 0.0),
        excitation=str(rng.choice(EXCITATIONS)),
    )


def random_seed_config(seconds: float, sample_rate: int, rng: np.random.Generator) -> SeedConfig:
    """Draw a valid ``SeedConfig``: E(k, n) with n in 5..16, a tempo or whole cycles, 0-1 layers.

    Steps come from a tempo of 60-180 BPM (16th notes, clips of 1 s or more) or from 1-4 whole
    cycles across the clip. Tails (5-40 ms at -50..-20 dBFS) and excitations (2-15 ms) are
    capped at half the shortest step so every draw is valid.
    """
    from latentroom.seeds.config import SeedConfig
    from latentroom.seeds.excitations import EXCITATIONS

    steps = int(rng.integers(5, 17))
    layers = (random_layer(rng),) if rng.random() < 0.4 else ()
    most_steps = max([steps, *(layer.steps for layer in layers)])
    bpm = rng.uniform(60.0, 180.0) if seconds >= 1.0 and rng.random() < 0.5 else None
    cycles = 1
    if bpm is None:
        max_cycles = max(1, int(seconds / (most_steps * MIN_STEP_SECONDS)))
        cycles = int(rng.integers(1, min(max_cycles, 4) + 1))
        step_ms = 1000.0 * seconds / (most_steps * cycles)
    else:
        step_ms = 1000.0 * 60.0 / (bpm * 4)
    return SeedConfig(
        pulses=int(rng.integers(2, steps)),
        steps=steps,
        rotation=int(rng.integers(0, steps)),
        seconds=seconds,
        sample_rate=sample_rate,
        cycles=cycles,
        bpm=bpm,
        excitation=str(rng.choice(EXCITATIONS)),
        freq=rng.uniform(200.0, min(6000.0, 0.4 * sample_rate)),
        excitation_ms=min(rng.uniform(2.0, 15.0), 0.5 * step_ms),
        tail_ms=min(rng.uniform(5.0, 40.0), 0.5 * step_ms),
        tail_db=rng.uniform(-50.0, -20.0),
        seed=int(rng.integers(0, 2**31)),
        layers=layers,
    )


def render_koenig(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Koenig seeds (``latentroom.seeds``) with parameters drawn by ``random_seed_config``."""
    from latentroom.seeds.render import render_seed

    seed = render_seed(random_seed_config(seconds, sample_rate, rng))
    return finish(seed.audio.samples[0], sample_rate, rng, fade=False)
