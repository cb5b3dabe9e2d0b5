"""Phase 4 end to end on a set of state sequences: fit, train both models, score, summarise."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.availability import FLAG_NATS_PER_DIM
from latentroom.analysis.data import ItemSource, iter_windows
from latentroom.analysis.memory.config import MemoryConfig
from latentroom.analysis.memory.quantise import kmeans
from latentroom.analysis.metrics import bootstrap_weights, summarise
from latentroom.analysis.predictors import (
    MarginalDiag,
    MarginalFull,
    Windows,
    floor_variance,
    variance_floor,
)
from latentroom.analysis.splits import Prepared, prepare
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.analysis.memory.evaluate import Fitted
    from latentroom.analysis.memory.hashing import HashPlan
    from latentroom.analysis.memory.model import DynamicsNet
    from latentroom.analysis.memory.train import Scaler, Training, TrainSettings

logger = logging.getLogger(__name__)

MIN_LOG_SCALE = -7.0  # as the Phase 1 networks: no model may be surer than this (std units)
CHUNK_WINDOWS = 4096
FEW_EVAL_ITEMS = 5  # fewer eval items than this: the intervals are said to be rough


def progress_units(config: MemoryConfig) -> int:
    """Units ``run_memory`` reports: one per epoch of each model, then scoring and usage."""
    return 2 * config.max_epochs + 2


def run_memory(
    source: ItemSource,
    config: MemoryConfig,
    progress: Progress | None = None,
    *,
    device: str = "cpu",
    checkpoints: Path | None = None,
    data_key: str = "",
) -> tuple[dict[str, Any], dict[str, Any], Prepared]:
    """Train the dynamics model with and without memory on ``source``'s states and compare them.

    Parameters
    ----------
    source : ItemSource
        State sequences ``s_t`` (T_i, d): raw latents or a factorized run's z_dyn.
    checkpoints : Path or None
        Folder for per-epoch checkpoints (resumed when present and written for the same
        settings, data and ``data_key``).
    data_key : str
        Identifies where the states came from (e.g. the factorized run's fingerprint).

    Returns
    -------
    memory, memory_info, prepared
        The ``memory`` section (headline numbers with 95 % intervals), its details, the split.
    """
    from latentroom.analysis.memory.evaluate import Fitted
    from latentroom.analysis.memory.hashing import plan_tables
    from latentroom.analysis.memory.model import n_parameters
    from latentroom.analysis.memory.train import Scaler, TrainSettings

    seconds: dict[str, float] = {}
    start = time.perf_counter()
    prepared = prepare(source, min_length=config.context + config.horizon, seed=config.seed)
    train, val, eval_windows = _streams(prepared, config)
    stats = _train_statistics(prepared, config)
    scaler = Scaler(stats["mean"].astype(np.float32), np.sqrt(stats["var"]).astype(np.float32))
    marginal, marginal_name, marginal_val = _best_marginal(prepared, config, train, val)
    rms = float(np.sqrt(stats["var"].mean()))  # the quantiser's one scale (see quantise.py)
    centres = kmeans((stats["sample"] - scaler.mean) / rms, config.codes, seed=config.seed)
    plan = plan_tables(config.orders, config.heads, config.table_size, seed=config.seed)
    floor = 0.5 * np.log(variance_floor(stats["step_var"])) - np.log(scaler.scale)
    min_log_scale = np.maximum(floor, MIN_LOG_SCALE).astype(np.float32)
    seconds["prepare"] = time.perf_counter() - start
    d = prepared.scan.latent_dim
    memory, plain, width = _build_models(
        config, d, min_log_scale, plan, centres, scaler.scale / rms, device
    )
    target = n_parameters(memory)
    settings = TrainSettings(
        config.max_epochs, config.patience, config.batch_size, config.learning_rate,
        config.table_learning_rate, config.max_windows_per_epoch, config.seed,
    )  # fmt: skip
    trainings = _train_both(
        {"memory": memory, "no_memory": plain}, (train, val), settings, scaler, device=device,
        checkpoints=checkpoints, key=_key(config, prepared, data_key), progress=progress,
        seconds=seconds,
    )  # fmt: skip
    fitted = Fitted(memory, plain, marginal, scaler, stats["mean"], floor_variance(stats["var"]))
    start = time.perf_counter()
    stride = _rollout_stride(prepared, config)
    teacher, rolled, usage = _evaluate(
        prepared, config, (train, eval_windows), fitted, plan, stride, device, progress
    )
    seconds["eval"] = time.perf_counter() - start
    counts = {"memory": target, "no_memory": n_parameters(plain)}
    section = _section(prepared, config, teacher, rolled, counts, usage)
    section["parameters"]["widths"] = {"memory": config.hidden, "no_memory": width}
    for name, training in trainings.items():
        if training.diverged:
            section["flagged"][name] = (
                "training diverged (non-finite loss); the best earlier epoch was kept"
            )
    section["parameters"]["tolerance"] = _tolerance(config.context, d, width)
    marginal_info = {"name": marginal_name, "validation_nll": marginal_val}
    info = _details(config, prepared, marginal_info, plan, stride, trainings, seconds)
    return section, info, prepared


def _train_both(
    nets: dict[str, DynamicsNet],
    windows: tuple[Windows, Windows],
    settings: TrainSettings,
    scaler: Scaler,
    *,
    device: str,
    checkpoints: Path | None,
    key: str,
    progress: Progress | None,
    seconds: dict[str, float],
) -> dict[str, Training]:
    """Train each of ``nets`` in turn on the (train, validation) ``windows``, each resumed from
    its own checkpoint under ``checkpoints``; its time goes to ``seconds["train_<name>"]``."""
    from latentroom.analysis.memory.train import train_model

    train, val = windows
    trainings = {}
    for name, net in nets.items():
        start = time.perf_counter()
        path = checkpoints / f"{name}.pt" if checkpoints is not None else None
        trainings[name] = train_model(
            net, train, val, settings, scaler, device=device, checkpoint=path, key=key,
            progress=progress,
        )  # fmt: skip
        seconds[f"train_{name}"] = time.perf_counter() - start
    return trainings


def _details(
    config: MemoryConfig,
    prepared: Prepared,
    marginal: dict[str, Any],
    plan: HashPlan,
    stride: int,
    trainings: dict[str, Any],
    seconds: dict[str, float],
) -> dict[str, Any]:
    """The ``memory_info`` section: settings, the marginal, quantiser, tables, training, times."""
    return {
        "settings": asdict(config),
        "state_dim": prepared.scan.latent_dim,
        "frame_rate": float(prepared.source.frame_rate),
        "best_marginal": marginal,
        "quantiser": {"kind": "k-means on centred states / overall RMS", "codes": config.codes},
        "tables": {"sizes": list(plan.sizes), "orders": list(plan.orders)},
        "rollout_windows_stride": stride,
        "training": {name: asdict(t) for name, t in trainings.items()},
        "seconds": seconds,
    }


def _evaluate(
    prepared: Prepared,
    config: MemoryConfig,
    windows: tuple[Windows, Windows],
    fitted: Fitted,
    plan: HashPlan,
    stride: int,
    device: str,
    progress: Progress | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Teacher-forced scores, free rollouts and table usage of the fitted models.

    ``windows`` holds the training and evaluation windows; ``progress`` gets 1 after the
    rollouts and 1 after the table usage.
    """
    from latentroom.analysis.memory.evaluate import free_rollouts, table_usage, teacher_forced

    train, eval_windows = windows
    rows_of = {int(item): j for j, item in enumerate(prepared.split.eval)}
    teacher = teacher_forced(eval_windows, rows_of, fitted, device)
    rolled = free_rollouts(
        eval_windows, rows_of, fitted, config.rollout, stride=stride, device=device
    )
    if progress is not None:
        progress(1)
    usage = table_usage(train, eval_windows, fitted, plan, config.codes, device)
    if progress is not None:
        progress(1)
    return teacher, rolled, usage


def _build_models(
    config: MemoryConfig,
    d: int,
    min_log_scale: np.ndarray,
    plan: Any,
    centres: np.ndarray,
    to_quantiser: np.ndarray,
    device: str,
) -> tuple[Any, Any, int]:
    """The memory model and the plain one widened to its parameter count, seeded alike.

    Returns ``(memory, plain, width)``: both ``DynamicsNet`` on ``device``, and the plain
    model's trunk width.
    """
    import torch

    from latentroom.analysis.memory.model import DynamicsNet, matched_width, n_parameters

    where = torch.device(device)
    with torch.random.fork_rng(devices=[where.index or 0] if where.type == "cuda" else []):
        torch.manual_seed(config.seed)
        memory = DynamicsNet(
            config.context, d, config.hidden, min_log_scale,
            plan=plan, centres=centres, to_quantiser=to_quantiser,
            embed_dim=config.embed_dim,
        ).to(device)  # fmt: skip
        width = matched_width(config.context, d, n_parameters(memory))
        plain = DynamicsNet(config.context, d, width, min_log_scale).to(device)
    return memory, plain, width


def _streams(prepared: Prepared, config: MemoryConfig) -> tuple[Windows, Windows, Windows]:
    def stream(items: np.ndarray) -> Windows:
        return lambda rng: iter_windows(
            prepared.source, items, context=config.context, max_offset=config.horizon,
            chunk_windows=CHUNK_WINDOWS, rng=rng,
        )  # fmt: skip

    split = prepared.split
    return stream(split.train), stream(split.val), stream(split.eval)


def _train_statistics(prepared: Prepared, config: MemoryConfig) -> dict[str, np.ndarray]:
    """Mean and variance of the train states and steps, and evenly spaced states for k-means."""
    from latentroom.analysis.memory.quantise import MAX_FIT_STATES

    items = prepared.split.train
    total = int(prepared.scan.lengths[items].sum())
    stride = max(1, total // MAX_FIT_STATES)
    n, s_sum, s_sq, n_step, d_sum, d_sq = 0, 0.0, 0.0, 0, 0.0, 0.0
    sample = []
    for i in items:
        x = prepared.source.item(int(i)).astype(np.float64)
        steps = np.diff(x, axis=0)
        n, s_sum, s_sq = n + x.shape[0], s_sum + x.sum(axis=0), s_sq + (x**2).sum(axis=0)
        n_step = n_step + steps.shape[0]
        d_sum, d_sq = d_sum + steps.sum(axis=0), d_sq + (steps**2).sum(axis=0)
        sample.append(x[::stride].astype(np.float32))
    mean = np.asarray(s_sum) / n
    step_mean = np.asarray(d_sum) / n_step
    return {
        "mean": mean,
        "var": floor_variance(np.asarray(s_sq) / n - mean**2),
        "step_var": floor_variance(np.asarray(d_sq) / n_step - step_mean**2),
        "sample": np.concatenate(sample),
    }


def _best_marginal(
    prepared: Prepared, config: MemoryConfig, train: Windows, val: Windows
) -> tuple[Any, str, float]:
    """The Phase 1 marginal of Δs (diagonal or full Gaussian) with the lower validation NLL."""
    full = MarginalFull((1,)).fit(train)
    candidates: dict[str, Any] = {
        "marginal_diag": MarginalDiag.from_full(full),
        "marginal_full": full,
    }
    scores = {name: [0.0, 0] for name in candidates}
    for chunk in val(None):
        for name, model in candidates.items():
            scores[name][0] += float(model.predict(chunk.context)[0].nll(chunk.targets[0]).sum())
            scores[name][1] += chunk.size
    nll = {name: total / max(n, 1) for name, (total, n) in scores.items()}
    best = min(nll, key=lambda name: nll[name])
    return candidates[best], best, nll[best]


def _rollout_stride(prepared: Prepared, config: MemoryConfig) -> int:
    """Keep about ``max_rollout_windows`` evenly spaced eval windows for rollouts."""
    lengths = prepared.scan.lengths[prepared.split.eval]
    n_windows = int(np.maximum(lengths - config.context - config.horizon + 1, 0).sum())
    return max(1, -(-n_windows // config.max_rollout_windows))


def _key(config: MemoryConfig, prepared: Prepared, data_key: str) -> str:
    """What a checkpoint must have been written for: settings, split sizes, dims, data key."""
    facts = {
        "settings": asdict(config),
        "lengths": prepared.scan.lengths.tolist(),
        "dim": prepared.scan.latent_dim,
        "data": data_key,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()


def _tolerance(context: int, dim: int, width: int) -> int:
    """Half the parameters one unit of width adds: the most a nearest width can miss by."""
    return (2 * context * dim + 2 * width + 2 * dim + 2) // 2 + 1


def _section(
    prepared: Prepared,
    config: MemoryConfig,
    teacher: np.ndarray,
    rolled: np.ndarray,
    counts: dict[str, int],
    usage: dict[str, Any],
) -> dict[str, Any]:
    rng = np.random.default_rng(config.seed)
    n_eval = prepared.split.eval.size
    weights = bootstrap_weights(n_eval, n_boot=config.n_boot, rng=rng)
    rate = float(prepared.source.frame_rate)

    def one_step(s: np.ndarray) -> dict[str, np.ndarray]:
        n = np.maximum(s[..., 0], 1)
        ig_memory, ig_plain = (s[..., 3] - s[..., 1]) / n, (s[..., 3] - s[..., 2]) / n
        return {
            "nll_memory": s[..., 1] / n,
            "nll_no_memory": s[..., 2] / n,
            "nll_best_marginal": s[..., 3] / n,
            "ig_memory_nats_per_frame": ig_memory,
            "ig_no_memory_nats_per_frame": ig_plain,
            "memory_gain_nats_per_frame": ig_memory - ig_plain,
            "memory_gain_bits_per_second": (ig_memory - ig_plain) / math.log(2) * rate,
            "gate_mean": s[..., 4] / n,
        }

    def free(s: np.ndarray) -> dict[str, np.ndarray]:
        n = np.maximum(s[..., 0], 1)
        return {
            "nll_memory": s[..., 1] / n,
            "nll_no_memory": s[..., 2] / n,
            "nll_state_marginal": s[..., 3] / n,
            "memory_gain_nats_per_frame": (s[..., 2] - s[..., 1]) / n,
        }

    tf = summarise(teacher, weights, one_step)
    rollout = {str(r): summarise(rolled[:, h], weights, free) for h, r in enumerate(config.rollout)}
    section: dict[str, Any] = {
        "teacher_forced": tf,
        "rollout": rollout,
        "parameters": {
            **counts,
            "relative_difference": (counts["no_memory"] - counts["memory"]) / counts["memory"],
        },
        "table_usage": usage,
        "verdict": verdict(tf, rollout),
        "n_eval_items": int(n_eval),
        "flagged": _flagged(tf, prepared.scan.latent_dim),
    }
    if n_eval < FEW_EVAL_ITEMS:
        section["warning"] = (
            f"only {n_eval} eval items: the 95 % intervals resample that few items and are rough"
        )
    return section


def _flagged(teacher: dict[str, Any], dim: int) -> dict[str, str]:
    """Models scoring worse than the best marginal by more than Phase 1's flag limit.

    The marginal is within either model's reach, so such a gap means the fit diverged or is
    confidently wrong (``availability.FLAG_NATS_PER_DIM``); the report lists it.
    """
    limit = -FLAG_NATS_PER_DIM * dim
    flagged = {}
    for model in ("memory", "no_memory"):
        ig = teacher[f"ig_{model}_nats_per_frame"]
        if ig is not None and ig < limit:
            flagged[model] = (
                f"IG {ig:.4g} nats/frame, worse than the best marginal by more than "
                f"{FLAG_NATS_PER_DIM:g} nat/dim: the fit diverged or is confidently wrong"
            )
    return flagged


def verdict(teacher: dict[str, Any], rollout: dict[str, Any]) -> dict[str, Any]:
    """Whether memory helps (teacher-forced gain's interval above 0), hurts, or is not seen.

    ``rollout_worse_than_state_marginal`` lists, per model, the horizons whose free NLL is above
    the context-free Gaussian of the state itself: the rollout has lost the trajectory.
    """
    lo, hi = teacher["ci95"]["memory_gain_nats_per_frame"]
    if lo is not None and lo > 0:
        text = "memory helps"
    elif hi is not None and hi < 0:
        text = "memory hurts"
    else:
        text = "no detectable difference"
    worse = {
        model: [
            int(r) for r, e in rollout.items()
            if e[f"nll_{model}"] is not None and e["nll_state_marginal"] is not None
            and e[f"nll_{model}"] > e["nll_state_marginal"]
        ]
        for model in ("memory", "no_memory")
    }  # fmt: skip
    return {"teacher_forced": text, "rollout_worse_than_state_marginal": worse}
