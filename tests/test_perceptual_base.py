"""Perceptual measures that need no optional package: the result type, SI-SDR, loudness, hints."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from latentroom.errors import BackendUnavailableError
from latentroom.evaluation.perceptual import base
from latentroom.evaluation.perceptual.base import Measure, require_packages, to_model_rate
from latentroom.evaluation.perceptual.loudness import loudness_difference
from latentroom.evaluation.perceptual.sisdr import si_sdr

RATE = 16_000


def _sine(seconds: float = 1.0, freq: float = 440.0, rate: int = RATE) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 0.5 * np.sin(2 * np.pi * freq * t)[None]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        pytest.param(None, None, id="neither"),
        pytest.param(1.0, "why", id="both"),
        pytest.param(float("nan"), None, id="nan"),
    ],
)
def test_measure_has_a_value_or_a_reason(value: float | None, reason: str | None) -> None:
    with pytest.raises(ValueError, match="Measure"):
        Measure(value, "dB", reason)


def test_si_sdr_is_scale_invariant_and_falls_with_noise() -> None:
    x = _sine()
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(x.shape)
    assert si_sdr(x, 0.3 * x).value == 200.0  # identical up to scale
    light = si_sdr(x, x + 0.005 * noise).value
    heavy = si_sdr(x, x + 0.1 * noise).value
    assert light is not None and heavy is not None
    # signal power 0.125, noise power 0.1^2 -> 10 log10(12.5) = 10.97 dB
    assert heavy == pytest.approx(10.97, abs=0.3) and light > heavy + 20


def test_si_sdr_of_silent_reference_is_not_a_number() -> None:
    result = si_sdr(np.zeros((1, 100)), np.ones((1, 100)))
    assert result.value is None and "silent" in (result.reason or "")


def test_loudness_difference_of_a_6_db_gain_is_6_lu() -> None:
    x = _sine(2.0)
    result = loudness_difference(x, 2.0 * x, RATE)
    assert result.value == pytest.approx(20 * np.log10(2.0), abs=0.01) and result.unit == "LU"


@pytest.mark.parametrize(
    ("reference", "match"),
    [
        pytest.param(_sine(0.2), "shorter than one 400 ms", id="short"),
        pytest.param(np.zeros((1, RATE)), "silent", id="silent"),
    ],
)
def test_loudness_difference_says_why_not(reference: np.ndarray, match: str) -> None:
    result = loudness_difference(reference, reference, RATE)
    assert result.value is None and match in (result.reason or "")


def test_to_model_rate_records_resampling_and_downmix() -> None:
    stereo = np.vstack([_sine(1.0, rate=44_100)[0]] * 2)
    mono, note = to_model_rate(stereo, 44_100)
    assert mono.shape == (RATE,) and mono.dtype == np.float32
    assert note == "2 channels averaged to mono; resampled 44100 -> 16000 Hz"
    assert to_model_rate(_sine(), RATE)[1] is None


def test_missing_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        base.importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pesq", "torchcrepe") else real(name, *a),
    )
    with pytest.raises(BackendUnavailableError, match=r"need .*pesq.*torchcrepe.*\[perceptual\]"):
        require_packages()
    with pytest.raises(BackendUnavailableError, match=r"pip install -e \"\.\[perceptual\]\""):
        base.import_optional("pesq")


def test_pitch_tracks_are_cached_by_content(monkeypatch: pytest.MonkeyPatch) -> None:
    from latentroom.evaluation.perceptual import pitch

    calls = []

    def fake_track(
        x: np.ndarray, model: str, device: str, hop: int
    ) -> tuple[np.ndarray, np.ndarray]:
        calls.append(x.size)
        return np.full(3, 220.0), np.ones(3)

    monkeypatch.setattr(pitch, "_track", fake_track)
    monkeypatch.setattr(pitch, "_TRACKS", pitch.OrderedDict())
    x = _sine()[0]
    f0, _ = pitch.track_pitch(x)
    f0[:] = 0.0  # a caller's edit must not reach the cache
    again, _ = pitch.track_pitch(x.copy())
    assert calls == [x.size] and again.tolist() == [220.0] * 3
    pitch.track_pitch(2 * x)
    assert len(calls) == 2


def test_one_cpu_thread_sets_one_thread_and_restores_the_count() -> None:
    import torch

    from latentroom.evaluation.perceptual.base import one_cpu_thread

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_cpu_thread("cpu"):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with one_cpu_thread("cuda:0"):
            assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
