"""Scale-invariant signal-to-distortion ratio (SI-SDR), as the DAC and EnCodec papers report it."""

from __future__ import annotations

import math

import numpy as np

from latentroom.evaluation.perceptual.base import Measure

SILENT_POWER = 1e-10  # mean square under this (-100 dBFS): no signal to compare against
CAP_DB = 200.0  # beyond float64 rounding noise: "identical up to scale"


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> Measure:
    """SI-SDR in dB after Le Roux et al. (2019), over all channels joined end to end.

    1. remove each signal's mean;
    2. project the estimate on the reference: ``target = <e, r> / <r, r> * r``;
    3. ``10 log10(|target|^2 / |e - target|^2)``.

    Not applicable to a silent reference. The signals are cut to the shorter length, so a
    decoder's padding does not count as distortion.

    Parameters
    ----------
    reference, estimate : np.ndarray [shape=(C, N) or (N,)]
        Same channel count, same sample rate.
    """
    ref = np.atleast_2d(np.asarray(reference, dtype=np.float64))
    est = np.atleast_2d(np.asarray(estimate, dtype=np.float64))
    n = min(ref.shape[-1], est.shape[-1])
    ref, est = ref[..., :n].ravel(), est[..., :n].ravel()
    if n == 0 or float(np.mean(ref**2)) < SILENT_POWER:
        return Measure.skip("dB", "reference is silent")
    ref, est = ref - ref.mean(), est - est.mean()
    target = (est @ ref) / (ref @ ref) * ref
    noise = float(np.sum((est - target) ** 2))
    signal = float(np.sum(target**2))
    ratio = 10.0 * math.log10(max(signal, 1e-300) / noise) if noise > 0.0 else math.inf
    if ratio >= CAP_DB:
        return Measure(CAP_DB, "dB", note=f"identical up to scale: capped at {CAP_DB:g} dB")
    return Measure(max(-CAP_DB, ratio), "dB")
