"""Our BS.1770 integrated loudness against pyloudnorm on the same inputs (why ours stays)."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.audio.loudness import integrated_loudness

pyloudnorm = pytest.importorskip("pyloudnorm", reason="pyloudnorm is in the perceptual extra")


def _signals(rate: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    t = np.arange(3 * rate) / rate
    noise = 0.05 * rng.standard_normal(t.size)
    bursts = rng.standard_normal(t.size) * (np.sin(2 * np.pi * 0.7 * t) > 0.3)
    return {
        "sine 1 kHz": 0.5 * np.sin(2 * np.pi * 1000 * t)[None],
        "sine 60 Hz": 0.8 * np.sin(2 * np.pi * 60 * t)[None],
        "white noise": 0.1 * rng.standard_normal((1, t.size)),
        "gated bursts": 0.2 * bursts[None],  # exercises the relative gate
        "stereo": np.vstack([0.3 * np.sin(2 * np.pi * 300 * t), noise]),
        "quiet": 1e-3 * np.sin(2 * np.pi * 500 * t)[None],
    }


@pytest.mark.parametrize("rate", [16_000, 44_100, 48_000])
def test_integrated_loudness_agrees_with_pyloudnorm(rate: int) -> None:
    """Same gating; the filters differ (pyloudnorm rounds the shelf: 4 dB, Q 1/sqrt 2, 1.5 kHz)."""
    meter = pyloudnorm.Meter(rate)
    for name, x in _signals(rate).items():
        ours = integrated_loudness(x, rate)
        theirs = meter.integrated_loudness(x.T)
        assert ours == pytest.approx(theirs, abs=0.15), name


@pytest.mark.parametrize("rate", [16_000, 22_050, 44_100, 48_000])
def test_integrated_loudness_is_closer_than_pyloudnorm_on_ebu_tech_3341_case_1(rate: int) -> None:
    """EBU Tech 3341 test 1: a stereo 1 kHz sine at -23 dBFS per channel reads -23.0 LUFS (±0.1)."""
    t = np.arange(20 * rate) / rate
    x = np.vstack([10 ** (-23 / 20) * np.sin(2 * np.pi * 1000 * t)] * 2)
    ours = integrated_loudness(x, rate)
    theirs = pyloudnorm.Meter(rate).integrated_loudness(x.T)
    assert abs(ours + 23.0) < 0.05
    assert abs(ours + 23.0) < abs(theirs + 23.0)
