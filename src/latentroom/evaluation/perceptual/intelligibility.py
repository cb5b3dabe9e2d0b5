"""PESQ (ITU-T P.862.2 wide-band) and STOI at 16 kHz: full-reference speech quality measures."""

from __future__ import annotations

import warnings

import numpy as np

from latentroom.evaluation.perceptual.base import MODEL_RATE, Measure, import_optional

MIN_SECONDS = 0.25  # PESQ needs at least a quarter second


def pesq_wb(reference: np.ndarray, estimate: np.ndarray) -> Measure:
    """Wide-band PESQ MOS-LQO (about 1.0..4.64; higher is better) of 16 kHz mono signals.

    Not applicable when the clips are shorter than 0.25 s or PESQ finds no utterance in the
    reference (silence, noise only).
    """
    n = min(reference.size, estimate.size)
    if n < MIN_SECONDS * MODEL_RATE:
        return Measure.skip("MOS", f"shorter than {MIN_SECONDS} s")
    pesq = import_optional("pesq")
    try:
        value = pesq.pesq(MODEL_RATE, _f32(reference[:n]), _f32(estimate[:n]), "wb")
    except pesq.PesqError as err:  # NoUtterancesError, BufferTooShortError
        return Measure.skip("MOS", f"PESQ cannot score this clip: {type(err).__name__}")
    return Measure(float(value), "MOS")


def stoi(reference: np.ndarray, estimate: np.ndarray) -> Measure:
    """Short-time objective intelligibility (0..1; higher is better) of 16 kHz mono signals.

    pystoi drops the reference's silent frames first; with fewer than 30 frames (~384 ms of
    speech) left it warns and returns 1e-5, which we report as not applicable instead.
    """
    n = min(reference.size, estimate.size)
    pystoi = import_optional("pystoi")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        value = pystoi.stoi(_f64(reference[:n]), _f64(estimate[:n]), MODEL_RATE, extended=False)
    if any("Not enough STFT frames" in str(w.message) for w in caught):
        return Measure.skip("", "too little speech for STOI (< 30 frames of 25.6 ms)")
    return Measure(float(value), "")


def _f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


def _f64(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)
