"""Resampling and remixing: lengths, frequencies, levels and channel arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from latentroom.audio import Audio, convert, remix, resample
from latentroom.errors import ConfigError


def _tone(freq: float, sample_rate: int, seconds: float = 1.0) -> Audio:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return Audio(0.5 * np.sin(2 * np.pi * freq * t), sample_rate)


@pytest.mark.parametrize(("source", "target"), [(16_000, 48_000), (48_000, 22_050)])
def test_resample_keeps_frequency_level_and_duration(source: int, target: int) -> None:
    out = resample(_tone(440.0, source), target)
    assert out.sample_rate == target
    assert out.n_samples == target  # one second
    spectrum = np.abs(np.fft.rfft(out.samples[0]))
    assert np.argmax(spectrum) == 440  # 1 Hz bins over one second
    middle = out.samples[0, target // 4 : 3 * target // 4]
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=1e-3)


def test_resample_same_rate_is_identity() -> None:
    audio = _tone(100.0, 16_000)
    assert resample(audio, 16_000) is audio


def test_resample_multichannel_keeps_channels_apart() -> None:
    left, right = _tone(300.0, 16_000), _tone(700.0, 16_000)
    out = resample(Audio(np.vstack([left.samples, right.samples]), 16_000), 32_000)
    peaks = [int(np.argmax(np.abs(np.fft.rfft(ch)))) for ch in out.samples]
    assert peaks == [300, 700]


def test_resample_refuses_rates_out_of_range() -> None:
    with pytest.raises(ConfigError, match="cannot resample to 500 Hz"):
        resample(_tone(100.0, 16_000), 500)


def test_remix_down_to_mono_averages() -> None:
    audio = Audio(np.array([[1.0, 0.0, 0.5], [0.0, 1.0, -0.5]]), 8000)
    np.testing.assert_array_equal(remix(audio, 1).samples, [[0.5, 0.5, 0.0]])


def test_remix_mono_up_duplicates() -> None:
    audio = Audio(np.array([0.1, 0.2, 0.3]), 8000)
    np.testing.assert_array_equal(remix(audio, 2).samples, np.array([[0.1, 0.2, 0.3]] * 2, "f4"))


def test_remix_between_layouts_keeps_or_cycles_channels() -> None:
    audio = Audio(np.array([[1.0], [2.0], [3.0]]), 8000)
    np.testing.assert_array_equal(remix(audio, 2).samples, [[1.0], [2.0]])
    np.testing.assert_array_equal(remix(audio, 5).samples, [[1.0], [2.0], [3.0], [1.0], [2.0]])


def test_remix_refuses_zero_channels() -> None:
    with pytest.raises(ConfigError, match="channels must be >= 1; got 0"):
        remix(Audio(np.zeros(4), 8000), 0)


def test_convert_remixes_then_resamples() -> None:
    stereo = Audio(np.vstack([_tone(440.0, 16_000).samples] * 2), 16_000)
    out = convert(stereo, sample_rate=24_000, channels=1)
    assert out.samples.shape == (1, 24_000)
    assert out.sample_rate == 24_000
