"""Loudness difference (LU) between a reference and its degraded copy, BS.1770-4 integrated.

Measured with the project's one BS.1770 meter, ``latentroom.audio.loudness`` (the one ``--level``
uses; why it and not pyloudnorm is said there).
"""

from __future__ import annotations

import math

import numpy as np

from latentroom.audio.loudness import integrated_loudness
from latentroom.evaluation.perceptual.base import Measure


def loudness_difference(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> Measure:
    """Integrated loudness of ``estimate`` minus that of ``reference``, in LU.

    Positive: the estimate is louder. Not applicable when either is shorter than one 400 ms
    gating block or is gated away entirely (silence).

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(C, N)]
        Audio at full scale ±1, at ``sample_rate``.
    sample_rate : int > 0
    """
    ref = integrated_loudness(np.atleast_2d(reference), sample_rate)
    est = integrated_loudness(np.atleast_2d(estimate), sample_rate)
    for name, value in (("reference", ref), ("estimate", est)):
        if math.isnan(value):
            return Measure.skip("LU", f"{name} shorter than one 400 ms loudness block")
        if math.isinf(value):
            return Measure.skip("LU", f"{name} is silent (every block below -70 LUFS)")
    return Measure(est - ref, "LU")
