"""Drift metrics on synthetic signals with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentroom.audio.loudness import integrated_loudness, k_weighting, level_dbfs
from latentroom.feedback.metrics import (
    METRIC_NAMES,
    audio_metrics,
    gap_to_pulse_db,
    latent_drift,
    latent_scale,
    pulse_mask,
    rhythm_persistence,
    spectral_shape,
)

RATE = 48_000
PULSES = np.array([0.25, 0.95, 1.55, 2.3, 2.9])


def tone(freq: float, seconds: float, amplitude: float, rate: int = RATE) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * freq * np.arange(round(seconds * rate)) / rate)


def click_train(
    pulses: np.ndarray = PULSES, seconds: float = 3.5, shift: float = 0.0
) -> np.ndarray:
    x = np.zeros(round(seconds * RATE))
    x[np.round((pulses + shift) * RATE).astype(int)] = 1.0
    return x


def test_k_weighting_at_48k_is_the_standard() -> None:
    b1, a1, b2, a2 = k_weighting(48_000)  # ITU-R BS.1770-4, tables 1 and 2
    np.testing.assert_allclose(
        b1, [1.53512485958697, -2.69169618940638, 1.19839281085285], atol=1e-9
    )
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585], atol=1e-9)
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621], atol=1e-9)


@pytest.mark.parametrize(
    ("amplitude", "rate", "expected"),
    [
        pytest.param(1.0, 48_000, -3.01, id="full-scale"),
        pytest.param(0.1, 48_000, -23.01, id="minus-20-dBFS"),
        pytest.param(0.1, 44_100, -23.01, id="44.1k"),
    ],
)
def test_loudness_of_a_1khz_sine(amplitude: float, rate: int, expected: float) -> None:
    x = tone(1000.0, 5.0, amplitude, rate)[None]
    assert integrated_loudness(x, rate) == pytest.approx(expected, abs=0.02)


def test_loudness_sums_channels_and_gates_silence() -> None:
    x = tone(1000.0, 4.0, 0.1)
    stereo = np.stack([x, x])
    assert integrated_loudness(stereo, RATE) == pytest.approx(-23.01 + 3.01, abs=0.02)
    with_silence = np.concatenate([x, np.zeros(4 * RATE)])[None]
    # 37 full blocks and 3 partial ones (3/4, 1/2, 1/4 of the tone) pass the gates; the
    # silent blocks do not, or the result would sit near -26 LUFS
    expected = -23.01 + 10 * math.log10((37 + 0.75 + 0.5 + 0.25) / 40)
    assert integrated_loudness(with_silence, RATE) == pytest.approx(expected, abs=0.02)
    assert integrated_loudness(np.zeros((1, RATE)), RATE) == -math.inf
    assert math.isnan(integrated_loudness(x[None, : RATE // 10], RATE))


def test_level_of_a_sine() -> None:
    rms, peak = level_dbfs(tone(1000.0, 1.0, 0.5)[None])
    assert rms == pytest.approx(20 * math.log10(0.5 / math.sqrt(2)), abs=1e-3)
    assert peak == pytest.approx(20 * math.log10(0.5), abs=1e-3)


def test_clean_click_train_persists() -> None:
    persistence, deviation = rhythm_persistence(click_train(), RATE, PULSES)
    assert persistence == 1.0
    assert abs(deviation) < 3.0  # ms: within one onset hop


def test_dragged_and_lost_pulses() -> None:
    drag, deviation = rhythm_persistence(click_train(shift=0.010), RATE, PULSES)
    assert drag == 1.0
    assert deviation == pytest.approx(10.0, abs=3.0)
    lost, _ = rhythm_persistence(click_train(shift=0.050), RATE, PULSES)
    assert lost == 0.0
    partial = click_train(PULSES[:3])
    assert rhythm_persistence(partial, RATE, PULSES)[0] == pytest.approx(0.6)
    assert rhythm_persistence(np.zeros(3 * RATE), RATE, PULSES) == (
        0.0,
        pytest.approx(math.nan, nan_ok=True),
    )


def test_noise_floor_at_minus_20_db_sets_the_gap_ratio() -> None:
    mask = pulse_mask(round(3.5 * RATE), RATE, PULSES)
    bursts = np.where(mask, tone(997.0, 3.5, math.sqrt(2.0)), 0.0)  # power 1 around pulses
    assert gap_to_pulse_db(bursts, RATE, PULSES) < -100.0  # silence between: at the floor
    noise = np.random.default_rng(0).standard_normal(mask.size) * 0.1  # power 0.01: -20 dB
    expected = 10 * math.log10(0.01 / 1.01)
    assert gap_to_pulse_db(bursts + noise, RATE, PULSES) == pytest.approx(expected, abs=0.2)


def test_pulse_mask_regions() -> None:
    mask = pulse_mask(RATE, RATE, np.array([0.5]))
    assert mask.sum() == round(0.07 * RATE)
    assert mask[round(0.49 * RATE)] and not mask[round(0.489 * RATE)]


def test_spectral_shape_of_a_tone_and_of_noise() -> None:
    flatness, entropy, centroid, hf_share = spectral_shape(tone(1000.0, 2.0, 0.5), RATE)
    assert flatness < 1e-3
    assert entropy < 0.2
    assert centroid == pytest.approx(1000.0, rel=0.01)
    assert hf_share < 1e-6
    noise = np.random.default_rng(1).standard_normal(2 * RATE)
    flatness, entropy, centroid, hf_share = spectral_shape(noise, RATE)
    assert flatness > 0.95
    assert entropy > 0.99
    assert centroid == pytest.approx(12_000.0, rel=0.02)  # the middle of 0..24 kHz
    assert hf_share == pytest.approx(16 / 24, abs=0.01)
    assert spectral_shape(tone(10_000.0, 1.0, 0.5), RATE)[3] > 0.999
    assert all(math.isnan(v) for v in spectral_shape(np.zeros(RATE), RATE))


def test_latent_scale_and_drift() -> None:
    rng = np.random.default_rng(2)
    z = rng.standard_normal((200, 4)) * np.array([1.0, 2.0, 4.0, 0.0])
    scale = latent_scale(z)
    np.testing.assert_allclose(scale[:3], z[:, :3].std(axis=0))
    assert scale[3] == pytest.approx(1e-3 * z.std(axis=0).mean())  # floored
    shifted = z + np.array([1.0, 2.0, 4.0, 0.0])  # one latent scale in three dims
    assert latent_drift(shifted, z, np.array([1.0, 2.0, 4.0, 1.0])) == pytest.approx(
        math.sqrt(0.75)
    )
    assert latent_drift(z, z[:50], scale) == 0.0


def test_audio_metrics_has_every_audio_metric() -> None:
    metrics = audio_metrics(click_train()[None], RATE, PULSES)
    assert metrics["persistence"] == 1.0
    assert metrics["peak_dbfs"] == 0.0
    assert metrics["gap_to_pulse_db"] == pytest.approx(
        10 * math.log10(1e-12 / (1 / 3360)), abs=0.01
    )
    engine_adds = {"drift_prev", "drift_first", "speech_share"}  # and feedback.taxonomy's:
    pulse_measures = {"pulse_crest_db", "pulse_offset_ms", "dust_per_s"}
    assert set(metrics) == set(METRIC_NAMES) - engine_adds - pulse_measures


@settings(max_examples=15, deadline=None)
@given(gain_db=st.floats(-40.0, 20.0), freq=st.floats(100.0, 10_000.0))
def test_gain_moves_loudness_and_level_only(gain_db: float, freq: float) -> None:
    x = tone(freq, 1.0, 0.1)
    gain = 10 ** (gain_db / 20)
    assert integrated_loudness(gain * x[None], RATE) == pytest.approx(
        integrated_loudness(x[None], RATE) + gain_db, abs=1e-6
    )
    assert level_dbfs(gain * x[None])[0] == pytest.approx(level_dbfs(x[None])[0] + gain_db)
    np.testing.assert_allclose(spectral_shape(gain * x, RATE), spectral_shape(x, RATE), rtol=1e-6)
    noisy = x + 0.01 * np.random.default_rng(0).standard_normal(x.size)
    assert gap_to_pulse_db(gain * noisy, RATE, PULSES[:2]) == pytest.approx(
        gap_to_pulse_db(noisy, RATE, PULSES[:2]), abs=1e-6
    )
