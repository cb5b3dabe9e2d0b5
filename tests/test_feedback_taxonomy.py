"""The artifact taxonomy per pass, checked where the answer is known (seed §5.4, §7.3)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from helpers import metric_row
from latentroom.audio import Audio
from latentroom.feedback import Backend, LoopSettings, default_schedule, seed_input, start_run
from latentroom.feedback.engine import LoopInput
from latentroom.feedback.metrics import detect_pulses, pulse_mask
from latentroom.feedback.taxonomy import (
    click_times,
    dust_per_s,
    horizon_levels,
    pulse_crest_db,
    pulse_offset_ms,
    speech_share,
)
from latentroom.feedback.verdicts import (
    PULSES,
    SPEECH,
    InputClass,
    classify_input,
    phenomena,
)
from latentroom.seeds import SeedConfig, render_seed
from perceptual_audio import needs, speak

SEED = render_seed(SeedConfig(seconds=2.0))
RATE = SEED.audio.sample_rate
MONO = SEED.audio.samples[0].astype(np.float64)
PULSES_S = SEED.pulse_samples / RATE  # 0, 0.46, 0.77, 1.23, 1.54 s


def between_seconds(n_samples: int = MONO.size) -> float:
    return float((~pulse_mask(n_samples, RATE, PULSES_S)).sum()) / RATE


def add_bursts(x: np.ndarray, times: list[float], seed: int = 0) -> np.ndarray:
    """1 ms white-noise bursts (0.2 RMS) at ``times``: crackle where the seed is silent."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    for time in times:
        start = round(time * RATE)
        out[start : start + RATE // 1000] += 0.2 * rng.standard_normal(RATE // 1000)
    return out


# Each at least 100 ms from every pulse (0, 0.46, 0.77, 1.23, 1.54 s).
BURSTS = [0.15, 0.3, 0.6, 1.0, 1.38, 1.75, 1.9]


@pytest.mark.parametrize("bed_dbfs", [None, -50.0], ids=["silence", "noise-bed"])
def test_dust_rate_rises_by_the_bursts_added(bed_dbfs: float | None) -> None:
    base = MONO.copy()
    if bed_dbfs is not None:  # a steady texture between the pulses is no dust
        base += 10 ** (bed_dbfs / 20) * np.random.default_rng(1).standard_normal(base.size)
    before = dust_per_s(base, RATE, PULSES_S)
    dusty = add_bursts(base, BURSTS)
    after = dust_per_s(dusty, RATE, PULSES_S)
    assert before == 0.0
    # Exact count, so the rate rises by 7 clicks over the between-pulse time (1.66 s).
    assert after - before == pytest.approx(len(BURSTS) / between_seconds(), abs=1e-9)
    np.testing.assert_allclose(click_times(dusty, RATE, PULSES_S), BURSTS, atol=1e-3)


def test_low_passed_seed_is_smeared() -> None:
    sharp = pulse_crest_db(MONO, RATE, PULSES_S)
    dull = pulse_crest_db(sosfilt(butter(4, 1000, fs=RATE, output="sos"), MONO), RATE, PULSES_S)
    assert sharp == pytest.approx(31.2, abs=0.5)  # a Dirac with a -40 dB, 20 ms noise tail
    assert sharp - dull > 6.0  # measured: 12.3 dB lower
    rows = [_row(0, sharp), _row(1, dull)]
    (smearing,) = [v for v in phenomena(rows, _SEED_CLASS) if v.claim == "phase smearing"]
    assert smearing.occurred is True and "31.2 dB at pass 0" in smearing.numbers
    rows = [_row(0, sharp), _row(1, sharp - 0.1)]
    (kept,) = [v for v in phenomena(rows, _SEED_CLASS) if v.claim == "phase smearing"]
    assert kept.occurred is False


def test_onset_offset_follows_a_shift_and_ignores_silence() -> None:
    base = pulse_offset_ms(MONO, RATE, PULSES_S)
    late = pulse_offset_ms(np.roll(MONO, round(0.012 * RATE)), RATE, PULSES_S)
    assert abs(base) < 3.0  # the detector's own bias, below one 2.7 ms hop
    assert late - base == pytest.approx(12.0, abs=1.5)
    assert math.isnan(pulse_offset_ms(np.zeros(RATE), RATE, PULSES_S))


def test_horizon_sees_only_the_sound_between_the_pulses() -> None:
    silent = horizon_levels(MONO, RATE, PULSES_S)
    assert silent.shape == (64,) and np.all(silent == -120.0)  # the seed's tails are excluded
    t = np.arange(MONO.size) / RATE
    hum = MONO + 0.1 * np.sin(2 * np.pi * 1000.0 * t)
    levels = horizon_levels(hum, RATE, PULSES_S)
    from latentroom.evaluation.spectral import hz_to_mel

    band = hz_to_mel(RATE / 2) / 65 * (int(np.argmax(levels)) + 1)  # band centres in mel
    assert float(hz_to_mel(1000.0)) == pytest.approx(float(band), rel=0.05)
    assert np.all(np.isnan(horizon_levels(MONO, RATE, np.arange(0.0, 2.0, 0.05))))


def test_speech_share_of_speech_silence_and_seed() -> None:
    needs("silero_vad", "onnxruntime")
    voice = speak("the river carries light across the stone bridge every morning")
    talking = speech_share(voice[None], 16_000)
    silent = speech_share(np.zeros((1, RATE)), RATE)
    clicks = speech_share(SEED.audio.samples, RATE)
    assert talking > 0.7 and silent == 0.0 and clicks < 0.05
    assert math.isnan(speech_share(np.zeros((1, 2000)), RATE))  # 42 ms: too short to call
    source = {"kind": "file", "pulse_times": [0.2, 0.9]}
    assert classify_input(source, {"speech_share": talking}).kind == SPEECH
    # A seed pass that turned into speech: phantom voices; one that stayed clicks: none.
    voices = [_row(0, 31.0, speech=clicks), _row(1, 31.0, speech=talking)]
    verdict = {v.claim: v for v in phenomena(voices, _SEED_CLASS)}["phantom voices"]
    assert verdict.occurred is True and f"at most {talking:.2f} (pass 1)" in verdict.numbers
    quiet = [_row(0, 31.0, speech=clicks), _row(1, 31.0, speech=silent)]
    assert {v.claim: v for v in phenomena(quiet, _SEED_CLASS)}["phantom voices"].occurred is False


class _Delay(Backend):
    """A room whose every pass plays 3 ms late: the rhythm drags by 3 ms per pass."""

    name = "delay"
    honoured = frozenset({"strength"})

    def process(self, audio: Audio, params: dict, *, seed: int) -> Audio:
        shift = round(0.003 * audio.sample_rate)
        late = np.zeros_like(audio.samples)
        late[:, shift:] = audio.samples[:, :-shift]
        return audio.with_samples(late)


def test_a_dragging_room_is_caught_with_its_sign_and_slope(tmp_path: Path) -> None:
    settings = LoopSettings(default_schedule().with_passes(4), "delay")
    manifest = start_run(tmp_path / "run", seed_input({"seconds": 2.0}), settings, backend=_Delay())
    offsets = [p["metrics"]["pulse_offset_ms"] for p in manifest["passes"]]
    slope = np.polyfit(np.arange(5), offsets, 1)[0]
    assert slope == pytest.approx(3.0, abs=0.6)
    table = json.loads((tmp_path / "run" / "metrics.json").read_text())
    verdicts = {v["phenomenon"]: v for v in table["verdicts"]}
    assert verdicts["swing / drag"]["occurred"] is True
    assert "it drags (onsets later)" in verdicts["swing / drag"]["numbers"]
    assert verdicts["rhythm persists"]["occurred"] is True  # 12 ms late is still within 20 ms
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- swing / drag: **yes** — mean onset offset" in report
    assert "(threshold: the fitted trend moves >= 5 ms over the run)" in report
    assert (tmp_path / "run" / "horizon.png").stat().st_size > 0


def _music(seconds: float = 3.0) -> np.ndarray:
    """Stereo notes every 0.5 s (three harmonics, decaying) over a faint noise [shape=(2, N)]."""
    t = np.arange(round(seconds * RATE)) / RATE
    x = 0.01 * np.random.default_rng(0).standard_normal(t.size)
    for k, start in enumerate(np.arange(0.0, seconds, 0.5)):
        freq = (220.0, 277.2, 329.6, 440.0, 392.0, 293.7)[k % 6]
        envelope = np.where(t >= start, np.exp(-(t - start) * 3.0), 0.0)
        x += envelope * sum(np.sin(2 * np.pi * freq * h * t) / h for h in (1, 2, 3))
    x = 0.4 * x / np.abs(x).max()
    return np.stack([x, np.roll(x, 240)]).astype(np.float32)


class _Brighten(Backend):
    """A room that adds a little of its input's first difference: brighter, never metallic."""

    name = "brighten"
    honoured = frozenset({"strength"})

    def process(self, audio: Audio, params: dict, *, seed: int) -> Audio:
        edge = np.diff(audio.samples, axis=1, prepend=audio.samples[:, :1])
        return audio.with_samples((audio.samples + edge).astype(np.float32))


def test_music_gets_no_pulse_verdicts_and_no_false_sheen(tmp_path: Path) -> None:
    audio = Audio(_music(), RATE)
    loop_input = LoopInput(audio, detect_pulses(audio.samples, RATE), {"kind": "file", "path": "x"})
    settings = LoopSettings(default_schedule().with_passes(2), "brighten")
    manifest = start_run(tmp_path / "run", loop_input, settings, backend=_Brighten())
    assert manifest["input"]["class"] == "other"
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- judged as: music or other sound (" in report
    for claim in ("rhythm persists", "silence vanishes", "phase smearing", "granular dust"):
        assert f"- {claim}: **" not in report and f"- {claim}: needs a pulse train" in report
    assert "- swing / drag: needs a pulse train" in report
    table = json.loads((tmp_path / "run" / "metrics.json").read_text())
    verdicts = {v["phenomenon"]: v for v in table["verdicts"]}
    assert list(verdicts) == ["entropy rises", "sheen appears", "loudness drifts", "phantom voices"]
    centroids = [p["metrics"]["centroid_hz"] for p in manifest["passes"]]
    assert centroids[-1] / centroids[0] > 1.2  # the centroid moved by x1.5 (458 -> 708 Hz) ...
    assert verdicts["sheen appears"]["occurred"] is False  # ... but stayed low: no sheen
    if manifest["input"]["speech_missing"] is None:
        shares = [p["metrics"]["speech_share"] for p in manifest["passes"]]
        assert all(share is not None and share < 0.1 for share in shares)  # measured each pass


def test_without_the_extra_speech_is_not_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from latentroom.feedback import engine

    monkeypatch.setattr(engine, "missing_speech_packages", lambda: ["silero-vad"])
    monkeypatch.setattr(engine, "speech_share", _never)
    settings = LoopSettings(default_schedule().with_passes(1), "delay")
    with caplog.at_level(logging.WARNING):
        manifest = start_run(
            tmp_path / "run", seed_input({"seconds": 1.0}), settings, backend=_Delay()
        )
    assert manifest["input"]["speech_missing"] == "install latentroom[perceptual]"
    assert all(math.isnan(p["metrics"]["speech_share"]) for p in manifest["passes"])
    report = (tmp_path / "run" / "report.md").read_text()
    assert "- phantom voices: **not measured (install latentroom[perceptual])**" in report
    assert "silero-vad not installed (install latentroom[perceptual])" in caplog.text


def _never(*args: object) -> float:
    raise AssertionError("speech measured without its extra")


_SEED_CLASS = InputClass(PULSES, "a Koenig seed with 5 pulses", 0.0)


def _row(index: int, crest: float, speech: float = 0.0) -> dict[str, float]:
    return metric_row(index, pulse_crest_db=crest, speech_share=speech)
