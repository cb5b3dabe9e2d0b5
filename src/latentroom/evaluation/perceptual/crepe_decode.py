"""CREPE's activations -> F0 and periodicity: the paper's local weighted average, vectorised.

CREPE (Kim et al., 2018) reads the pitch of a frame as the average of the bin centres (in
cents) around the most active bin, weighted by the activations; the periodicity is the peak
activation. torchcrepe's ``weighted_argmax`` differs in two ways that matter for a measure:
its bin centres carry a random triangular dither (+-20 cents) drawn from NumPy's global
generator on first use, so the same clip scored in two processes gets two F0 tracks, and it
applies a second sigmoid to the activations, which flattens the weights towards the window's
centre. It also masks the window one frame at a time in Python (a third of the pitch measure's
time). Here: exact bin centres, the activations as weights, no loop.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

CENTS_PER_BIN = 20.0
CENTS_OFFSET = 1997.3794084376191  # cents of bin 0 above 10 Hz (CREPE's mapping: 32.7 Hz)
N_BINS = 360
HALF_WINDOW = 4  # bins each side of the peak that enter the average (CREPE: argmax +- 4)


def bin_range(fmin: float, fmax: float) -> tuple[int, int]:
    """First and one-past-last bin searched for ``fmin`` .. ``fmax`` Hz (torchcrepe's rounding)."""
    low = math.floor((1200 * math.log2(fmin / 10.0) - CENTS_OFFSET) / CENTS_PER_BIN)
    high = math.ceil((1200 * math.log2(fmax / 10.0) - CENTS_OFFSET) / CENTS_PER_BIN)
    return max(low, 0), min(high, N_BINS)


def decode(
    activations: torch.Tensor, fmin: float, fmax: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """F0 (Hz) and periodicity per frame from activations [shape=(B, 360)] in [0, 1].

    Returns
    -------
    f0, periodicity : torch.Tensor [shape=(B,)]
        ``periodicity`` is the activation of the peak bin within ``fmin .. fmax``; ``f0`` the
        activation-weighted mean of the bin centres within 4 bins of that peak.
    """
    import torch

    low, high = bin_range(fmin, fmax)
    searched = activations[:, low:high].double()
    peak_activation, peak = searched.max(dim=1)
    offsets = torch.arange(-HALF_WINDOW, HALF_WINDOW + 1, device=activations.device)
    window = peak[:, None] + offsets  # (B, 9) bin indices relative to ``low``
    inside = (window >= 0) & (window < high - low)
    weights = searched.gather(1, window.clamp(0, high - low - 1)) * inside
    centres = CENTS_OFFSET + CENTS_PER_BIN * (window + low).double()
    cents = (weights * centres).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-12)
    return 10.0 * torch.pow(2.0, cents / 1200.0), peak_activation
