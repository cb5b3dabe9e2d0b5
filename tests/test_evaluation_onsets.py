"""The onset detector and onset preservation: clean clicks, silence, shifts, matching."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.evaluation.onsets import (
    OnsetScore,
    detect_onsets,
    match_onsets,
    onset_preservation,
)

RATE = 16_000
HOP = 160  # a latent frame of 10 ms, as TinyConvCodec
FRAME = HOP / RATE
CLICKS = np.arange(800, 2 * RATE, 4000)  # 8 clicks, 250 ms apart


def click_train(shift: int = 0) -> np.ndarray:
    x = np.zeros(2 * RATE)
    x[CLICKS + shift] = 0.7
    return x


@pytest.mark.parametrize("rate", [pytest.param(16_000, id="16k"), pytest.param(48_000, id="48k")])
def test_detector_finds_every_click_within_a_few_ms(rate: int) -> None:
    x = np.zeros(rate)
    clicks = np.arange(rate // 20, rate, rate // 5)
    x[clicks] = 0.5
    found = detect_onsets(x, rate)
    assert found.size == clicks.size
    np.testing.assert_allclose(found, clicks / rate, atol=0.003)


def test_detector_finds_nothing_in_silence_and_one_onset_in_steady_noise() -> None:
    assert detect_onsets(np.zeros(RATE), RATE).size == 0
    noise = 0.1 * np.random.default_rng(0).standard_normal(RATE)
    assert detect_onsets(noise, RATE).tolist() == pytest.approx([0.003], abs=0.003)


def test_clean_click_train_is_fully_preserved() -> None:
    score = onset_preservation(click_train(), click_train(), RATE, tolerance=FRAME)
    assert score == OnsetScore(n_reference=8, n_matched=8, n_extra=0)
    assert score.preservation == 1.0


def test_silence_preserves_no_onset() -> None:
    score = onset_preservation(click_train(), np.zeros(2 * RATE), RATE, tolerance=FRAME)
    assert score.preservation == 0.0 and score.n_extra == 0


def test_click_train_shifted_by_three_frames_preserves_none() -> None:
    score = onset_preservation(click_train(), click_train(3 * HOP), RATE, tolerance=FRAME)
    assert score.preservation == 0.0
    assert score.n_extra == 8


def test_click_train_shifted_by_one_frame_is_still_preserved() -> None:
    score = onset_preservation(click_train(), click_train(HOP), RATE, tolerance=FRAME)
    assert score.preservation == 1.0


def test_clicks_under_quiet_noise_survive() -> None:
    noisy = click_train() + 1e-3 * np.random.default_rng(1).standard_normal(2 * RATE)
    assert onset_preservation(click_train(), noisy, RATE, tolerance=FRAME).preservation == 1.0


def test_no_reference_onsets_gives_nan() -> None:
    score = onset_preservation(np.zeros(2 * RATE), click_train(), RATE, tolerance=FRAME)
    assert score.n_reference == 0 and np.isnan(score.preservation)


def test_matching_is_one_to_one() -> None:
    reference = np.array([1.0, 1.004, 2.0])
    assert match_onsets(reference, np.array([1.002]), 0.01) == 1
    assert match_onsets(reference, np.array([1.0, 1.004, 2.02]), 0.01) == 2
    assert match_onsets(reference, np.array([]), 0.01) == 0


def test_detector_finds_the_pulses_of_koenig_clips() -> None:
    from latentroom.datasets.clip import finish
    from latentroom.datasets.corpus import clip_rng
    from latentroom.datasets.koenig import random_seed_config
    from latentroom.seeds.render import render_seed

    n_true = n_found = 0
    for index in range(8):
        rng = clip_rng(0, "koenig", index)
        seed = render_seed(random_seed_config(2.0, RATE, rng))
        x = finish(seed.audio.samples[0], RATE, rng, fade=False)
        pulses = np.unique(np.concatenate([layer.pulse_samples for layer in seed.layers])) / RATE
        distinct = pulses[np.concatenate([[True], np.diff(pulses) > 0.03])]  # +-30 ms merge
        n_true += distinct.size
        n_found += match_onsets(distinct, detect_onsets(x, RATE), 0.005)
    assert n_true > 40
    assert n_found == n_true
