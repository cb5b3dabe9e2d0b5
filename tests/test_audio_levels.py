"""Level policies and true peak, on signals whose levels are known."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from latentroom.audio.levels import (
    CEILING_DBTP,
    LOOP_MODES,
    MAX_BOOST_DB,
    LevelPolicy,
    decide_gain,
    level_audio,
    level_file,
)
from latentroom.audio.loudness import integrated_loudness, level_dbfs, true_peak_dbfs
from latentroom.errors import ConfigError

RATE = 48_000


def quarter_rate_sine(amplitude: float, seconds: float = 1.0) -> np.ndarray:
    """A sine at rate / 4 sampled 45° off its crests: sample peak amplitude / √2."""
    n = np.arange(int(seconds * RATE))
    return amplitude * np.sin(np.pi / 2 * n + np.pi / 4)[None]


def test_true_peak_finds_the_inter_sample_peak() -> None:
    x = quarter_rate_sine(1.0)
    assert level_dbfs(x)[1] == pytest.approx(-3.01, abs=0.01)  # samples miss the crests
    # BS.1770-4 allows a 4x meter to be off by up to 0.5 dB; the abrupt start adds 0.1 dB here.
    assert true_peak_dbfs(x, RATE) == pytest.approx(0.0, abs=0.2)
    assert true_peak_dbfs(np.zeros((1, 100)), RATE) == -math.inf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("keep", LevelPolicy("keep"), id="keep"),
        pytest.param("OFF", LevelPolicy("off"), id="case"),
        pytest.param("lufs:-23", LevelPolicy("lufs", -23.0), id="lufs"),
        pytest.param("peak:-1.5", LevelPolicy("peak", -1.5), id="peak"),
    ],
)
def test_parse(text: str, expected: LevelPolicy) -> None:
    assert LevelPolicy.parse(text) == expected
    assert LevelPolicy.parse(str(expected)) == expected


@pytest.mark.parametrize(
    ("text", "match"),
    [
        pytest.param("loud", "is not a level policy; use one of keep", id="unknown"),
        pytest.param("lufs:abc", "must be a finite loudness", id="not-a-number"),
        pytest.param("lufs:inf", "must be a finite loudness", id="infinite"),
        pytest.param("peak:3", "must be a number ≤ 0 dBTP", id="clipping-peak"),
        pytest.param("keep:3", "takes no value", id="value-on-keep"),
        pytest.param("match-input", "is not a level policy", id="loop-only"),
    ],
)
def test_parse_refuses(text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        LevelPolicy.parse(text)


def test_match_input_is_a_loop_policy() -> None:
    assert LevelPolicy.parse("match-input", allowed=LOOP_MODES).mode == "match-input"
    with pytest.raises(ConfigError, match="use one of keep, match-input, lufs:X, off"):
        LevelPolicy.parse("peak:-1", allowed=LOOP_MODES).mode  # noqa: B018


def test_keep_only_ever_lowers_to_the_ceiling() -> None:
    keep = LevelPolicy("keep")
    assert decide_gain(keep, -6.0, -20.0) == 0.0
    assert decide_gain(keep, 30.8, 6.2) == pytest.approx(CEILING_DBTP - 30.8)
    assert decide_gain(keep, -math.inf, -math.inf) == 0.0  # digital silence
    assert decide_gain(LevelPolicy("off"), 30.8, 6.2) == 0.0


def test_loudness_targets_are_capped_by_the_ceiling_and_the_boost_limit() -> None:
    lufs = LevelPolicy("lufs", -23.0)
    assert decide_gain(lufs, -10.0, -20.0) == pytest.approx(-3.0)
    assert decide_gain(lufs, -2.0, -30.0) == pytest.approx(CEILING_DBTP + 2.0)  # ceiling binds
    assert decide_gain(lufs, -80.0, -90.0) == pytest.approx(MAX_BOOST_DB)
    assert decide_gain(lufs, -10.0, math.nan) == 0.0  # too short to measure: only the ceiling
    match = LevelPolicy("match-input")
    assert decide_gain(match, -20.0, -30.0, reference_lufs=-26.0) == pytest.approx(4.0)
    assert decide_gain(LevelPolicy("peak", -1.0), -7.0, -20.0) == pytest.approx(6.0)


def test_level_audio_reaches_its_target_and_records_it() -> None:
    x = quarter_rate_sine(10.0)  # +20 dBTP: the +30.8 dBFS loop in small
    kept, decision = level_audio(x, RATE, LevelPolicy("keep"))
    assert true_peak_dbfs(kept, RATE) == pytest.approx(CEILING_DBTP, abs=0.01)
    assert decision.gain_db == pytest.approx(CEILING_DBTP - decision.true_peak_dbtp_before)
    assert not decision.over_full_scale and decision.to_dict()["over_0dbfs"] is False
    loud, decision = level_audio(x * 0.01, RATE, LevelPolicy("lufs", -30.0))
    assert integrated_loudness(loud, RATE) == pytest.approx(-30.0, abs=0.01)
    same, decision = level_audio(x, RATE, LevelPolicy("off"))
    assert same is x and decision.over_full_scale


def test_level_file_streams_in_blocks_and_equals_the_in_memory_policy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import soundfile as sf

    from latentroom.audio import levels

    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 30_001)) * 3.0).astype(np.float32)  # peaks near +20 dBFS
    path = tmp_path / "x.wav"
    sf.write(str(path), x.T, RATE, subtype="FLOAT")
    monkeypatch.setattr(levels, "FILE_BLOCK", 4_096)  # many blocks, crossings included
    decision = level_file(path, LevelPolicy("keep"))
    expected, reference = level_audio(x, RATE, LevelPolicy("keep"))
    assert decision.true_peak_dbtp_before == pytest.approx(reference.true_peak_dbtp_before)
    assert decision.gain_db == pytest.approx(reference.gain_db)
    assert math.isnan(decision.lufs_before)  # keep needs no loudness: not measured
    written, _ = sf.read(str(path), always_2d=True, dtype="float32")
    np.testing.assert_allclose(written.T, expected, rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]
