"""Synthetic families and corpus folders: length, level, determinism, layout, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from latentroom.datasets.clip import PEAK_DB_RANGE, finish
from latentroom.datasets.corpus import (
    SynthCorpusConfig,
    build_synth_corpus,
    clip_rng,
    plan_clips,
)
from latentroom.datasets.speech import espeak_available
from latentroom.datasets.synth import FAMILIES, karplus_strong
from latentroom.errors import ConfigError, OutputExistsError

RATE = 16_000
NEEDS_ESPEAK = pytest.mark.skipif(not espeak_available(), reason="espeak-ng not installed")


def _family_params() -> list[object]:
    marks = {"speech": [NEEDS_ESPEAK]}
    return [pytest.param(name, id=name, marks=marks.get(name, [])) for name in FAMILIES]


@pytest.mark.parametrize("family", _family_params())
def test_family_length_level_and_determinism(family: str) -> None:
    render = FAMILIES[family]
    x = render(0.75, RATE, np.random.default_rng(7))
    assert x.shape == (12_000,)
    assert x.dtype == np.float32
    peak_db = 20 * np.log10(np.max(np.abs(x)))
    assert PEAK_DB_RANGE[0] - 1e-3 <= peak_db <= PEAK_DB_RANGE[1] + 1e-3
    assert np.sqrt(np.mean(x**2)) > 1e-3  # audible, not one lonely spike
    if family != "koenig":  # a seed keeps its impulse at sample 0
        assert x[0] == 0.0 and x[-1] == 0.0  # faded ends
    np.testing.assert_array_equal(x, render(0.75, RATE, np.random.default_rng(7)))
    assert not np.array_equal(x, render(0.75, RATE, np.random.default_rng(8)))


def test_karplus_strong_pitch_follows_period() -> None:
    rng = np.random.default_rng(0)
    period = 100
    y = karplus_strong(RATE, period, rng.uniform(-1, 1, period), 0.999)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    f_peak = np.argmax(spectrum[10:]) + 10  # bins are 1 Hz apart for one second
    assert f_peak == pytest.approx(RATE / (period + 0.5), abs=2)


def test_koenig_clip_sounds_at_the_seed_pulses() -> None:
    from latentroom.datasets.koenig import random_seed_config
    from latentroom.seeds.render import render_seed

    config = random_seed_config(1.0, RATE, np.random.default_rng(3))
    pulses = render_seed(config).pulse_samples
    x = np.abs(FAMILIES["koenig"](1.0, RATE, np.random.default_rng(3)))
    assert pulses.size >= 2
    near = round(0.016 * RATE)  # excitations are at most 15 ms long
    for pulse in pulses:
        assert x[max(0, pulse - near) : pulse + near].max() > 0.1 * x.max()


def test_finish_scales_peak_into_range_and_keeps_silence() -> None:
    rng = np.random.default_rng(0)
    y = finish(np.sin(np.linspace(0, 100, 4000)) * 7.0, RATE, rng)
    assert -6.0 <= 20 * np.log10(np.abs(y).max()) <= -1.0
    assert not finish(np.zeros(100), RATE, rng).any()


def _config(**overrides: object) -> SynthCorpusConfig:
    values: dict[str, object] = {
        "minutes": 12 * 0.25 / 60,
        "seed": 5,
        "sample_rate": RATE,
        "clip_seconds": 0.25,
        "holdout": 0.25,
        "families": ("fm", "karplus", "noise"),
    }
    return SynthCorpusConfig.from_dict({**values, **overrides})


def test_plan_shares_clips_round_robin_with_holdout() -> None:
    plans = plan_clips(_config(minutes=13 * 0.25 / 60), ("fm", "karplus", "noise"))
    per_family = {f: [p.split for p in plans if p.family == f] for f in ("fm", "karplus", "noise")}
    assert per_family["fm"] == ["train"] * 4 + ["holdout"]
    assert per_family["karplus"] == ["train", "train", "train", "holdout"]
    assert plans[0].relpath == "train/fm/fm_00000.wav"


def test_build_corpus_layout_manifest_and_identical_bytes(tmp_path: Path) -> None:
    first = build_synth_corpus(tmp_path / "a", _config())
    build_synth_corpus(tmp_path / "b", _config())
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.wav"))
    assert len(files) == 12
    assert Path("holdout/noise/noise_00003.wav") in files
    for rel in [*files, Path("manifest.json")]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest == first
    assert manifest["families"]["fm"] == {
        "train": 3,
        "holdout": 1,
        "train_seconds": 0.75,
        "holdout_seconds": 0.25,
    }
    assert manifest["seed"] == 5 and manifest["format_version"] == 1
    assert manifest["espeak_ng"] is None  # no speech in this corpus


def test_clip_depends_only_on_seed_family_and_index() -> None:
    a = FAMILIES["fm"](0.1, RATE, clip_rng(5, "fm", 2))
    b = FAMILIES["fm"](0.1, RATE, clip_rng(5, "fm", 2))
    c = FAMILIES["fm"](0.1, RATE, clip_rng(6, "fm", 2))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_speech_is_skipped_with_a_note_without_espeak(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("latentroom.datasets.speech.espeak_available", lambda: False)
    manifest = build_synth_corpus(tmp_path / "c", _config(families=("fm", "speech")))
    assert manifest["skipped"] == {"speech": "espeak-ng is not installed"}
    assert manifest["espeak_ng"] is None
    assert set(manifest["families"]) == {"fm"}
    assert not (tmp_path / "c" / "train" / "speech").exists()


def test_existing_corpus_needs_force(tmp_path: Path) -> None:
    build_synth_corpus(tmp_path / "d", _config())
    (tmp_path / "d" / "old.txt").write_text("x")
    with pytest.raises(OutputExistsError, match="--force"):
        build_synth_corpus(tmp_path / "d", _config())
    build_synth_corpus(tmp_path / "d", _config(seed=9), force=True)
    assert not (tmp_path / "d" / "old.txt").exists()
    assert json.loads((tmp_path / "d" / "manifest.json").read_text())["seed"] == 9


def test_force_never_replaces_a_folder_that_is_not_a_corpus(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "song.wav").write_text("precious")
    with pytest.raises(OutputExistsError, match="not a latentroom synthetic corpus"):
        build_synth_corpus(tmp_path / "mine", _config(), force=True)
    assert (tmp_path / "mine" / "song.wav").read_text() == "precious"
    (tmp_path / "empty").mkdir()
    build_synth_corpus(tmp_path / "empty", _config(), force=True)
    assert (tmp_path / "empty" / "manifest.json").exists()


def test_failure_leaves_no_partial_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
        raise RuntimeError("renderer failed")

    monkeypatch.setitem(FAMILIES, "noise", explode)
    with pytest.raises(RuntimeError, match="renderer failed"):
        build_synth_corpus(tmp_path / "e", _config())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        pytest.param({"minutes": 0}, "minutes must be > 0", id="minutes"),
        pytest.param({"clip_seconds": 0.01}, "clip_seconds", id="clip-seconds"),
        pytest.param({"holdout": 1.0}, "holdout", id="holdout"),
        pytest.param({"sample_rate": 100}, "sample_rate", id="rate"),
        pytest.param({"families": ("fm", "cello")}, "cello", id="family"),
        pytest.param({"families": ()}, "choose from", id="no-family"),
        pytest.param({"bogus": 1}, "unknown corpus config keys", id="unknown-key"),
    ],
)
def test_config_validation(overrides: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        _config(**overrides)


@NEEDS_ESPEAK
def test_speech_corpus_records_the_espeak_version(tmp_path: Path) -> None:
    manifest = build_synth_corpus(tmp_path / "s", _config(families=("speech",), minutes=0.5 / 60))
    assert manifest["espeak_ng"].startswith("eSpeak NG")
    assert manifest["families"]["speech"]["train"] == 1
