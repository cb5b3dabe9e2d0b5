"""The codec-training config: a frozen dataclass next to the model config it trains."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    """How to train the built-in codec; stored in every training checkpoint."""

    steps: int = 6000  # optimiser steps in total
    batch_size: int = 8  # segments per step
    segment_seconds: float = 1.0  # length of one training segment (rounded to whole latent hops)
    learning_rate: float = 1e-3  # peak AdamW learning rate
    warmup_steps: int = 200  # linear learning-rate warm-up from 0
    min_lr_ratio: float = 0.1  # cosine decay ends at learning_rate * min_lr_ratio
    weight_decay: float = 1e-4  # AdamW weight decay
    grad_clip: float = 1.0  # max global gradient norm
    beta: float = 1e-3  # KL weight after warm-up (small keeps the latent informative)
    kl_warmup_steps: int = 1000  # KL weight rises linearly from 0 to beta over these steps
    mel_weight: float = 1.0  # weight of the log-mel L1 term beside the multi-resolution STFT loss
    level_weight: float = 0.0  # weight of the frame/segment log-energy L1 (keeps loudness)
    onset_weight: float = 0.0  # weight of the log-spectral-flux L1 (keeps onsets sharp)
    gain_db: tuple[float, float] = (-12.0, 0.0)  # random gain range applied to each segment (dB)
    val_fraction: float = 0.1  # tail fraction of every file held out for validation
    n_val_segments: int = 32  # validation segments (taken in order from the held-out tails)
    checkpoint_every: int = 250  # steps between training checkpoints (and validation)
    seed: int = 0  # seeds weights, batches and posterior noise
    model: BuiltinConfig = field(default_factory=BuiltinConfig)  # the network to train

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "checkpoint_every", "n_val_segments"):
            _check(name, getattr(self, name), low=1)
        for name in ("warmup_steps", "kl_warmup_steps", "seed"):
            _check(name, getattr(self, name), low=0)
        for name in ("segment_seconds", "learning_rate", "grad_clip"):
            _check(name, getattr(self, name), low=0, strict=True)
        for name in ("weight_decay", "beta", "mel_weight", "level_weight", "onset_weight"):
            _check(name, getattr(self, name), low=0)
        if not 0 < self.min_lr_ratio <= 1:
            raise ConfigError(f"min_lr_ratio must be in (0, 1]; got {self.min_lr_ratio}")
        if not 0 < self.val_fraction < 0.5:
            raise ConfigError(f"val_fraction must be in (0, 0.5); got {self.val_fraction}")
        low, high = self.gain_db
        if low > high:
            raise ConfigError(f"gain_db must be (low, high) with low <= high; got {self.gain_db}")

    def segment_samples(self) -> int:
        """Samples per training segment: a whole number (>= 1) of latent hops."""
        hop = self.model.hop_length
        return max(1, round(self.segment_seconds * self.model.sample_rate / hop)) * hop

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for JSON."""
        data = asdict(self)
        data["gain_db"] = list(self.gain_db)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Build from a dict (``model`` nested), refusing keys this version does not know."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(
                f"train config: unknown keys {unknown}; allowed keys are {sorted(known)}"
            )
        values = dict(data)
        if "model" in values:
            values["model"] = BuiltinConfig.from_dict(dict(values["model"]))
        if "gain_db" in values:
            values["gain_db"] = tuple(float(v) for v in values["gain_db"])
        return cls(**values)

    @classmethod
    def from_file(cls, path: Path) -> TrainConfig:
        """Read a JSON config file (see ``to_dict`` for its keys)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: cannot read the training config ({err})") from err
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: a training config must be a JSON object")
        return cls.from_dict(data)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (``None`` values are ignored)."""
        return TrainConfig.from_dict(
            {**self.to_dict(), **{k: v for k, v in changes.items() if v is not None}}
        )


def _check(name: str, value: float, *, low: float, strict: bool = False) -> None:
    bad = value <= low if strict else value < low
    if bad:
        relation = ">" if strict else ">="
        raise ConfigError(f"train config: {name} must be {relation} {low}; got {value}")


def lr_at(step: int, config: TrainConfig) -> float:
    """Learning rate for ``step`` (0-based): a pure function of the step, so resuming is exact.

    1. linear warm-up over ``warmup_steps``;
    2. cosine decay from ``learning_rate`` to ``learning_rate * min_lr_ratio`` at ``steps``.
    """

    peak = config.learning_rate
    if step < config.warmup_steps:
        return peak * (step + 1) / config.warmup_steps
    span = max(1, config.steps - config.warmup_steps)
    progress = min(1.0, (step - config.warmup_steps) / span)
    floor = peak * config.min_lr_ratio
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


def beta_at(step: int, config: TrainConfig) -> float:
    """KL weight for ``step``: rises linearly from 0 to ``beta`` over ``kl_warmup_steps``."""
    if config.kl_warmup_steps == 0:
        return config.beta
    return config.beta * min(1.0, step / config.kl_warmup_steps)
