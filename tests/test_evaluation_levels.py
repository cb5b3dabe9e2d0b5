"""Level change of a reconstruction: loudness and true-peak differences with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.evaluation.level_match import LevelScore, level_score, pool_levels

RATE = 48_000


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal((1, int(seconds * RATE)))


def test_a_known_gain_gives_that_many_lu_and_db() -> None:
    x = _noise(2.0)
    score = level_score(x, x * 10 ** (3.0 / 20), RATE)  # +3 dB
    assert score.loudness_diff_lu == pytest.approx(3.0, abs=1e-9)
    assert score.peak_diff_db == pytest.approx(3.0, abs=1e-9)
    assert score.within_gate is False
    quieter = level_score(x, x * 10 ** (-0.5 / 20), RATE)
    assert quieter.loudness_diff_lu == pytest.approx(-0.5, abs=1e-9)
    assert quieter.within_gate is True


def test_a_peak_may_fall_but_not_rise_more_than_the_gate() -> None:
    x = _noise(1.0)
    clipped = np.clip(x, -0.05, 0.05)  # a limiter: the peak falls, which the gate allows
    score = level_score(x, clipped, RATE)
    assert score.peak_diff_db is not None and score.peak_diff_db < 0


def test_silence_and_short_clips_have_no_loudness() -> None:
    silent = level_score(np.zeros((1, RATE)), np.zeros((1, RATE)), RATE)
    assert silent.loudness_diff_lu is None and silent.peak_diff_db is None
    assert silent.within_gate is None
    short = level_score(_noise(0.1), _noise(0.1, 1), RATE)  # under one 400 ms block
    assert short.loudness_diff_lu is None and short.peak_diff_db is not None


def test_pooling_reports_the_worst_clip_not_the_mean() -> None:
    scores = [LevelScore(0.2, 0.1), LevelScore(-0.1, 0.0), LevelScore(-4.0, 6.0)]
    pooled = pool_levels(scores)
    assert pooled["max_abs_loudness_diff_lu"] == pytest.approx(4.0)
    assert pooled["max_peak_diff_db"] == pytest.approx(6.0)
    assert pooled["share_within_gate"] == pytest.approx(2 / 3)
    assert pool_levels([LevelScore(None, None)])["share_within_gate"] is None
