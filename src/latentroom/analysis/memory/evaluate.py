"""Scoring on eval: teacher-forced and free-rollout NLL per eval item, and table usage.

Per-item sums (not means) are returned, so ``summarise`` can bootstrap eval items for the 95 %
intervals exactly as Phase 1 does. This module imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from latentroom.analysis.memory.hashing import HashPlan
from latentroom.analysis.memory.model import DynamicsNet, gaussian_nll
from latentroom.analysis.memory.train import Scaler, window_batch
from latentroom.analysis.metrics import add_by_item
from latentroom.analysis.predictors import Windows

#: Columns of the teacher-forced per-item sums.
TEACHER_COLUMNS = ("n", "nll_memory", "nll_no_memory", "nll_best_marginal", "gate")
#: Columns of the per-item, per-horizon free-rollout sums.
ROLLOUT_COLUMNS = ("n", "nll_memory", "nll_no_memory", "nll_state_marginal")


@dataclass(frozen=True)
class Fitted:
    """Everything scored on eval."""

    memory: DynamicsNet
    plain: DynamicsNet
    marginal: Any  # the best marginal of Δs (MarginalDiag or MarginalFull), one horizon
    scaler: Scaler
    state_mean: np.ndarray  # (d,) the context-free Gaussian of s itself: a rollout that scores
    state_var: np.ndarray  # (d,) worse than it has lost the trajectory


def teacher_forced(
    windows: Windows, rows_of: dict[int, int], fitted: Fitted, device: str
) -> np.ndarray:
    """One-step NLLs (nats/frame) summed per eval item, ``(n_items, len(TEACHER_COLUMNS))``."""
    sums = np.zeros((len(rows_of), len(TEACHER_COLUMNS)))
    jacobian = fitted.scaler.log_jacobian
    with torch.no_grad():
        for chunk in windows(None):
            rows = np.array([rows_of[int(i)] for i in chunk.item])
            x, y = window_batch(chunk.context, chunk.targets, fitted.scaler, device)
            mean, log_scale, gate = fitted.memory(x)
            nll_memory = gaussian_nll(mean, log_scale, y).cpu().numpy() + jacobian
            mean, log_scale, _ = fitted.plain(x)
            nll_plain = gaussian_nll(mean, log_scale, y).cpu().numpy() + jacobian
            nll_marginal = fitted.marginal.predict(chunk.context)[0].nll(chunk.targets[0])
            assert gate is not None
            terms = [np.ones(chunk.size), nll_memory, nll_plain, nll_marginal, gate.cpu().numpy()]
            add_by_item(sums, rows, np.stack(terms, axis=1))
    return sums


def free_rollouts(
    windows: Windows,
    rows_of: dict[int, int],
    fitted: Fitted,
    horizons: tuple[int, ...],
    *,
    stride: int,
    device: str,
) -> np.ndarray:
    """Free-rollout NLLs at ``horizons`` summed per eval item, ``(n_items, H, 4)``.

    From every ``stride``-th eval window each model runs on its own mean predictions (fed back,
    re-quantised for the memory's n-grams); step r scores the true ``s_{e+r}``.
    """
    sums = np.zeros((len(rows_of), len(horizons), len(ROLLOUT_COLUMNS)))
    steps = max(horizons)
    picks = [r - 1 for r in horizons]
    with torch.no_grad():
        for chunk in windows(None):
            context, targets = chunk.context[::stride], chunk.targets[:, ::stride]
            rows = np.array([rows_of[int(i)] for i in chunk.item[::stride]])
            future = context[:, -1][None] + np.cumsum(targets[:steps], axis=0)  # (R, B, d)
            x = fitted.scaler.apply(context, device)
            y = fitted.scaler.apply(future, device)
            nll_memory = _rollout(fitted.memory, x, y) + fitted.scaler.log_jacobian
            nll_plain = _rollout(fitted.plain, x, y) + fitted.scaler.log_jacobian
            z = (future - fitted.state_mean) ** 2 / fitted.state_var
            nll_state = 0.5 * (z + np.log(2 * np.pi * fitted.state_var)).sum(axis=2)
            ones = np.ones_like(nll_state)
            terms = np.stack([ones, nll_memory, nll_plain, nll_state], axis=-1)[picks]
            for h in range(len(horizons)):
                add_by_item(sums[:, h], rows, terms[h])
    return sums


def _rollout(net: DynamicsNet, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Standardised NLL of ``y (R, B, d)`` after feeding back mean predictions, ``(R, B)``."""
    context = x.shape[1]
    frames = x
    out = []
    for r in range(y.shape[0]):
        mean, log_scale, _ = net(frames[:, -context:])
        out.append(gaussian_nll(mean, log_scale, y[r]).cpu().numpy())
        frames = torch.cat([frames, mean[:, None]], dim=1)
    return np.stack(out)


def table_usage(
    train: Windows, eval_windows: Windows, fitted: Fitted, plan: HashPlan, n_codes: int, device: str
) -> dict[str, Any]:
    """Per table: share of slots ever hit on train and on eval, and n-grams sharing a slot.

    ``collision_share`` is 1 − (distinct slots hit / distinct n-grams seen) on train: the share
    of n-grams that had to share their slot with another one in that head.
    """
    hit = {part: [np.zeros(size, dtype=bool) for size in plan.sizes] for part in ("train", "eval")}
    max_order = max(plan.orders)
    exact = float(n_codes) ** max_order < 2**62  # n-grams as base-K integers fit in int64
    seen: dict[int, set[int]] = {n: set() for n in set(plan.orders)}
    codes_used = np.zeros(n_codes, dtype=bool)
    with torch.no_grad():
        for part, windows in (("train", train), ("eval", eval_windows)):
            for chunk in windows(None):
                x = fitted.scaler.apply(chunk.context, device)
                codes = fitted.memory.codes(x)
                for j, slot in enumerate(fitted.memory.slots(x)):
                    hit[part][j][slot.cpu().numpy()] = True
                if part == "train":
                    c = codes.cpu().numpy()
                    codes_used[c[:, -1]] = True
                    for n in seen if exact else ():
                        key = np.zeros(c.shape[0], dtype=np.int64)
                        for i in range(n):
                            key = key * n_codes + c[:, -1 - i]
                        seen[n].update(np.unique(key).tolist())
    tables = {}
    for j, size in enumerate(plan.sizes):
        distinct = len(seen[plan.orders[j]]) if exact else None
        n_hit = int(hit["train"][j].sum())
        tables[plan.label(j)] = {
            "slots": size,
            "share_hit_train": n_hit / size,
            "share_hit_eval": float(hit["eval"][j].mean()),
            "distinct_ngrams_train": distinct,
            "collision_share": 1 - n_hit / distinct if distinct else None,
        }
    return {"tables": tables, "share_codes_used": float(codes_used.mean())}
