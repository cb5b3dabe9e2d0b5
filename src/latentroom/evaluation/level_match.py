"""Does a reconstruction keep the level? Loudness and true-peak differences per clip.

The builtin codec's shipping gate (issue #14 §3, docs/builtin-codec.md) asks, on *every*
held-out clip, for integrated loudness within ±1 LU of the input and a true peak at most 1 dB
above it; a family mean would hide the one clip that comes back 6 dB hot, so the pooled rows
report the worst clip and the share of clips inside the gate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from latentroom.audio.loudness import integrated_loudness, true_peak_dbfs

LOUDNESS_GATE_LU = 1.0  # |loudness(decoded) - loudness(input)| allowed
PEAK_GATE_DB = 1.0  # true peak(decoded) - true peak(input) allowed


@dataclass(frozen=True)
class LevelScore:
    """Level of a reconstruction relative to its input; None where undefined.

    Loudness is undefined for clips shorter than one 400 ms BS.1770 block or gated to silence
    (every block below -70 LUFS) on either side; the peak for an all-zero input.
    """

    loudness_diff_lu: float | None  # decoded minus input, LU
    peak_diff_db: float | None  # decoded minus input true peak, dB

    @property
    def within_gate(self) -> bool | None:
        """Inside both gates; None when neither difference is defined."""
        checks = []
        if self.loudness_diff_lu is not None:
            checks.append(abs(self.loudness_diff_lu) <= LOUDNESS_GATE_LU)
        if self.peak_diff_db is not None:
            checks.append(self.peak_diff_db <= PEAK_GATE_DB)
        return all(checks) if checks else None


def _finite_diff(a: float, b: float) -> float | None:
    return b - a if math.isfinite(a) and math.isfinite(b) else None


def level_score(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> LevelScore:
    """Loudness and true-peak difference of ``estimate`` from ``reference`` [shape=(C, N)]."""
    n = min(reference.shape[-1], estimate.shape[-1])
    ref, est = reference[..., :n], estimate[..., :n]
    loudness = [integrated_loudness(x, sample_rate) for x in (ref, est)]
    peak = [true_peak_dbfs(x, sample_rate) for x in (ref, est)]
    return LevelScore(_finite_diff(*loudness), _finite_diff(*peak))


def pool_levels(scores: list[LevelScore]) -> dict[str, Any]:
    """Worst clip and share inside the gates over one family's clips (None where undefined)."""
    loud = [s.loudness_diff_lu for s in scores if s.loudness_diff_lu is not None]
    peak = [s.peak_diff_db for s in scores if s.peak_diff_db is not None]
    gated = [s.within_gate for s in scores if s.within_gate is not None]
    return {
        "n_clips": len(scores),
        "n_loudness": len(loud),
        "mean_loudness_diff_lu": float(np.mean(loud)) if loud else None,
        "max_abs_loudness_diff_lu": float(np.max(np.abs(loud))) if loud else None,
        "max_peak_diff_db": float(np.max(peak)) if peak else None,
        "share_within_gate": float(np.mean(gated)) if gated else None,
        "loudness_gate_lu": LOUDNESS_GATE_LU,
        "peak_gate_db": PEAK_GATE_DB,
    }
