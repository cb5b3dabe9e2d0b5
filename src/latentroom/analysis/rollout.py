"""Teacher-forced versus free-running rollouts of a one-step predictor."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from latentroom.analysis.distributions import Predictive


class ContextPredictor(Protocol):
    """Anything with ``predict_one(context (B, L, D), head) -> distribution of that horizon``."""

    def predict_one(self, context: np.ndarray, head: int) -> Predictive: ...


def rollout_nll(
    predictor: ContextPredictor,
    context: np.ndarray,
    targets: np.ndarray,
    *,
    steps: int,
    head: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """NLL of the true Δx at each of ``steps`` steps, with true and with self-fed contexts.

    Step r scores Δx_{e+r} with the one-step head (``head`` indexes the horizon-1 output). The
    teacher-forced context holds the true frames up to ``x_{e+r-1}``; the free-running context
    replaces every frame after ``x_e`` by the predictor's own mean predictions, fed back.

    Parameters
    ----------
    context : np.ndarray [shape=(B, L, D)]
        True frames up to the window end ``x_e``.
    targets : np.ndarray [shape=(M, B, D)], M >= steps
        True ``Δx_{e+1} .. Δx_{e+M}``.

    Returns
    -------
    teacher, free : np.ndarray [shape=(steps, B)]
    """
    n_ctx = context.shape[1]
    future = context[:, -1][None] + np.cumsum(targets[:steps], axis=0)  # x_{e+1..e+R}
    true_frames = np.concatenate([context, future.transpose(1, 0, 2)], axis=1)
    free_frames = list(context.transpose(1, 0, 2))  # L frames of (B, D)
    teacher = np.zeros((steps, context.shape[0]))
    free = np.zeros_like(teacher)
    for r in range(steps):
        teacher[r] = predictor.predict_one(true_frames[:, r : r + n_ctx], head).nll(targets[r])
        free_ctx = np.stack(free_frames[r : r + n_ctx], axis=1)
        dist = predictor.predict_one(free_ctx, head)
        free[r] = dist.nll(targets[r])
        free_frames.append(free_frames[-1] + dist.mean())
    return teacher, free
