"""Training checkpoints: model + optimiser + step, written atomically, read back strictly."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from latentroom.errors import CheckpointError
from latentroom.fileio import write_bytes_atomic
from latentroom.train.config import TrainConfig

STATE_FORMAT_VERSION = 1
STATE_FILE = "train_state.pt"


def save_state(
    path: Path, *, step: int, config: TrainConfig, model: torch.nn.Module, optimizer: Any
) -> None:
    """Write everything a run needs to continue after ``step`` finished steps.

    The learning rate, the KL weight, each batch and each posterior draw are pure functions of
    the step and the seed, so model, optimiser and step are the whole state (no sampler or
    generator state has to be carried).
    """
    state = {
        "format_version": STATE_FORMAT_VERSION,
        "step": step,
        "config": config.to_dict(),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
    }
    write_torch_state(path, state)


def write_torch_state(path: Path, state: dict[str, Any]) -> None:
    """``torch.save`` ``state`` to ``path`` atomically; the same state gives the same bytes."""
    # Saved through memory: torch.save names the zip's records after the file it writes, and
    # the temporary file's random name would make identical runs differ in bytes.
    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_bytes_atomic(path, buffer.getvalue())


def read_torch_state(path: Path, *, what: str, fix: str, map_location: str = "cpu") -> Any:
    """``torch.load`` a checkpoint (tensors and plain data only: ``weights_only=True``).

    Raises
    ------
    CheckpointError
        The file is unreadable (torn, foreign, not a checkpoint); the message names ``what`` it
        should have been and ends with ``fix``.
    """
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for corrupt files; all mean "unreadable"
        raise CheckpointError(f"{path}: unreadable {what} ({str(err)[:120]}); {fix}") from err


def load_state(path: Path) -> dict[str, Any]:
    """Read a training checkpoint (tensors and plain data only: ``weights_only=True``).

    Raises
    ------
    CheckpointError
        Missing, unreadable or from another format version.
    """
    if not path.is_file():
        raise CheckpointError(
            f"{path}: no training checkpoint to resume from; start without --resume"
        )
    state = read_torch_state(
        path, what="training checkpoint", fix="start a new run in another folder, or with --force"
    )
    if not isinstance(state, dict) or state.get("format_version") != STATE_FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: training checkpoint format is not version {STATE_FORMAT_VERSION}; "
            "start a new run in another folder"
        )
    return state


def restore(state: dict[str, Any], model: torch.nn.Module, optimizer: Any) -> int:
    """Load model and optimiser state strictly; return the number of finished steps."""
    restore_weights(state, model, optimizer, what="training checkpoint")
    return int(state["step"])


def restore_weights(
    state: dict[str, Any], model: torch.nn.Module, optimizer: Any, *, what: str
) -> None:
    """Load ``state["model"]`` (strictly) and ``state["optimizer"]``; a mismatch names ``what``.

    Raises
    ------
    CheckpointError
        A missing key or a tensor that does not fit the model.
    """
    try:
        model.load_state_dict(state["model"], strict=True)
        optimizer.load_state_dict(state["optimizer"])
    except (KeyError, RuntimeError, ValueError) as err:
        raise CheckpointError(f"{what} does not match the model config ({str(err)[:200]})") from err
