"""Report verdicts on the seed's §5 phenomena, from metric rows with known numbers."""

from __future__ import annotations

import math

import pytest

from latentroom.feedback.report import phenomena, sheet_passes


def row(index: int, **metrics: float) -> dict[str, float]:
    base = {
        "persistence": 1.0,
        "onset_deviation_ms": 0.0,
        "gap_to_pulse_db": -80.0,
        "flatness": 0.5,
        "entropy": 0.8,
        "centroid_hz": 3000.0,
        "hf_share": 0.1,
        "rms_dbfs": -20.0,
        "peak_dbfs": -3.0,
        "lufs": -20.0,
        "room_gain_db": 0.0,
    }
    return {"pass": index, **base, **metrics}


def verdicts(rows: list[dict[str, float]]) -> dict[str, bool | None]:
    return {claim: occurred for claim, occurred, _ in phenomena(rows)}


def test_every_phenomenon_occurs() -> None:
    rows = [
        row(0, entropy=0.99),
        row(1),
        row(
            2,
            persistence=0.8,
            gap_to_pulse_db=-70.0,
            entropy=0.83,
            hf_share=0.16,
            room_gain_db=1.0,
        ),
    ]
    assert verdicts(rows) == dict.fromkeys(
        [
            "rhythm persists",
            "silence vanishes",
            "entropy rises",
            "sheen appears",
            "loudness drifts",
        ],
        True,
    )


def test_nothing_occurs_just_below_the_thresholds() -> None:
    rows = [
        row(0),
        row(1),
        row(
            2,
            persistence=0.79,
            gap_to_pulse_db=-70.5,
            entropy=0.819,
            hf_share=0.149,
            centroid_hz=3590.0,
            room_gain_db=-0.9,
        ),
    ]
    assert set(verdicts(rows).values()) == {False}


def test_centroid_alone_makes_a_sheen_and_numbers_are_reported() -> None:
    rows = [row(0), row(1), row(2, centroid_hz=3600.0)]
    claim, occurred, numbers = phenomena(rows)[3]
    assert (claim, occurred) == ("sheen appears", True)
    assert "centroid 3000 -> 3600 Hz from pass 1 to 2" in numbers


def test_unmeasurable_metrics() -> None:
    rows = [row(0), row(1, lufs=math.nan), row(2, persistence=math.nan, room_gain_db=math.nan)]
    result = verdicts(rows)
    assert result["rhythm persists"] is None
    assert result["loudness drifts"] is None
    assert "n/a" in phenomena(rows)[4][2]


def test_one_pass_has_no_loudness_drift_to_measure() -> None:
    rows = [row(0), row(1, lufs=-25.0, room_gain_db=-5.0)]
    assert verdicts(rows)["loudness drifts"] is None  # pass 1 turns clicks into sound
    assert "at pass 1, -25.0 LUFS at pass 1" in phenomena(rows)[4][2]


def test_loudness_drift_is_the_rooms_own_gain_after_pass_one() -> None:
    # A level policy keeps the written LUFS flat; the verdict reads what the room did.
    rows = [row(0), row(1, room_gain_db=20.0), row(2, room_gain_db=0.7), row(3, room_gain_db=0.6)]
    claim, occurred, numbers = phenomena(rows)[4]
    assert (claim, occurred) == ("loudness drifts", True)
    assert "summed from pass 2 to 3: +1.3 LU" in numbers


@pytest.mark.parametrize(
    ("n_passes", "expected"),
    [
        pytest.param(1, [0, 1], id="one"),
        pytest.param(5, [0, 1, 2, 3, 4, 5], id="protocol"),
        pytest.param(100, [0, 9, 18, 27, 36, 45, 55, 64, 73, 82, 91, 100], id="hundred"),
    ],
)
def test_sheet_rows(n_passes: int, expected: list[int]) -> None:
    assert sheet_passes(n_passes) == expected
