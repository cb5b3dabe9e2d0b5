"""Training of the dual latent: the loss of one batch, the epoch loop, checkpoints and resume.

Every batch's segments and every noise draw come from generators that are pure functions of
(seed, epoch, batch), so the model (with its stored state moments), the optimiser and the epoch
count are the whole state: a run resumed from its last checkpoint writes the same bytes as one
never interrupted.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentroom.analysis.factorize.config import FactorizeConfig
from latentroom.analysis.factorize.model import Factorizer, Gaussian, Whitening, kl_divergence
from latentroom.analysis.factorize.segments import Frames
from latentroom.analysis.factorize.states import STATE_FORMAT_VERSION, read_state
from latentroom.errors import CheckpointError
from latentroom.train.checkpoint import restore_weights, write_torch_state

logger = logging.getLogger(__name__)


def batch_generators(
    seed: int, epoch: int, batch: int
) -> tuple[np.random.Generator, torch.Generator]:
    """The segment and noise generators of one batch (``batch = -1``: the epoch's tiling)."""
    numpy_rng = np.random.default_rng([seed, epoch, batch + 1, 0])
    torch_seed = int(np.random.SeedSequence([seed, epoch, batch + 1, 1]).generate_state(1)[0])
    return numpy_rng, torch.Generator().manual_seed(torch_seed)


def rollout_length(config: FactorizeConfig, epoch: int) -> int:
    """K of the curriculum at ``epoch`` (0-based): from min(2, rollout) up to ``rollout``."""
    start = min(2, config.rollout)
    if config.epochs == 1:
        return config.rollout
    return round(start + (config.rollout - start) * epoch / (config.epochs - 1))


def kl_scale(config: FactorizeConfig, progress: float) -> float:
    """The KL warm-up factor after ``progress`` epochs (fractional), in [0, 1]."""
    if config.warmup_epochs <= 0:
        return 1.0
    return min(1.0, progress / config.warmup_epochs)


def unfold_past(zs: torch.Tensor, context: int) -> torch.Tensor:
    """Each state's C predecessors: ``(B, n - C, C, dim)`` from states ``(B, n, dim)``."""
    return zs.unfold(1, context, 1)[:, :-1].transpose(2, 3)


def batch_loss(
    model: Factorizer,
    x: torch.Tensor,
    config: FactorizeConfig,
    *,
    k_roll: int,
    free: bool,
    warm: float,
    generator: torch.Generator,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss of segments ``x (B, S, D)`` holding ``C + rollout`` slow-grid states each.

    Reconstruction NLL + warm·(0.5·max(free, KL(sg q ‖ p)) + 0.1·max(free, KL(q ‖ sg p)))
    + λ·dynamics NLL of the whitened states + the NLL of a K-step rollout decoded from
    prior-sampled innovations (free-running or teacher-forced).
    """
    C = config.dyn_context
    seg = model.segment(x)
    slow, target, z, q, p = seg.slow, seg.target, seg.held, seg.posterior, seg.prior
    n_frames = target.shape[1]
    kl_rep, kl_dyn = kl_divergence(q, p.detach()), kl_divergence(q.detach(), p)
    floor = config.kl_target
    kl_loss = (
        config.kl_dyn_weight * kl_dyn.clamp(min=floor)
        + config.kl_rep_weight * kl_rep.clamp(min=floor)
    ).mean()
    from_prior = torch.rand(n_frames, generator=generator) < config.prior_share
    z_rec = torch.where(
        from_prior.to(x.device)[None, :, None], p.sample(generator), q.sample(generator)
    )
    recon = model.reconstruct(z, z_rec).nll(target).mean()
    white = model.whitening(slow, update=True)
    zs = white.apply(slow)
    past = unfold_past(zs, C)
    step = model.predict_next(past.reshape(-1, C, zs.shape[-1]))
    dyn = step.nll(zs[:, C:].reshape(-1, zs.shape[-1])).mean()
    roll = _rollout_loss(model, zs, step, target, white, config, k_roll, free, generator)
    loss = recon + warm * kl_loss + config.dyn_weight * dyn + config.rollout_weight * roll
    logged = torch.stack([loss, recon, kl_rep.mean(), dyn, roll]).detach().tolist()
    return loss, dict(
        zip(("loss", "recon_nll", "kl", "dyn_nll", "rollout_nll"), logged, strict=True)
    )


def _rollout_loss(
    model: Factorizer,
    zs: torch.Tensor,
    step: Gaussian,
    target: torch.Tensor,
    white: Whitening,
    config: FactorizeConfig,
    k_roll: int,
    free: bool,
    generator: torch.Generator,
) -> torch.Tensor:
    """Reconstruction NLL of the frames of K states predicted from the first C true ones."""
    C, r = config.dyn_context, config.rate
    if free:
        history = list(zs[:, :C].unbind(1))
        predicted = []
        for _ in range(k_roll):
            nxt = model.predict_next(torch.stack(history[-C:], dim=1)).mean
            predicted.append(nxt)
            history.append(nxt)
        states = torch.stack(predicted, dim=1)
    else:  # teacher-forced: the one-step predictions from true pasts
        states = step.mean.reshape(zs.shape[0], -1, zs.shape[-1])[:, :k_roll]
    held = model.hold(white.invert(states), k_roll * r)
    frames = target[:, C * r : (C + k_roll) * r]
    _, prior = model.innovation(frames, held)
    return model.reconstruct(held, prior.sample(generator)).nll(frames).mean()


def save_checkpoint(
    path: Path,
    *,
    epoch: int,
    config: FactorizeConfig,
    model: Factorizer,
    optimizer: Any,
    latent_dim: int,
    codec_frame_rate: float,
    fingerprint: dict[str, Any],
    history: list[dict[str, Any]],
) -> None:
    """Write everything a run needs to continue after ``epoch`` finished epochs (atomically)."""
    state = {
        "format_version": STATE_FORMAT_VERSION,
        "epoch": epoch,
        "config": config.to_dict(),
        "latent_dim": latent_dim,
        "codec_frame_rate": codec_frame_rate,
        "fingerprint": fingerprint,
        "history": json.dumps(history),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    write_torch_state(path, _interned(state))


def _interned(tree: Any) -> Any:
    """``tree`` with every string interned.

    Pickle writes a string once and refers back to it when the same object recurs; strings read
    back from a checkpoint (the optimiser's keys after a resume) are new objects where a fresh
    run's are the interned literals, so without this a resumed run would differ in bytes.
    """
    if isinstance(tree, str):
        return sys.intern(tree)
    if isinstance(tree, dict):
        return {_interned(k): _interned(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return type(tree)(_interned(v) for v in tree)
    return tree


def resume_from(
    path: Path,
    config: FactorizeConfig,
    fingerprint: dict[str, Any],
    model: Factorizer,
    optimizer: Any,
) -> tuple[int, list[dict[str, Any]]]:
    """Restore a checkpoint; return (finished epochs, history). Refuses another config or corpus."""
    state = read_state(path)
    recorded = FactorizeConfig.from_dict(state["config"])
    if {**recorded.to_dict(), "epochs": 0} != {**config.to_dict(), "epochs": 0}:
        raise CheckpointError(
            f"{path}: the run was started with other settings; resume with the same options "
            "(only --epochs may grow) or start again with --force"
        )
    if state["fingerprint"] != fingerprint:
        raise CheckpointError(
            f"{path}: the run was started on another corpus; resume on the same corpus or start "
            "again with --force"
        )
    restore_weights(state, model, optimizer, what=f"{path}: checkpoint")
    return int(state["epoch"]), list(json.loads(state["history"]))


def train_epoch(
    model: Factorizer,
    optimizer: torch.optim.Optimizer,
    train: Frames,
    config: FactorizeConfig,
    epoch: int,
    device: str,
) -> dict[str, float]:
    """One pass over the train segments (each target frame about once); mean logged values."""
    length = config.segment_frames(config.train_states)
    tiling_rng, _ = batch_generators(config.seed, epoch, -1)
    starts, _ = train.segments(length, length - config.context, tiling_rng)
    if config.max_segments_per_epoch is not None:
        starts = starts[: config.max_segments_per_epoch]
    n_batches = -(-starts.size // config.batch_size)
    k_roll = rollout_length(config, epoch)
    totals: dict[str, float] = {}
    model.train()
    for b in range(n_batches):
        rng, generator = batch_generators(config.seed, epoch, b)
        chunk = starts[b * config.batch_size : (b + 1) * config.batch_size]
        x = torch.from_numpy(train.gather(chunk, length)).to(device)
        warm = kl_scale(config, epoch + b / n_batches)
        free = bool(rng.random() < config.free_share)
        loss, logged = batch_loss(
            model, x, config, k_roll=k_roll, free=free, warm=warm, generator=generator
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 10.0)
        optimizer.step()
        for name, value in logged.items():
            totals[name] = totals.get(name, 0.0) + value / n_batches
    totals["rollout_k"] = float(k_roll)
    totals["kl_scale"] = kl_scale(config, epoch + 1)
    return totals


#: Train segments (evenly spaced) whose states give the moments stored after each epoch.
MOMENT_SEGMENTS = 20_000


@torch.no_grad()
def refresh_moments(model: Factorizer, train: Frames, config: FactorizeConfig, device: str) -> None:
    """Store the exact mean and covariance of the train states (``Factorizer.set_moments``).

    Training whitens each batch by its own moments; evaluation and rollouts need fixed ones,
    taken here from one pass over (at most ``MOMENT_SEGMENTS``) train segments.
    """
    model.eval()
    length = config.segment_frames(config.train_states)
    starts, _ = train.segments(length, length - config.context)
    starts = starts[:: max(1, -(-starts.size // MOMENT_SEGMENTS))]
    dim = config.dim_dyn
    total = torch.zeros(dim, dtype=torch.float64, device=device)
    outer = torch.zeros((dim, dim), dtype=torch.float64, device=device)
    n = 0
    for b in range(0, starts.size, 256):
        x = torch.from_numpy(train.gather(starts[b : b + 256], length)).to(device)
        slow = model.segment(x).slow.reshape(-1, dim).double()
        total, outer, n = total + slow.sum(0), outer + slow.T @ slow, n + slow.shape[0]
    mean = total / max(n, 1)
    cov = outer / max(n, 1) - torch.outer(mean, mean)
    model.set_moments(mean.float(), cov.float())


def fit_normalisation(model: Factorizer, train: Frames) -> None:
    """Per-dim mean and std of the train frames (std floored: a dead dim stays finite)."""
    frames = train.frames.astype(np.float64)
    mean, std = frames.mean(0), frames.std(0)
    std = np.maximum(std, 1e-4 * max(float(std.mean()), 1e-12))
    model.x_mean.copy_(torch.from_numpy(mean).float())
    model.x_std.copy_(torch.from_numpy(std).float())


EpochHook = Callable[[int, dict[str, Any]], None]
