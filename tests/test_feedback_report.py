"""Report verdicts on the seed's §5 phenomena, from metric rows with known numbers."""

from __future__ import annotations

import math

import pytest

from helpers import metric_row
from latentroom.feedback.report import sheet_passes
from latentroom.feedback.verdicts import (
    APPLIES,
    OTHER,
    PULSES,
    SPEECH,
    InputClass,
    Verdict,
    classify_input,
    input_class,
    needs_speech,
    not_judged,
    phenomena,
)

SEED = InputClass(PULSES, "a Koenig seed with 5 pulses", 0.0)
MUSIC = InputClass(OTHER, "speech share 0.02; sound between its onsets", 0.02)


row = metric_row


def by_claim(rows: list[dict[str, float]], found: InputClass = SEED) -> dict[str, Verdict]:
    return {verdict.claim: verdict for verdict in phenomena(rows, found)}


def verdicts(rows: list[dict[str, float]], found: InputClass = SEED) -> dict[str, bool | None]:
    return {claim: verdict.occurred for claim, verdict in by_claim(rows, found).items()}


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
            pulse_crest_db=27.0,
            dust_per_s=1.0,
            speech_share=0.2,
            pulse_offset_ms=6.0,
        ),
    ]
    assert verdicts(rows) == dict.fromkeys(APPLIES[PULSES], True)


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
            pulse_crest_db=27.1,
            dust_per_s=0.99,
            speech_share=0.19,
            pulse_offset_ms=5.9,
        ),
    ]
    assert set(verdicts(rows).values()) == {False}


def test_centroid_alone_makes_a_sheen_and_numbers_are_reported() -> None:
    rows = [row(0), row(1), row(2, centroid_hz=4000.0)]
    sheen = by_claim(rows)["sheen appears"]
    assert sheen.occurred is True
    assert "centroid 3000 -> 4000 Hz from pass 1 to 2" in sheen.numbers
    assert "x1.2 and +1000 Hz" in sheen.threshold


def test_a_low_centroid_moving_up_is_no_sheen() -> None:
    # The old template called 297 -> 450 Hz on a stereo music file a metallic sheen.
    rows = [row(0, centroid_hz=297.0), row(1, centroid_hz=380.0), row(2, centroid_hz=450.0)]
    assert by_claim(rows, MUSIC)["sheen appears"].occurred is False


def test_unmeasurable_metrics() -> None:
    rows = [row(0), row(1, lufs=math.nan), row(2, persistence=math.nan, room_gain_db=math.nan)]
    result = by_claim(rows)
    assert result["rhythm persists"].occurred is None
    assert result["rhythm persists"].label == "not measurable"
    assert result["loudness drifts"].occurred is None
    assert "n/a" in result["loudness drifts"].numbers


def test_one_pass_has_no_loudness_drift_to_measure() -> None:
    rows = [row(0), row(1, lufs=-25.0, room_gain_db=-5.0)]
    loudness = by_claim(rows)["loudness drifts"]
    assert loudness.occurred is None  # pass 1 turns clicks into sound
    assert "at pass 1, -25.0 LUFS at pass 1" in loudness.numbers


def test_loudness_drift_is_the_rooms_own_gain_after_pass_one() -> None:
    # A level policy keeps the written LUFS flat; the verdict reads what the room did.
    rows = [row(0), row(1, room_gain_db=20.0), row(2, room_gain_db=0.7), row(3, room_gain_db=0.6)]
    loudness = by_claim(rows)["loudness drifts"]
    assert loudness.occurred is True
    assert "summed from pass 2 to 3: +1.3 LU" in loudness.numbers


def test_music_is_judged_from_the_input_and_gets_no_pulse_verdicts() -> None:
    rows = [row(0, room_gain_db=math.nan), row(1, room_gain_db=1.5), row(2, pulse_crest_db=3.0)]
    result = by_claim(rows, MUSIC)
    assert list(result) == ["entropy rises", "sheen appears", "loudness drifts", "phantom voices"]
    assert "summed from pass 1 to 2: +1.5 LU" in result["loudness drifts"].numbers
    skipped = dict(not_judged(MUSIC))
    assert set(skipped) == {
        "rhythm persists",
        "silence vanishes",
        "phase smearing",
        "granular dust",
        "swing / drag",
    }
    assert "needs a pulse train" in skipped["phase smearing"]


def test_speech_gets_no_phantom_voices_and_is_not_measured_again() -> None:
    speech = InputClass(SPEECH, "speech share 0.90 >= 0.5", 0.9)
    assert "phantom voices" not in by_claim([row(0), row(1)], speech)
    assert dict(not_judged(speech))["phantom voices"] == "the input is speech"
    assert not needs_speech(speech)
    sung = InputClass(OTHER, "speech share 0.30", 0.3)  # music with vocals
    assert "already holds speech (share 0.30)" in dict(not_judged(sung))["phantom voices"]
    assert not needs_speech(sung) and needs_speech(MUSIC) and needs_speech(SEED)


def test_missing_extra_says_not_measured() -> None:
    seed = InputClass(PULSES, "a Koenig seed", math.nan, "install latentroom[perceptual]")
    rows = [row(0, speech_share=math.nan), row(1, speech_share=math.nan)]
    phantom = by_claim(rows, seed)["phantom voices"]
    assert phantom.occurred is None
    assert phantom.label == "not measured (install latentroom[perceptual])"
    assert not needs_speech(seed)


@pytest.mark.parametrize(
    ("source", "first", "expected"),
    [
        pytest.param({"kind": "koenig_seed", "pulse_times": [0.0, 0.5]}, {}, PULSES, id="seed"),
        pytest.param(
            {"kind": "file", "pulse_times": [0.1]}, {"speech_share": 0.8}, SPEECH, id="speech"
        ),
        pytest.param(
            {"kind": "file", "pulse_times": [0.1, 0.6]},
            {"speech_share": 0.0, "gap_to_pulse_db": -90.0},
            PULSES,
            id="clicks-in-a-file",
        ),
        pytest.param(
            {"kind": "file", "pulse_times": [0.1, 0.6]},
            {"speech_share": 0.1, "gap_to_pulse_db": -12.0},
            OTHER,
            id="music",
        ),
    ],
)
def test_input_classes(source: dict, first: dict, expected: str) -> None:
    assert classify_input(source, first).kind == expected


def test_a_run_from_before_input_classes_is_classified_when_reported() -> None:
    first = row(0)
    del first["speech_share"]
    manifest = {"input": {"kind": "koenig_seed", "pulse_times": [0.0, 0.5]}, "passes": []}
    manifest["passes"].append({"metrics": first})
    found = input_class(manifest)
    assert found.kind == PULSES and found.speech_missing == "the run predates this measure"
    rows = [first, row(1)]
    phantom = by_claim(rows, found)["phantom voices"]
    assert phantom.label == "not measured (the run predates this measure)"


def test_drag_is_the_fitted_trend_with_its_sign() -> None:
    late = [row(i, pulse_offset_ms=1.0 + 2.0 * i) for i in range(5)]
    drag = by_claim(late)["swing / drag"]
    assert drag.occurred is True
    assert "trend +2.00 ms per pass, +8.0 ms over the run: it drags (onsets later)" in drag.numbers
    early = [row(i, pulse_offset_ms=1.0 - 2.0 * i) for i in range(5)]
    assert "it rushes (onsets earlier)" in by_claim(early)["swing / drag"].numbers


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
