"""Eval numbers of a trained dual latent, summed per eval item so each gets a bootstrap CI."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from latentroom.analysis.factorize.config import ROLLOUT_REPORT_STEPS, FactorizeConfig
from latentroom.analysis.factorize.model import Factorizer, kl_divergence
from latentroom.analysis.factorize.segments import Frames
from latentroom.analysis.factorize.training import unfold_past
from latentroom.analysis.metrics import bootstrap_weights, summarise

#: Columns of the per-item sums (then Σz̃² per dim of the whitened state).
COLUMNS = ("frames", "kl", "mse_posterior", "mse_prior", "mse_marginal", "states", "dyn_nll")
_EVAL_BATCH = 256


def effective_rank(cov: np.ndarray) -> float:
    """exp(entropy of the normalised eigenvalues) of a covariance: 1 (one direction) .. dim."""
    eig = np.clip(np.linalg.eigvalsh(cov), 0.0, None)
    if eig.sum() <= 0:
        return 0.0
    share = eig / eig.sum()
    share = share[share > 0]
    return float(np.exp(-(share * np.log(share)).sum()))


@torch.no_grad()
def item_sums(
    model: Factorizer, frames: Frames, config: FactorizeConfig, device: str
) -> tuple[np.ndarray, np.ndarray]:
    """Per-item sums ``(n_items, len(COLUMNS) + dim_dyn)`` and the raw slow states ``(N, dim)``.

    Non-overlapping segments of ``C + rollout`` states, from each item's start; z_rec draws come
    from a generator seeded by ``config.seed``, so the numbers are reproducible.
    """
    model.eval()
    L, C, dim = config.context, config.dyn_context, config.dim_dyn
    length = config.segment_frames(config.train_states)
    starts, rows = frames.segments(length, length - L)
    sums = np.zeros((frames.items.size, len(COLUMNS) + dim))
    states = []
    generator = torch.Generator().manual_seed(config.seed)
    for b in range(0, starts.size, _EVAL_BATCH):
        x = torch.from_numpy(frames.gather(starts[b : b + _EVAL_BATCH], length)).to(device)
        seg = model.segment(x)
        slow, target, z, q, p = seg.slow, seg.target, seg.held, seg.posterior, seg.prior
        n_frames = target.shape[1]
        post = model.reconstruct(z, q.sample(generator)).mean
        prior = model.reconstruct(z, p.sample(generator)).mean
        zs = model.whitening(slow, update=False).apply(slow)
        past = unfold_past(zs, C).reshape(-1, C, dim)
        nll = model.predict_next(past).nll(zs[:, C:].reshape(-1, dim)).reshape(zs.shape[0], -1)
        per_segment = torch.stack(
            [
                torch.full((x.shape[0],), float(n_frames), device=x.device),
                kl_divergence(q, p).sum(1),
                ((post - target) ** 2).mean(-1).sum(1),
                ((prior - target) ** 2).mean(-1).sum(1),
                (target**2).mean(-1).sum(1),
                torch.full((x.shape[0],), float(nll.shape[1]), device=x.device),
                nll.sum(1),
            ],
            dim=1,
        )
        moments = (zs[:, C:] ** 2).sum(1)
        np.add.at(
            sums, rows[b : b + _EVAL_BATCH], torch.cat([per_segment, moments], 1).cpu().numpy()
        )
        states.append(slow.reshape(-1, dim).cpu().numpy())
    return sums, np.concatenate(states) if states else np.zeros((0, dim), np.float32)


@torch.no_grad()
def rollout_sums(
    model: Factorizer, frames: Frames, config: FactorizeConfig, device: str
) -> dict[int, np.ndarray]:
    """Per-item sums ``(n_items, 3)`` of (frames, free MSE, teacher MSE) at each report step.

    From the first C true states, the dynamics model runs ``s`` steps on its own means; the
    frames of the s-th state are decoded from it with a prior-sampled z_rec ("free") and, for
    reference, from the encoder's true state ("teacher"). A step no eval item is long enough
    for is absent from the result.
    """
    model.eval()
    L, C, r = config.context, config.dyn_context, config.rate
    out: dict[int, np.ndarray] = {}
    generator = torch.Generator().manual_seed(config.seed + 1)
    for steps in ROLLOUT_REPORT_STEPS:
        length = config.segment_frames(C + steps)
        starts, rows = frames.segments(length, length - L)
        if starts.size == 0:
            continue
        sums = np.zeros((frames.items.size, 3))
        for b in range(0, starts.size, _EVAL_BATCH):
            x = torch.from_numpy(frames.gather(starts[b : b + _EVAL_BATCH], length)).to(device)
            seg = model.segment(x)
            slow = seg.slow
            white = model.whitening(slow, update=False)
            history = list(white.apply(slow[:, :C]).unbind(1))
            for _ in range(steps):
                history.append(model.predict_next(torch.stack(history[-C:], dim=1)).mean)
            block = slice((C + steps - 1) * r, (C + steps) * r)
            target = seg.target[:, block]
            free = white.invert(history[-1])[:, None].expand(-1, target.shape[1], -1)
            true = slow[:, C + steps - 1][:, None].expand(-1, target.shape[1], -1)
            errors = []
            for state in (free, true):
                decoded = model.reconstruct(state, model.prior_of(state).sample(generator)).mean
                errors.append(((decoded - target) ** 2).mean(-1).sum(1))
            n = torch.full((x.shape[0],), float(target.shape[1]), device=x.device)
            values = torch.stack([n, *errors], dim=1).cpu().numpy()
            np.add.at(sums, rows[b : b + _EVAL_BATCH], values)
        out[steps] = sums
    return out


def summarise_eval(
    sums: np.ndarray,
    states: np.ndarray,
    rollouts: dict[int, np.ndarray],
    config: FactorizeConfig,
    codec_frame_rate: float,
) -> dict[str, Any]:
    """Headline numbers with 95 % intervals over eval items (bootstrap, ``config.n_boot``)."""
    dim = config.dim_dyn
    weights = bootstrap_weights(
        sums.shape[0], n_boot=config.n_boot, rng=np.random.default_rng(config.seed)
    )

    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        frames, n_states = s[..., 0], s[..., 5]
        # The marginal fitted on train: N(0, I) in the train states' whitened units, the
        # model the dynamics model starts as; out of sample, like the dynamics model itself.
        marginal = 0.5 * (math.log(2 * math.pi) * dim + s[..., 7:].sum(-1) / n_states)
        dyn = s[..., 6] / n_states
        return {
            "kl_nats_per_frame": s[..., 1] / frames,
            "kl_nats_per_second": s[..., 1] / frames * codec_frame_rate,
            "mse_posterior": s[..., 2] / frames,
            "mse_prior": s[..., 3] / frames,
            "mse_marginal": s[..., 4] / frames,
            "prior_posterior_ratio": s[..., 3] / s[..., 2],
            "prior_marginal_ratio": s[..., 3] / s[..., 4],
            "dyn_nll_per_state": dyn,
            "marginal_nll_per_state": marginal,
            "dyn_ig_nats_per_state": marginal - dyn,
            "dyn_ig_nats_per_dim": (marginal - dyn) / dim,
        }

    with np.errstate(divide="ignore", invalid="ignore"):
        summary = summarise(sums, weights, metric)
    variance = states.var(axis=0) if states.shape[0] > 1 else np.zeros(dim)
    cov = (
        np.cov(states, rowvar=False).reshape(dim, dim)
        if states.shape[0] > 1
        else np.zeros((dim, dim))
    )
    summary["z_dyn_variance_per_dim"] = variance.tolist()
    summary["z_dyn_variance_mean"] = float(variance.mean())
    summary["z_dyn_effective_rank"] = effective_rank(cov)
    summary["fixed_unit_variance_constant"] = 0.5 * math.log(2 * math.pi) * dim
    summary["n_frames"] = int(sums[:, 0].sum())
    summary["rollout"] = _rollout_summary(rollouts, weights)
    return summary


def _rollout_summary(rollouts: dict[int, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        return {"mse_free": s[..., 1] / s[..., 0], "mse_teacher": s[..., 2] / s[..., 0]}

    out: dict[str, Any] = {}
    for steps in ROLLOUT_REPORT_STEPS:
        if steps in rollouts:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[str(steps)] = summarise(rollouts[steps], weights, metric)
        else:
            out[str(steps)] = {
                "mse_free": None,
                "mse_teacher": None,
                "unavailable": {
                    "mse_free": f"no eval item holds the frames of {steps} rollout steps",
                },
            }
    return out
