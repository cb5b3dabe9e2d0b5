"""Tempo quantizing: UnRAVEl's table at 44.1 kHz / 2048, nearest k, frame-rate sources."""

from __future__ import annotations

import math

import pytest

from latentroom.compose.tempo import nearest_k, resolve_frame_rate, tempo_table
from latentroom.errors import ConfigError

RAVE_RATE = 44_100 / 2048  # 21.533 Hz


def test_k11_at_44k1_over_2048_is_117_45_bpm() -> None:
    (row,) = tempo_table(RAVE_RATE, k_min=11, k_max=11)
    assert round(row.bpm, 2) == 117.45
    assert row.double_time is None  # odd k: the half beat falls between frames


def _truncate(value: float) -> float:
    return math.floor(value * 100) / 100


def test_table_matches_unravel() -> None:
    # UnRAVEl's published table truncates to two decimals (161.499 -> 161.49) and doubles the
    # truncated value; we keep full precision, so compare truncated.
    rows = {r.k: r for r in tempo_table(RAVE_RATE, k_min=7, k_max=12)}
    bpm = {k: _truncate(r.bpm) for k, r in rows.items()}
    assert bpm == {7: 184.57, 8: 161.49, 9: 143.55, 10: 129.19, 11: 117.45, 12: 107.66}
    doubles = {k: 2 * _truncate(r.bpm) for k, r in rows.items() if r.double_time}
    assert doubles == pytest.approx({8: 322.98, 10: 258.38, 12: 215.32})
    assert rows[8].double_time == pytest.approx(2 * rows[8].bpm)


def test_nearest_k_and_error() -> None:
    match = nearest_k(RAVE_RATE, 120.0)  # k=11 gives 117.45, k=10 gives 129.19
    assert match.k == 11
    assert match.error == pytest.approx(117.4548 - 120.0, abs=1e-3)


def test_nearest_k_never_below_one() -> None:
    assert nearest_k(12.5, 10_000.0).k == 1


def test_frame_rate_from_sample_rate_and_hop() -> None:
    assert resolve_frame_rate(sample_rate=48_000, hop_length=1920) == 25.0


def test_frame_rate_from_codec(tiny_codec_name: str) -> None:
    assert resolve_frame_rate(codec=tiny_codec_name) == 100.0  # 16 kHz / 160


def test_frame_rate_sources_are_exclusive() -> None:
    with pytest.raises(ConfigError, match="give exactly one of --codec"):
        resolve_frame_rate(frame_rate=25.0, sample_rate=48_000, hop_length=1920)


def test_half_given_sample_rate_refused() -> None:
    with pytest.raises(ConfigError, match="--sample-rate and --hop go together"):
        resolve_frame_rate(sample_rate=48_000)


def test_bad_values_refused() -> None:
    with pytest.raises(ConfigError, match="need 1 <= k_min <= k_max"):
        tempo_table(RAVE_RATE, k_min=8, k_max=4)
    with pytest.raises(ConfigError, match="bpm must be a positive number"):
        nearest_k(RAVE_RATE, 0.0)
    with pytest.raises(ConfigError, match="frame rate must be a positive number"):
        tempo_table(-1.0)
