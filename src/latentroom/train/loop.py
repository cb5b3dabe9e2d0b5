"""The codec training loop: batches, losses, validation, checkpoints, CSV log, final weights."""

from __future__ import annotations

import csv
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from latentroom.codecs.builtin import write_weights
from latentroom.codecs.builtin_model import BuiltinVAE, build_model
from latentroom.devices import placement
from latentroom.errors import CheckpointError, ConfigError
from latentroom.fileio import locked_dir, write_text_atomic
from latentroom.progress import Progress
from latentroom.train.checkpoint import STATE_FILE, load_state, restore, save_state
from latentroom.train.config import TrainConfig, beta_at, lr_at
from latentroom.train.data import TrainingData, load_training_data
from latentroom.train.losses import ReconstructionLoss

logger = logging.getLogger(__name__)

LOG_FILE = "log.csv"
CONFIG_FILE = "train_config.json"
LOG_COLUMNS = (
    "step", "loss", "stft", "mel", "level", "onset", "kl", "beta", "lr", "seconds", "val_loss"
)  # fmt: skip


@dataclass(frozen=True)
class TrainResult:
    """What a finished run reports (all losses are reconstruction losses unless named)."""

    output_dir: Path  # holds model.safetensors, model.json, log.csv, train_state.pt
    steps: int  # steps finished in total
    train_loss: float  # last step's total loss (reconstruction + beta * KL)
    val_loss: float  # final validation reconstruction loss (posterior mean)
    seconds: float  # wall time of this invocation
    n_files: int  # audio files read


def output_files(output_dir: Path) -> list[Path]:
    """Files a run writes into ``output_dir`` (for the ``--force`` check)."""
    names = ("model.safetensors", "model.json", LOG_FILE, STATE_FILE, CONFIG_FILE)
    return [output_dir / n for n in names]


def resume_config(output_dir: Path) -> TrainConfig:
    """The config a run in ``output_dir`` was started with (from its checkpoint)."""
    return TrainConfig.from_dict(load_state(output_dir / STATE_FILE)["config"])


def check_unfinished(output_dir: Path, config: TrainConfig) -> None:
    """Refuse to resume a run that already did ``config.steps`` steps and wrote its model.

    A checkpoint at exactly ``config.steps`` without ``model.safetensors`` / ``model.json`` (a
    run killed after its last checkpoint, or one stopped early and asked to end there with
    ``--steps``) is let through: resuming then writes the model from the checkpoint.

    Raises
    ------
    ConfigError
        Naming the steps done and the fix.
    """
    _refuse_finished(output_dir, int(load_state(output_dir / STATE_FILE)["step"]), config)


def _refuse_finished(output_dir: Path, done: int, config: TrainConfig) -> None:
    model_written = all(p.is_file() for p in output_files(output_dir)[:2])
    if done > config.steps or (done == config.steps and model_written):
        raise ConfigError(
            f"{output_dir}: the run already finished its {done} steps; pass --steps above {done} "
            "to train on, or start again with --force"
        )


def training_data(data_dir: Path, config: TrainConfig) -> TrainingData:
    """Load and split ``data_dir`` for ``config`` (``train_codec`` does this when given a path).

    Raises
    ------
    InvalidAudioError
        No audio, an unreadable file, or less audio than one training segment.
    """
    return load_training_data(
        data_dir,
        sample_rate=config.model.sample_rate,
        n_samples=config.segment_samples(),
        val_fraction=config.val_fraction,
        n_val_segments=config.n_val_segments,
    )


def train_codec(
    data_dir: Path | TrainingData,
    output_dir: Path,
    config: TrainConfig,
    *,
    resume: bool = False,
    init: Path | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
) -> TrainResult:
    """Train the built-in codec on a folder of audio; write weights and logs to ``output_dir``.

    Parameters
    ----------
    data_dir : Path or TrainingData
        Any folder of WAV/FLAC/OGG/AIFF files (searched recursively), or what
        ``training_data`` loaded from one (so a caller can refuse bad data before it shows
        progress).
    output_dir : Path
        Run folder: ``log.csv``, ``train_state.pt`` (every ``checkpoint_every`` steps and on
        Ctrl-C), and at the end ``model.safetensors`` + ``model.json``.
    config : TrainConfig
        Hyperparameters; on resume they must equal the checkpoint's (``steps`` may grow).
    resume : bool
        Continue from ``output_dir/train_state.pt``; the next step's loss equals what an
        uninterrupted run would have logged.
    init : Path or None
        Start from the weights of a trained model folder (fine-tuning; fresh optimiser). Its
        tensors must fit ``config.model``.
    progress : callable or None
        Called with the number of steps just finished.
    device : str
        Where to train (``auto``, ``cpu``, ``cuda[:N]``, ``mps``); batches and posterior noise
        are drawn on the CPU, so a seed gives the same batches on every device. A run may
        resume on another device.
    """
    started = time.perf_counter()
    where = placement(device, "float32")  # before anything is written
    data = data_dir if isinstance(data_dir, TrainingData) else training_data(data_dir, config)
    # Made only once the data is known to be usable; locked so a second run cannot mix in.
    with locked_dir(output_dir):
        model = build_model(config.model, config.seed)
        if init is not None and not resume:
            _load_init(model, init)
        model.to(where.device)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
        )
        step = _resume_step(output_dir, config, model, optimizer) if resume else 0
        if resume:
            _refuse_finished(output_dir, step, config)
        write_text_atomic(output_dir / CONFIG_FILE, json.dumps(config.to_dict(), indent=2) + "\n")
        _trim_log(output_dir / LOG_FILE, step)
        if progress is not None and step:
            progress(step)
        loss_fn = ReconstructionLoss(
            config.model.sample_rate,
            mel_weight=config.mel_weight,
            level_weight=config.level_weight,
            level_k_weighted=config.model.level_k_weighted,
            onset_weight=config.onset_weight,
        )
        loss_fn.to(where.device)
        state = _Run(output_dir, config, model, optimizer, loss_fn, data, started)
        step, last, val_loss = _run_steps(state, step, progress)
        if np.isnan(val_loss):
            val_loss = validate(model, loss_fn, data)
        if np.isnan(last):  # no step ran: the checkpoint was already at config.steps
            last = _last_logged_loss(output_dir / LOG_FILE)
        info = {
            "steps": step,
            "seed": config.seed,
            "val_loss": val_loss,
            "train_loss": last,
            "train": {k: v for k, v in config.to_dict().items() if k != "model"},
            **where.describe(),
        }
        write_weights(output_dir, model, config.model, info=info)
        return TrainResult(
            output_dir, step, last, val_loss, time.perf_counter() - started, data.n_files
        )


@dataclass(frozen=True)
class _Run:
    """What every training step needs, gathered so the step loop takes one argument."""

    output_dir: Path
    config: TrainConfig
    model: BuiltinVAE
    optimizer: torch.optim.Optimizer
    loss_fn: ReconstructionLoss
    data: TrainingData
    started: float

    def save(self, step: int) -> None:
        save_state(
            self.output_dir / STATE_FILE,
            step=step,
            config=self.config,
            model=self.model,
            optimizer=self.optimizer,
        )


def _run_steps(run: _Run, step: int, progress: Progress | None) -> tuple[int, float, float]:
    """Train from ``step`` to ``config.steps``; return (steps done, last loss, last val loss).

    Checkpoints (with a validation pass) every ``checkpoint_every`` steps and at the end; Ctrl-C
    saves a checkpoint before re-raising.
    """
    config = run.config
    last = val_loss = float("nan")
    try:
        while step < config.steps:
            row = train_step(run.model, run.optimizer, run.loss_fn, run.data, config, step)
            step += 1
            last = row["loss"]
            if step % config.checkpoint_every == 0 or step == config.steps:
                val_loss = validate(run.model, run.loss_fn, run.data)
                row["val_loss"] = val_loss
                run.save(step)
            row["seconds"] = time.perf_counter() - run.started
            _append_log(run.output_dir / LOG_FILE, row, step)
            if progress is not None:
                progress(1)
    except KeyboardInterrupt:
        run.save(step)
        logger.warning("interrupted after step %d; resume with --resume", step)
        raise
    return step, last, val_loss


def _last_logged_loss(log: Path) -> float:
    """The loss of the last step in ``log.csv`` (NaN when it has none)."""
    import csv

    if not log.is_file():
        return float("nan")
    with log.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return float(rows[-1]["loss"]) if rows else float("nan")


def _resume_step(
    output_dir: Path, config: TrainConfig, model: BuiltinVAE, optimizer: torch.optim.Optimizer
) -> int:
    state = load_state(output_dir / STATE_FILE)
    stored = TrainConfig.from_dict(state["config"]).replace(steps=config.steps)
    if stored != config:
        raise CheckpointError(
            f"{output_dir / STATE_FILE}: the run was started with another config; resume "
            "without --config (only --steps may change) or start a new run"
        )
    return restore(state, model, optimizer)


def _load_init(model: BuiltinVAE, init: Path) -> None:
    from latentroom.codecs.builtin import read_weights

    start, _ = read_weights(init)
    try:
        model.load_state_dict(start.state_dict(), strict=True)
    except RuntimeError as err:
        raise CheckpointError(
            f"{init}: its weights do not fit the model config being trained ({str(err)[:200]})"
        ) from err


def evaluate_model(
    output_dir: Path,
    eval_dir: Path,
    *,
    max_clips: int | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Score the trained model in ``output_dir`` on ``eval_dir`` beside the PCA baseline.

    ``eval_dir`` holds ``holdout/<family>/*`` clips (and ``train/`` for the baseline's PCA), as
    ``latentroom corpus synth`` writes them. The report goes to ``output_dir/eval``
    (``report.md``, ``metrics.json``, ``spectrograms.png``); the summary is returned.
    """
    from latentroom.codecs.builtin import load_builtin
    from latentroom.evaluation.evaluate import EvalConfig, evaluate_codec
    from latentroom.evaluation.report import write_report

    codec = load_builtin(checkpoint=output_dir, device=device)
    config = EvalConfig(max_clips=max_clips, baseline=True)
    evaluation = evaluate_codec(codec, eval_dir, config, progress=progress)
    return write_report(output_dir / "eval", evaluation, force=True)


def step_generators(seed: int, step: int) -> tuple[np.random.Generator, torch.Generator]:
    """The batch and posterior-noise generators of one step: pure functions of (seed, step)."""
    numpy_rng = np.random.default_rng([seed, step, 0])
    torch_seed = int(np.random.SeedSequence([seed, step, 1]).generate_state(1)[0])
    return numpy_rng, torch.Generator().manual_seed(torch_seed)


def train_step(
    model: BuiltinVAE,
    optimizer: torch.optim.Optimizer,
    loss_fn: ReconstructionLoss,
    data: TrainingData,
    config: TrainConfig,
    step: int,
) -> dict[str, float]:
    """One optimiser step (0-based ``step``); return the logged values."""
    numpy_rng, generator = step_generators(config.seed, step)
    segments = data.batch(numpy_rng, config.batch_size, config.segment_samples(), config.gain_db)
    batch = to_device(torch.from_numpy(segments), _device_of(model))
    lr, beta = lr_at(step, config), beta_at(step, config)
    for group in optimizer.param_groups:
        group["lr"] = lr
    model.train()
    reconstruction, kl = model(batch, generator=generator)
    losses = loss_fn(reconstruction, batch)
    loss = losses["total"] + beta * kl
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    # One device-to-host copy per step instead of four.
    terms = ("stft", "mel", "level", "onset")
    logged = torch.stack([loss, *(losses[t] for t in terms), kl]).detach().tolist()
    return {**dict(zip(("loss", *terms, "kl"), logged, strict=True)), "beta": beta, "lr": lr}


def validate(model: BuiltinVAE, loss_fn: ReconstructionLoss, data: TrainingData) -> float:
    """Mean reconstruction loss on the validation segments through the posterior mean."""
    model.eval()
    totals = []
    with torch.inference_mode():
        for start in range(0, len(data.validation), 8):
            x = to_device(torch.from_numpy(data.validation[start : start + 8]), _device_of(model))
            totals.append(float(loss_fn(model.decoder(model.encode(x)), x)["total"]) * len(x))
    return sum(totals) / len(data.validation)


def to_device(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Copy a CPU batch to ``device``; through pinned memory for CUDA (an async copy)."""
    if device.type != "cuda":
        return x.to(device)
    return x.pin_memory().to(device, non_blocking=True)


def _device_of(model: torch.nn.Module) -> torch.device:
    return next(model.parameters()).device


def _trim_log(path: Path, step: int) -> None:
    """Keep the log rows of finished steps ``<= step`` (a resumed run rewrites the rest)."""
    rows: list[dict[str, str]] = []
    if path.is_file() and step > 0:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = [r for r in csv.DictReader(handle) if int(r["step"]) <= step]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, LOG_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _append_log(path: Path, row: dict[str, float], step: int) -> None:
    with path.open("a", newline="", encoding="utf-8") as handle:
        values = {"step": step, **{k: f"{v:.6g}" for k, v in row.items()}}
        csv.DictWriter(handle, LOG_COLUMNS).writerow(values)
