"""Every perceptual measure of one clip: a reference and its degraded (decoded) copy."""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Literal

import numpy as np

from latentroom.evaluation.perceptual.base import Measure, one_cpu_thread, to_model_rate
from latentroom.evaluation.perceptual.dnsmos import FIELDS as DNSMOS_FIELDS
from latentroom.evaluation.perceptual.dnsmos import dnsmos
from latentroom.evaluation.perceptual.intelligibility import pesq_wb, stoi
from latentroom.evaluation.perceptual.loudness import loudness_difference
from latentroom.evaluation.perceptual.pitch import HOP_SECONDS as PITCH_HOP_SECONDS
from latentroom.evaluation.perceptual.pitch import UNITS as PITCH_UNITS
from latentroom.evaluation.perceptual.pitch import pitch_errors, track_pitch
from latentroom.evaluation.perceptual.sisdr import si_sdr
from latentroom.evaluation.perceptual.speaker import speaker_similarity
from latentroom.evaluation.perceptual.speech import speech_share

MIN_SPEECH_SHARE = 0.1  # a voice family's clip with less speech than this has no voice to judge
#: name -> (unit, higher is better)
MEASURES: dict[str, tuple[str, bool]] = {
    "si_sdr": ("dB", True),
    "loudness_difference": ("LU", False),  # signed: closer to 0 is better
    **{name: (unit, False) for name, unit in PITCH_UNITS.items()},
    "speech_share": ("", False),
    "speech_share_reference": ("", False),
    "speaker_similarity": ("", True),
    "pesq": ("MOS", True),
    "stoi": ("", True),
    **dict.fromkeys(DNSMOS_FIELDS, ("MOS", True)),
}
VOICE_MEASURES = ("speaker_similarity", "pesq", "stoi", *DNSMOS_FIELDS)


def measure_pair(
    reference: np.ndarray,
    estimate: np.ndarray,
    sample_rate: int,
    *,
    voice: bool,
    pitch: bool = True,
    device: str = "cpu",
    pitch_model: Literal["tiny", "full"] = "tiny",
    pitch_hop_seconds: float = PITCH_HOP_SECONDS,
) -> dict[str, Measure]:
    """All of ``MEASURES`` for ``estimate`` against ``reference``, in that order.

    SI-SDR and loudness are taken at ``sample_rate`` on every channel; the model-based measures
    on a 16 kHz mono copy (the resampling is recorded in each measure's ``note``). Voice measures
    (speaker similarity, PESQ, STOI, DNSMOS) are taken only when ``voice`` is true and the
    reference holds speech (silero-vad share of at least 0.1); otherwise each says why not. The
    pitch measures are taken only when ``pitch`` is true (CREPE is the costliest measure, and a
    pitch error means nothing on noise or drums).

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(C, N)]
        Audio at full scale ±1; the estimate is cut to the reference's length.
    sample_rate : int > 0
    voice : bool
        Whether the clip is meant to hold a voice (a voice family such as ``speech``).
    pitch : bool
        Whether the clip can hold a pitch (False for noise and drum families).
    device : str
        torch device for the torch models: CREPE and the speaker encoder. silero-vad and DNSMOS
        run on CPU whatever it says (ONNX Runtime's CPU build).
    pitch_model : "tiny" or "full"
        CREPE capacity.
    pitch_hop_seconds : float > 0
        CREPE frame step (``pitch.HOP_SECONDS``, 10 ms as in DAC/CARGAN, by default; 20 ms
        halves the cost but moves the F0 RMSE, see ``pitch.HOP_SECONDS``).
    """
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    est = np.atleast_2d(np.asarray(estimate, dtype=np.float64))[..., : ref.shape[-1]]
    out = {
        "si_sdr": si_sdr(ref, est),
        "loudness_difference": loudness_difference(ref, est, sample_rate),
    }
    ref16, note = to_model_rate(ref, sample_rate)
    est16, _ = to_model_rate(est, sample_rate)
    # CREPE is about half the cost and runs outside the GIL (torch), like the ONNX, PESQ and
    # speaker models: the two signals are tracked in two threads while the other measures run,
    # each thread on one torch thread, so both cores stay busy (benchmarks/RESULTS.md).
    track = functools.partial(
        track_pitch, model=pitch_model, device=device, hop_seconds=pitch_hop_seconds
    )
    with one_cpu_thread(device), ThreadPoolExecutor(max_workers=2) as pool:
        tracks = [pool.submit(track, s) for s in (ref16, est16)] if pitch else []
        rest = {"speech_share": speech_share(est16), "speech_share_reference": speech_share(ref16)}
        rest.update(_voice_measures(ref16, est16, rest["speech_share_reference"], voice, device))
        for tracked in tracks:
            tracked.result()  # now cached: pitch_errors below reads both tracks back
    if pitch:
        model_rate = pitch_errors(
            ref16, est16, model=pitch_model, device=device, hop_seconds=pitch_hop_seconds
        )
    else:
        model_rate = {k: Measure.skip(u, "not a pitched family") for k, u in PITCH_UNITS.items()}
    model_rate.update(rest)
    out.update(
        {k: m if note is None or m.note else replace(m, note=note) for k, m in model_rate.items()}
    )
    return {name: out[name] for name in MEASURES}


def _voice_measures(
    ref16: np.ndarray, est16: np.ndarray, share: Measure, voice: bool, device: str
) -> dict[str, Measure]:
    reason = None
    if not voice:
        reason = "not a voice family"
    elif share.value is None:
        reason = f"no voice: {share.reason}"
    elif share.value < MIN_SPEECH_SHARE:
        reason = f"no voice: speech share of the reference {share.value:.2f} < {MIN_SPEECH_SHARE}"
    if reason is not None:
        return {name: Measure.skip(MEASURES[name][0], reason) for name in VOICE_MEASURES}
    return {
        "speaker_similarity": speaker_similarity(ref16, est16, device),
        "pesq": pesq_wb(ref16, est16),
        "stoi": stoi(ref16, est16),
        **dnsmos(est16),
    }
