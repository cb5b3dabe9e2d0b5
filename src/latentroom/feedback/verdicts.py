"""The report's verdicts: what kind of input a run had, and which of the seed's phenomena occurred.

An input is a pulse train (a Koenig seed, or a file of clicks in silence), speech, or music and
other sound; each gets only the phenomena that make sense for it (``APPLIES``). Every verdict
states its numbers and its threshold; docs/feedback-loop.md lists them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

PULSES, SPEECH, OTHER = "pulses", "speech", "other"
CLASS_NAMES = {PULSES: "pulse train", SPEECH: "speech", OTHER: "music or other sound"}
SPEECH_INPUT = 0.5  # an input file is speech when at least this share of it is speech ...
CLICK_GAP_DB = -60.0  # ... a pulse train when its gap-to-pulse ratio is at most this
NO_SPEECH = 0.1  # phantom voices are judged only for an input with less speech than this

PERSISTS = 0.8  # rhythm persists: at least this share of pulses kept at the last pass
SILENCE_RISE_DB = 10.0  # silence vanishes: gap-to-pulse ratio up by this much from the input
ENTROPY_RISE = 0.02  # entropy rises: normalised entropy up by this much from the reference
SHEEN_RISE = 0.05  # sheen appears: share above 8 kHz up by this much from the reference ...
CENTROID_RATIO = 1.2  # ... or the centroid up by this factor ...
CENTROID_RISE_HZ = 1000.0  # ... and by at least this much (297 -> 450 Hz is no sheen)
LOUDNESS_DRIFT_LU = 1.0  # loudness drifts: |room gain| summed after the reference this much
SMEAR_DROP_DB = 3.0  # phase smearing: crest factor at the pulses down this much from the input
DUST_RISE = 1.0  # granular dust: isolated clicks per second up this much from the input
PHANTOM_RISE = 0.2  # phantom voices: speech share up this much from the input at some pass
DRAG_MS = 5.0  # swing / drag: the fitted onset-offset trend moves this far over the run

RHYTHM, SILENCE, ENTROPY, SHEEN, LOUDNESS = (
    "rhythm persists",
    "silence vanishes",
    "entropy rises",
    "sheen appears",
    "loudness drifts",
)
SMEARING, DUST, PHANTOM, DRAG = (
    "phase smearing",
    "granular dust",
    "phantom voices",
    "swing / drag",
)
PULSE_PHENOMENA = (RHYTHM, SILENCE, SMEARING, DUST, DRAG)
#: The phenomena judged for each input class, in report order.
APPLIES = {
    PULSES: (RHYTHM, SILENCE, ENTROPY, SHEEN, LOUDNESS, SMEARING, DUST, PHANTOM, DRAG),
    SPEECH: (ENTROPY, SHEEN, LOUDNESS),
    OTHER: (ENTROPY, SHEEN, LOUDNESS, PHANTOM),
}

Row = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """One phenomenon: whether it occurred (None: not measurable), its numbers, its rule."""

    claim: str
    occurred: bool | None
    numbers: str  # the numbers the verdict rests on
    threshold: str  # the rule, stated next to the verdict
    missing: str | None = None  # why it was not measured at all (an extra to install)

    @property
    def label(self) -> str:
        """``yes``, ``no``, ``not measurable`` or ``not measured (install ...)``."""
        if self.missing:
            return f"not measured ({self.missing})"
        return {True: "yes", False: "no", None: "not measurable"}[self.occurred]

    def to_dict(self) -> dict[str, Any]:
        """The verdict for ``metrics.json``."""
        return {
            "phenomenon": self.claim,
            "verdict": self.label,
            "occurred": self.occurred,
            "numbers": self.numbers,
            "threshold": self.threshold,
        }


@dataclass(frozen=True)
class InputClass:
    """What a run's input is (``PULSES``, ``SPEECH`` or ``OTHER``) and why."""

    kind: str
    reason: str
    speech_share: float  # of the input; NaN when not measured
    speech_missing: str | None = None  # why no speech share is measured (an extra to install)

    @property
    def name(self) -> str:
        return CLASS_NAMES[self.kind]

    def to_dict(self) -> dict[str, Any]:
        return {
            "class": self.kind,
            "class_reason": self.reason,
            "speech_missing": self.speech_missing,
        }


def classify_input(
    source: dict[str, Any], first: Row, speech_missing: str | None = None
) -> InputClass:
    """Classify a run's input from its manifest ``input`` and its pass-0 metrics.

    A Koenig seed with pulses is a pulse train (the manifest says so); a file is speech when
    silero-vad calls at least half of it speech, a pulse train when it has at least two onsets
    with silence between them (gap-to-pulse ratio at most -60 dB), else music or other sound.
    ``speech_missing`` says why the speech share was not measured (None: it was, or tried).
    """
    n_pulses = len(source.get("pulse_times", []))
    share = _value(first.get("speech_share"))
    if source.get("kind") == "koenig_seed" and n_pulses:
        return InputClass(PULSES, f"a Koenig seed with {n_pulses} pulses", share, speech_missing)
    if math.isfinite(share):
        measured = f"speech share {share:.2f}"
    else:
        measured = f"speech not measured ({speech_missing or 'too short'})"
    if math.isfinite(share) and share >= SPEECH_INPUT:
        return InputClass(SPEECH, f"{measured} >= {SPEECH_INPUT}", share, speech_missing)
    gap = _value(first.get("gap_to_pulse_db"))
    if n_pulses >= 2 and gap <= CLICK_GAP_DB:
        reason = f"{n_pulses} onsets with silence between (gap-to-pulse {gap:.1f} dB"
        reason = f"{reason} <= {CLICK_GAP_DB:g} dB); {measured}"
        return InputClass(PULSES, reason, share, speech_missing)
    return InputClass(OTHER, f"{measured}; sound between its onsets", share, speech_missing)


def input_class(manifest: dict[str, Any]) -> InputClass:
    """The run's input class: as recorded, else classified now (runs from before classes)."""
    source = manifest["input"]
    first = manifest["passes"][0]["metrics"] if manifest["passes"] else {}
    if "class" not in source:
        return classify_input(source, first, "the run predates this measure")
    share = _value(first.get("speech_share"))
    return InputClass(source["class"], source["class_reason"], share, source["speech_missing"])


def needs_speech(found: InputClass) -> bool:
    """Whether a pass after the input needs its speech share (only for phantom voices)."""
    return PHANTOM in APPLIES[found.kind] and found.speech_share < NO_SPEECH


def not_judged(found: InputClass) -> list[tuple[str, str]]:
    """``(phenomenon, why)`` for every phenomenon not judged for this input."""
    why = f"needs a pulse train; the input is {found.name}"
    skipped = [(claim, why) for claim in PULSE_PHENOMENA if claim not in APPLIES[found.kind]]
    if PHANTOM not in APPLIES[found.kind]:
        skipped.append((PHANTOM, f"the input is {found.name}"))
    elif math.isfinite(found.speech_share) and found.speech_share >= NO_SPEECH:
        skipped.append(
            (PHANTOM, f"the input already holds speech (share {found.speech_share:.2f})")
        )
    return skipped


def phenomena(rows: list[Row], found: InputClass) -> list[Verdict]:
    """The verdicts that apply to ``found``'s input, from the per-pass metric rows.

    Rhythm, silence, smearing, dust and phantom voices compare with the input (pass 0); the
    drag is the trend over all passes. For a pulse train, entropy, sheen and loudness compare
    with the first processed pass, since clicks are themselves white and at their own level;
    for other inputs with the input.
    """
    skipped = {claim for claim, _ in not_judged(found)}
    first, last = rows[0], rows[-1]
    base = rows[min(1, len(rows) - 1)] if found.kind == PULSES else first
    judged = {
        RHYTHM: lambda: _rhythm(first, last),
        SILENCE: lambda: _silence(first, last),
        ENTROPY: lambda: _entropy(base, last),
        SHEEN: lambda: _sheen(base, last),
        LOUDNESS: lambda: _loudness(rows, base),
        SMEARING: lambda: _smearing(rows),
        DUST: lambda: _dust(first, last),
        PHANTOM: lambda: _phantom(rows, found),
        DRAG: lambda: _drag(rows),
    }
    return [judged[claim]() for claim in APPLIES[found.kind] if claim not in skipped]


def _rhythm(first: Row, last: Row) -> Verdict:
    kept = _value(last["persistence"])
    numbers = (
        f"persistence {_f(first['persistence'])} at the input, {_f(kept)} at pass "
        f"{last['pass']}; median onset deviation {_f(last['onset_deviation_ms'], '+.1f')} ms"
    )
    return Verdict(
        RHYTHM, _ok(kept >= PERSISTS, kept), numbers, f"persistence >= {PERSISTS} at the last pass"
    )


def _silence(first: Row, last: Row) -> Verdict:
    rise = _value(last["gap_to_pulse_db"]) - _value(first["gap_to_pulse_db"])
    numbers = (
        f"gap-to-pulse ratio {_f(first['gap_to_pulse_db'], '.1f')} dB at the input, "
        f"{_f(last['gap_to_pulse_db'], '.1f')} dB at pass {last['pass']}"
    )
    return Verdict(SILENCE, _ok(rise >= SILENCE_RISE_DB, rise), numbers, f"+{SILENCE_RISE_DB:g} dB")


def _entropy(base: Row, last: Row) -> Verdict:
    rise = _value(last["entropy"]) - _value(base["entropy"])
    numbers = (
        f"normalised spectral entropy {_f(base['entropy'], '.3f')} at pass {base['pass']}, "
        f"{_f(last['entropy'], '.3f')} at pass {last['pass']}; flatness "
        f"{_f(base['flatness'], '.3f')} -> {_f(last['flatness'], '.3f')}"
    )
    return Verdict(ENTROPY, _ok(rise >= ENTROPY_RISE, rise), numbers, f"+{ENTROPY_RISE}")


def _sheen(base: Row, last: Row) -> Verdict:
    rise = _value(last["hf_share"]) - _value(base["hf_share"])
    before, after = _value(base["centroid_hz"]), _value(last["centroid_hz"])
    ratio = after / before if before else math.nan
    occurred = rise >= SHEEN_RISE or (
        ratio >= CENTROID_RATIO and after - before >= CENTROID_RISE_HZ
    )
    numbers = (
        f"share above 8 kHz {_f(base['hf_share'], '.3f')} -> {_f(last['hf_share'], '.3f')}, "
        f"centroid {_f(before, '.0f')} -> {_f(after, '.0f')} Hz from pass {base['pass']} to "
        f"{last['pass']}"
    )
    threshold = f"+{SHEEN_RISE} share, or centroid x{CENTROID_RATIO} and +{CENTROID_RISE_HZ:.0f} Hz"
    return Verdict(SHEEN, _ok(occurred, rise + ratio), numbers, threshold)


def _loudness(rows: list[Row], base: Row) -> Verdict:
    """The room's own gain summed over the passes after ``base``.

    For a pulse train ``base`` is pass 1 (which turns clicks into sound). Summed per pass, it
    is what the loudness would have done with no level policy; with ``--level off`` it equals
    the LUFS change from ``base`` to the last pass.
    """
    last = rows[-1]
    gains = [_value(row["room_gain_db"]) for row in rows[base["pass"] + 1 :]]
    change = float(np.sum(gains)) if gains else math.nan
    numbers = (
        f"the room's own gain summed from pass {base['pass'] + 1} to {last['pass']}: "
        f"{_f(change, '+.1f')} LU; written {_f(base['lufs'], '.1f')} LUFS at pass "
        f"{base['pass']}, {_f(last['lufs'], '.1f')} LUFS at pass {last['pass']}, peak "
        f"{_f(last['peak_dbfs'], '.1f')} dBFS"
    )
    return Verdict(
        LOUDNESS,
        _ok(abs(change) >= LOUDNESS_DRIFT_LU, change),
        numbers,
        f"|sum| >= {LOUDNESS_DRIFT_LU} LU",
    )


def _smearing(rows: list[Row]) -> Verdict:
    first, last = rows[0], rows[-1]
    drop = _value(first.get("pulse_crest_db")) - _value(last.get("pulse_crest_db"))
    shown = rows[:2] + rows[2:][-1:]
    numbers = "crest factor at the pulses " + ", ".join(
        f"{_f(row.get('pulse_crest_db'), '.1f')} dB at pass {row['pass']}" for row in shown
    )
    return Verdict(
        SMEARING,
        _ok(drop >= SMEAR_DROP_DB, drop),
        numbers,
        f"-{SMEAR_DROP_DB:g} dB from the input to the last pass",
    )


def _dust(first: Row, last: Row) -> Verdict:
    rise = _value(last.get("dust_per_s")) - _value(first.get("dust_per_s"))
    numbers = (
        f"isolated clicks between pulses {_f(first.get('dust_per_s'))} per s at the input, "
        f"{_f(last.get('dust_per_s'))} per s at pass {last['pass']}"
    )
    return Verdict(DUST, _ok(rise >= DUST_RISE, rise), numbers, f"+{DUST_RISE:g} per s")


def _phantom(rows: list[Row], found: InputClass) -> Verdict:
    threshold = f"+{PHANTOM_RISE} speech share over the input's at some pass"
    if found.speech_missing:
        return Verdict(PHANTOM, None, "silero-vad speech share", threshold, found.speech_missing)
    shares = [_value(row.get("speech_share")) for row in rows]
    later = [(s, row["pass"]) for s, row in zip(shares[1:], rows[1:], strict=True)]
    finite = [(share, index) for share, index in later if math.isfinite(share)]
    if not math.isfinite(shares[0]) or not finite:
        numbers = f"silero-vad speech share {_f(shares[0])} at the input (too short to call?)"
        return Verdict(PHANTOM, None, numbers, threshold)
    peak, at = max(finite, key=lambda item: item[0])
    numbers = (
        f"silero-vad speech share {shares[0]:.2f} at the input, at most {peak:.2f} (pass {at}), "
        f"{_f(shares[-1])} at pass {rows[-1]['pass']}"
    )
    return Verdict(PHANTOM, peak - shares[0] >= PHANTOM_RISE, numbers, threshold)


def _drag(rows: list[Row]) -> Verdict:
    points = [
        (row["pass"], _value(row.get("pulse_offset_ms")))
        for row in rows
        if math.isfinite(_value(row.get("pulse_offset_ms")))
    ]
    threshold = f"the fitted trend moves >= {DRAG_MS:g} ms over the run"
    first, last = rows[0], rows[-1]
    offsets = (
        f"mean onset offset from the pulses {_f(first.get('pulse_offset_ms'), '+.1f')} ms at "
        f"the input, {_f(last.get('pulse_offset_ms'), '+.1f')} ms at pass {last['pass']}"
    )
    if len(points) < 2 or points[0][0] == points[-1][0]:
        return Verdict(DRAG, None, f"{offsets}; too few passes with onsets", threshold)
    passes, values = np.array(points).T
    slope = float(np.polyfit(passes, values, 1)[0])
    change = slope * float(passes[-1] - passes[0])
    numbers = f"{offsets}; trend {slope:+.2f} ms per pass, {change:+.1f} ms over the run"
    occurred = abs(change) >= DRAG_MS
    if occurred:
        numbers += ": it drags (onsets later)" if change > 0 else ": it rushes (onsets earlier)"
    return Verdict(DRAG, occurred, numbers, threshold)


def _value(value: Any) -> float:
    return math.nan if value is None else float(value)


def _ok(condition: bool, value: float) -> bool | None:
    return None if not math.isfinite(value) else bool(condition)


def _f(value: Any, spec: str = ".2f") -> str:
    if value is None or not math.isfinite(float(value)):
        return "n/a"
    return format(float(value), spec)
