"""Training of one dynamics model: Adam on streamed windows, early stopping, epoch checkpoints.

A checkpoint (weights, optimiser, best weights and history; each epoch shuffles with a generator
seeded by the epoch number)
is written atomically after every epoch, so an interrupted run resumes at the next epoch and
ends exactly where an uninterrupted one would. It carries a key of the settings and data; one
written by anything else is refused rather than silently continued. This module imports torch.
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentroom.analysis.memory.model import DynamicsNet, gaussian_nll, table_parameters
from latentroom.analysis.predictors import Windows
from latentroom.errors import CheckpointError
from latentroom.progress import Progress
from latentroom.train.checkpoint import read_torch_state, write_torch_state

logger = logging.getLogger(__name__)

MAX_VAL_WINDOWS = 20_000  # validation windows scored per epoch at most


@dataclass(frozen=True)
class Scaler:
    """Per-dim standardisation of the states (train statistics).

    Attributes
    ----------
    mean, scale : np.ndarray [shape=(d,), dtype=float32]
    """

    mean: np.ndarray
    scale: np.ndarray

    def apply(self, x: np.ndarray, device: str) -> torch.Tensor:
        """Standardised ``x (..., d)`` as a float32 tensor on ``device``."""
        return torch.from_numpy(np.ascontiguousarray((x - self.mean) / self.scale)).to(device)

    @property
    def log_jacobian(self) -> float:
        """``Σ_d log scale_d``: added to a standardised NLL gives nats in the original units."""
        return float(np.log(self.scale.astype(np.float64)).sum())


@dataclass
class Training:
    """What one model's training did."""

    history: list[float] = field(default_factory=list)  # validation NLL per epoch (nats/frame)
    diverged: bool = False
    resumed_at: int = 0  # epochs already done when this run started (0: fresh)


@dataclass(frozen=True)
class TrainSettings:
    """What the trainer needs from ``MemoryConfig``."""

    max_epochs: int
    patience: int
    batch_size: int
    learning_rate: float
    table_learning_rate: float
    max_windows_per_epoch: int
    seed: int


def window_batch(
    context: np.ndarray, targets: np.ndarray, scaler: Scaler, device: str
) -> tuple[torch.Tensor, torch.Tensor]:
    """Standardised contexts ``(B, L, d)`` and next states ``(B, d)`` of a window chunk."""
    x = scaler.apply(context, device)
    y = scaler.apply(context[:, -1] + targets[0], device)
    return x, y


def train_model(
    net: DynamicsNet,
    train: Windows,
    val: Windows,
    settings: TrainSettings,
    scaler: Scaler,
    *,
    device: str,
    checkpoint: Path | None = None,
    key: str = "",
    progress: Progress | None = None,
) -> Training:
    """Train ``net`` in place (best validation epoch kept); ``progress(1)`` after each epoch.

    Raises
    ------
    CheckpointError
        ``checkpoint`` exists but was written for other settings or data (``key``).
    """
    optimisers = _optimisers(net, settings)
    bases = [o.param_groups[0]["lr"] for o in optimisers]
    best, best_state, stale = math.inf, copy.deepcopy(net.state_dict()), 0
    done = Training()
    if checkpoint is not None and checkpoint.exists():
        state = _load(checkpoint, key, device)
        net.load_state_dict(state["net"])
        for optimiser, saved in zip(optimisers, state["optimisers"], strict=True):
            optimiser.load_state_dict(saved)
        best, best_state, stale = state["best"], state["best_state"], state["stale"]
        done.history, done.resumed_at = list(state["history"]), len(state["history"])
        logger.info("resuming %s at epoch %d", checkpoint.name, done.resumed_at + 1)
        if progress is not None:
            progress(done.resumed_at)
    for epoch in range(done.resumed_at, settings.max_epochs):
        if stale >= settings.patience:
            break
        # Cosine decay of both rates over max_epochs: a table slot's Adam steps are as large as
        # its rate however close it is, so without the decay the lookups jitter at that size
        # and the NLL stalls well above what the tables can reach. A function of the epoch
        # only, so a resumed run uses the same rates.
        decay = 0.5 * (1 + math.cos(math.pi * epoch / settings.max_epochs))
        for optimiser, base in zip(optimisers, bases, strict=True):
            optimiser.param_groups[0]["lr"] = base * decay
        # One generator per epoch, from (seed, epoch): a resumed run shuffles as an unbroken one.
        rng = np.random.default_rng([settings.seed, 0x7A1, epoch])
        finite = _epoch(net, optimisers, train, settings, scaler, rng, device)
        score = score_nll(net, val, scaler, device) if finite else math.nan
        done.history.append(score)
        logger.info("epoch %d: validation NLL %.4f nats/frame", epoch + 1, score)
        if not math.isfinite(score):
            # The weights blew up: keep the best epoch so far (the initial weights if none).
            done.diverged = True
            logger.warning(
                "training diverged in epoch %d; keeping the best earlier epoch", epoch + 1
            )
            break
        if score < best - 1e-4:
            best, best_state, stale = score, copy.deepcopy(net.state_dict()), 0
        else:
            stale += 1
        if checkpoint is not None:
            state = {
                "key": key, "net": net.state_dict(),
                "optimisers": [o.state_dict() for o in optimisers],
                "best": best, "best_state": best_state, "stale": stale, "history": done.history,
            }  # fmt: skip
            write_torch_state(checkpoint, state)
        if progress is not None:
            progress(1)  # after the checkpoint: a finished unit of the bar is a saved epoch
    if progress is not None and len(done.history) < settings.max_epochs:
        progress(settings.max_epochs - len(done.history))  # early stop: the bar still ends full
    net.load_state_dict(best_state)
    net.eval()
    return done


def _optimisers(net: DynamicsNet, settings: TrainSettings) -> list[torch.optim.Optimizer]:
    """Adam for the network, sparse Adam for its lookup tables (when it has any)."""
    # The tables get sparse (lazy) Adam: a slot moves only in steps where its n-gram occurs.
    # Dense Adam would keep moving every slot on stale momentum after each hit, ~10 times the
    # step, which left the lookups jittering far from their values.
    tables = table_parameters(net)
    in_tables = {id(p) for p in tables}
    optimisers: list[torch.optim.Optimizer] = [
        torch.optim.Adam([p for p in net.parameters() if id(p) not in in_tables],
                         lr=settings.learning_rate),
    ]  # fmt: skip
    if tables:
        optimisers.append(torch.optim.SparseAdam(tables, lr=settings.table_learning_rate))
    return optimisers


def _load(checkpoint: Path, key: str, device: str) -> dict[str, Any]:
    state = read_torch_state(
        checkpoint,
        what="Phase 4 checkpoint",
        fix="delete it or pass --force",
        map_location=device,
    )
    if not isinstance(state, dict) or state.get("key") != key:
        raise CheckpointError(
            f"{checkpoint} was written for other settings or data; rerun with the same "
            "options to resume, or pass --force to start over"
        )
    return state


def _epoch(
    net: DynamicsNet,
    optimisers: list[torch.optim.Optimizer],
    train: Windows,
    settings: TrainSettings,
    scaler: Scaler,
    rng: np.random.Generator,
    device: str,
) -> bool:
    """One epoch of Adam steps; False as soon as a batch loss is not finite (no step taken)."""
    seen = 0
    net.train()
    for chunk in train(rng):
        x, y = window_batch(chunk.context, chunk.targets, scaler, device)
        for start in range(0, chunk.size, settings.batch_size):
            stop = start + settings.batch_size
            mean, log_scale, _ = net(x[start:stop])
            loss = gaussian_nll(mean, log_scale, y[start:stop]).mean()
            if not torch.isfinite(loss):
                return False
            for optimiser in optimisers:
                optimiser.zero_grad()
            loss.backward()
            for optimiser in optimisers:
                optimiser.step()
        seen += chunk.size
        if seen >= settings.max_windows_per_epoch:
            break
    return True


def score_nll(net: DynamicsNet, windows: Windows, scaler: Scaler, device: str) -> float:
    """Mean one-step NLL (nats/frame, original units) over at most ``MAX_VAL_WINDOWS``."""
    net.eval()
    total, n = 0.0, 0
    with torch.no_grad():
        for chunk in windows(None):
            x, y = window_batch(chunk.context, chunk.targets, scaler, device)
            mean, log_scale, _ = net(x)
            total += float(gaussian_nll(mean, log_scale, y).sum())
            n += chunk.size
            if n >= MAX_VAL_WINDOWS:
                break
    return total / max(n, 1) + scaler.log_jacobian
