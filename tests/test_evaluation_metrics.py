"""Spectral helpers and reconstruction distances on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latentroom.errors import InvalidAudioError
from latentroom.evaluation.metrics import align, log_mel_l1, mel_n_fft, mrstft_distance
from latentroom.evaluation.spectral import (
    amplitude_spectrogram,
    griffin_lim,
    hz_to_mel,
    istft,
    mel_filterbank,
    mel_to_hz,
    stft,
)

RATE = 16_000


def _noise(n: int = RATE, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return level * np.random.default_rng(seed).standard_normal(n)


@pytest.mark.parametrize(
    ("n_fft", "hop"),
    [pytest.param(512, 128, id="quarter"), pytest.param(640, 160, id="codec-hop")],
)
def test_istft_inverts_stft(n_fft: int, hop: int) -> None:
    x = _noise(5000)
    spectrum = stft(x, n_fft, hop)
    assert spectrum.shape == (1 + 5000 // hop, n_fft // 2 + 1)
    np.testing.assert_allclose(istft(spectrum, n_fft, hop, 5000), x, atol=1e-12)


def test_amplitude_spectrogram_peaks_at_sine_amplitude() -> None:
    t = np.arange(RATE) / RATE
    spec = amplitude_spectrogram(0.3 * np.sin(2 * np.pi * 1000 * t), 512, 128)
    assert spec[10:-10].max(axis=1) == pytest.approx(np.full(spec.shape[0] - 20, 0.3), rel=1e-3)


def test_mel_filterbank_triangles_peak_at_one_and_cover_the_band() -> None:
    fbank = mel_filterbank(RATE, 2048, 40)
    assert fbank.shape == (40, 1025)
    assert fbank.max(axis=1) == pytest.approx(np.ones(40), abs=0.1)
    freqs = np.fft.rfftfreq(2048, 1 / RATE)
    covered = fbank[:, (freqs > 200) & (freqs < 6000)].sum(axis=0)
    assert covered == pytest.approx(np.ones(covered.size), abs=1e-6)  # triangles sum to 1
    assert mel_to_hz(hz_to_mel(440.0)) == pytest.approx(440.0)
    assert hz_to_mel(1000.0) == pytest.approx(1000.0, abs=0.1)  # HTK: 1000 Hz is 1000 mel


def test_mel_n_fft_is_about_43_ms() -> None:
    assert [mel_n_fft(r) for r in (16_000, 24_000, 44_100, 48_000)] == [512, 1024, 2048, 2048]


def test_identical_signals_score_zero() -> None:
    x = _noise()
    assert log_mel_l1(x, x, RATE) == 0.0
    assert mrstft_distance(x, x) == 0.0


@pytest.mark.parametrize("gain", [pytest.param(0.5, id="-6dB"), pytest.param(2.0, id="+6dB")])
def test_gain_change_gives_log_gain(gain: float) -> None:
    x = _noise()
    assert log_mel_l1(x, gain * x, RATE) == pytest.approx(abs(np.log(gain)), abs=2e-3)
    expected = abs(1 - gain) + abs(np.log(gain))
    assert mrstft_distance(x, gain * x) == pytest.approx(expected, abs=2e-3)


def test_stereo_is_averaged_over_channels() -> None:
    x = _noise()
    ref = np.stack([x, x])
    est = np.stack([x, 0.5 * x])
    assert log_mel_l1(ref, est, RATE) == pytest.approx(np.log(2) / 2, abs=2e-3)


def test_align_trims_to_the_shorter_signal() -> None:
    ref, est = align(np.ones(10), np.ones((1, 7)))
    assert ref.shape == est.shape == (1, 7)


def test_silence_against_silence_is_zero_and_against_sound_is_large() -> None:
    assert mrstft_distance(np.zeros(4000), np.zeros(4000)) == 0.0
    assert log_mel_l1(_noise(), np.zeros(RATE), RATE) > 5.0


@pytest.mark.parametrize(
    ("reference", "estimate", "match"),
    [
        pytest.param(np.zeros((2, 100)), np.zeros((1, 100)), "2-channel", id="channels"),
        pytest.param(np.zeros(0), np.zeros(10), "empty", id="empty"),
    ],
)
def test_uncomparable_audio_is_refused(
    reference: np.ndarray, estimate: np.ndarray, match: str
) -> None:
    with pytest.raises(InvalidAudioError, match=match):
        log_mel_l1(reference, estimate, RATE)


def test_griffin_lim_recovers_a_tone_from_its_magnitude() -> None:
    t = np.arange(RATE) / RATE
    x = 0.5 * np.sin(2 * np.pi * 440 * t)
    y = griffin_lim(np.abs(stft(x, 640, 160)), 640, 160, RATE, n_iter=32, rng=0)
    assert y.shape == x.shape
    assert log_mel_l1(x, y, RATE) < 0.2
    np.testing.assert_array_equal(y, griffin_lim(np.abs(stft(x, 640, 160)), 640, 160, RATE))


@settings(max_examples=10, deadline=None)
@given(gain=st.floats(0.1, 10.0), seed=st.integers(0, 1000))
def test_log_mel_l1_is_symmetric_and_non_negative(gain: float, seed: int) -> None:
    x, y = _noise(4000, seed), gain * _noise(4000, seed + 1)
    forward = log_mel_l1(x, y, RATE)
    assert forward >= 0.0
    assert forward == pytest.approx(log_mel_l1(y, x, RATE))
