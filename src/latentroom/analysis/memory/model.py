"""Torch dynamics models ``p(s_t | s_<t)``: a causal MLP, with or without the Engram memory.

Both predict a diagonal Gaussian over the next standardised state, centred at the last state
plus a learned step. The memory model adds, before the output layer, the gated sum of its
table lookups: the context's last n states are quantised (k-means centres held as a buffer),
every (order, head) table is read at the n-gram's hashed slot, the vectors are concatenated
into ``e`` and, as in Engram, turned into a key ``k = W_k e`` and a value ``v = W_v e``; the
gate ``sigmoid(<rms(h), rms(k)> / sqrt(w))`` decides from the trunk state ``h`` whether the
retrieved value fits this context, and ``h + gate * v`` goes on. Engram's short depthwise
convolution is left out: each window makes one prediction, so there is no sequence axis for it
to smooth along. This module imports torch: import it only where it is used.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from latentroom.analysis.memory.hashing import HashPlan, slots

MAX_LOG_SCALE = 10.0


class DynamicsNet(nn.Module):
    """Trunk MLP over the flattened context (states and their steps) + a diagonal Gaussian head.

    Parameters
    ----------
    context, dim, hidden : int
        ``L``, ``d`` and the trunk width ``w``.
    min_log_scale : np.ndarray [shape=(d,)]
        Least log standard deviation per dim (standardised units).
    plan : HashPlan or None
        The memory's tables; None builds the model without memory.
    centres : np.ndarray [shape=(K, d)] or None
        Quantiser centres in the quantiser's units, with ``plan``.
    to_quantiser : np.ndarray [shape=(d,)] or None
        Per-dim factor from the model's standardised units to the quantiser's, with ``plan``.
    embed_dim : int
        Width of each table's vectors, with ``plan``.
    """

    def __init__(
        self,
        context: int,
        dim: int,
        hidden: int,
        min_log_scale: np.ndarray,
        *,
        plan: HashPlan | None = None,
        centres: np.ndarray | None = None,
        to_quantiser: np.ndarray | None = None,
        embed_dim: int = 16,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.trunk = nn.Sequential(
            nn.Linear(2 * context * dim, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU()
        )
        self.out = nn.Linear(hidden, 2 * dim)
        self.register_buffer("min_log_scale", torch.as_tensor(min_log_scale, dtype=torch.float32))
        self.plan = plan
        if plan is not None:
            assert centres is not None and to_quantiser is not None
            self.register_buffer("centres", torch.as_tensor(centres, dtype=torch.float32))
            self.register_buffer("to_quantiser", torch.as_tensor(to_quantiser, dtype=torch.float32))
            self.tables = nn.ModuleList(
                nn.Embedding(size, embed_dim, sparse=True) for size in plan.sizes
            )
            width = plan.n_tables * embed_dim
            self.key = nn.Linear(width, hidden)
            self.value = nn.Linear(width, hidden)
            self.norm_hidden = nn.RMSNorm(hidden)
            self.norm_key = nn.RMSNorm(hidden)

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest-centre code of every context state, ``x (B, L, d)`` -> ``(B, L)`` int64."""
        # Registered buffers; torch types them as Tensor | Module.
        centres: torch.Tensor = self.centres  # type: ignore[assignment]
        scale: torch.Tensor = self.to_quantiser  # type: ignore[assignment]
        dist = (centres**2).sum(dim=1) - 2 * (x * scale) @ centres.T
        return dist.argmin(dim=-1)

    def slots(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Slot of each table, ``(B,)`` each, for contexts ``x (B, L, d)``."""
        assert self.plan is not None
        return slots(self.codes(x), self.plan)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """``x (B, L, d)`` standardised -> mean, log scale ``(B, d)`` and the gate ``(B,)``.

        The gate is None without memory.
        """
        steps = torch.diff(x, dim=1, prepend=x[:, :1])
        h = self.trunk(torch.cat([x, steps], dim=2).flatten(1))
        gate = None
        if self.plan is not None:
            looked_up = [t(s) for t, s in zip(self.tables, self.slots(x), strict=True)]
            e = torch.cat(looked_up, dim=1)
            k, v = self.key(e), self.value(e)
            score = (self.norm_hidden(h) * self.norm_key(k)).sum(dim=1) / math.sqrt(h.shape[1])
            gate = torch.sigmoid(score)
            h = h + gate[:, None] * v
        o = self.out(h)
        log_scale = o[:, self.dim :].clamp(min=self.min_log_scale).clamp(max=MAX_LOG_SCALE)
        return x[:, -1] + o[:, : self.dim], log_scale, gate


def gaussian_nll(mean: torch.Tensor, log_scale: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Diagonal Gaussian NLL summed over dims, ``(B,)`` (standardised units)."""
    z = (y - mean) * torch.exp(-log_scale)
    return (0.5 * z**2 + log_scale).sum(dim=1) + 0.5 * y.shape[1] * math.log(2 * math.pi)


def table_parameters(net: DynamicsNet) -> list[nn.Parameter]:
    """The memory tables' weights (trained with their own, larger learning rate)."""
    return [p for t in getattr(net, "tables", []) for p in t.parameters()]


def n_parameters(net: nn.Module) -> int:
    """Trainable parameters (tables included; the quantiser centres are a fixed buffer)."""
    return sum(p.numel() for p in net.parameters() if p.requires_grad)


def plain_parameters(context: int, dim: int, hidden: int) -> int:
    """Parameters of ``DynamicsNet`` without memory at width ``hidden`` (closed form)."""
    n_in = 2 * context * dim
    return (n_in + 1) * hidden + (hidden + 1) * hidden + (hidden + 1) * 2 * dim


def matched_width(context: int, dim: int, target: int) -> int:
    """Width of the no-memory model whose parameter count is nearest ``target``.

    The count grows by ``2Ld + 2w + 2d + 2`` per unit of width, so the nearest width is within
    half that of the target: the matching tolerance, reported beside both counts.
    """
    a, b = 1.0, 2.0 * context * dim + 2 + 2 * dim
    c = 2.0 * dim - target
    root = int((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a))
    candidates = [w for w in (root - 1, root, root + 1, root + 2) if w >= 1]
    return min(candidates, key=lambda w: (abs(plain_parameters(context, dim, w) - target), w))
