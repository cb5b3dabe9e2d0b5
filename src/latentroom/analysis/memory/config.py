"""Settings of a Phase 4 run (``latentroom analyze memory``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from latentroom.analysis.settings import config_from_dict
from latentroom.errors import ConfigError


@dataclass(frozen=True)
class MemoryConfig:
    """Settings of the dynamics models with and without memory, and of their evaluation."""

    context: int = 8  # L, states of context ending at s_t (the n-grams are its last n states)
    orders: tuple[int, ...] = (2, 3)  # n-gram orders looked up (each <= context)
    heads: int = 2  # hash heads per order (one table each)
    table_size: int = 4096  # slots per table at most (each table takes the largest free prime)
    codes: int = 64  # k-means codebook size of the state quantiser
    embed_dim: int = 16  # width of each table's vectors
    hidden: int = 64  # trunk width of the memory model (the no-memory model is widened)
    rollout: tuple[int, ...] = (1, 4, 16)  # free-rollout horizons scored (frames)
    max_epochs: int = 20  # training passes (early stopping on validation NLL)
    patience: int = 4  # epochs without validation gain before stopping
    batch_size: int = 256
    learning_rate: float = 2e-3
    # Adam's step for the tables: a slot only moves when its n-gram occurs, so at the trunk's
    # rate a table of thousands of slots would hardly train (Engram also gives its embeddings a
    # larger rate than the backbone).
    table_learning_rate: float = 5e-2
    max_windows_per_epoch: int = 50_000  # bounds an epoch on big corpora
    max_rollout_windows: int = 2_000  # eval windows (evenly spaced) rolled out
    n_boot: int = 1000  # bootstrap resamples of eval items for the 95 % intervals
    seed: int = 0  # split, quantiser, hashes, weights, batches, bootstrap

    def __post_init__(self) -> None:
        if self.context < 1:
            raise ConfigError(f"--context must be >= 1 state; got {self.context}")
        if not self.orders or min(self.orders) < 1:
            raise ConfigError(f"--orders must be positive integers; got {list(self.orders)}")
        if max(self.orders) > self.context:
            raise ConfigError(
                f"n-gram order {max(self.orders)} is longer than the context ({self.context}); "
                "use smaller --orders or a longer --context"
            )
        if len(set(self.orders)) != len(self.orders):
            raise ConfigError(f"--orders repeats an order: {list(self.orders)}")
        if self.table_size <= 0:
            raise ConfigError(f"--table-size must be > 0; got {self.table_size}")
        if self.heads < 1:
            raise ConfigError(f"--heads must be >= 1; got {self.heads}")
        if self.codes < 2:
            raise ConfigError(f"--codes (quantiser size) must be >= 2; got {self.codes}")
        if not self.rollout or min(self.rollout) < 1:
            raise ConfigError(f"--rollout horizons must be >= 1; got {list(self.rollout)}")
        small = {
            "embed_dim": self.embed_dim, "hidden": self.hidden, "max_epochs": self.max_epochs,
            "patience": self.patience, "batch_size": self.batch_size, "n_boot": self.n_boot,
            "max_windows_per_epoch": self.max_windows_per_epoch,
            "max_rollout_windows": self.max_rollout_windows,
        }  # fmt: skip
        bad = {name: value for name, value in small.items() if value < 1}
        if bad:
            raise ConfigError(f"these settings must be >= 1: {bad}")
        if not (self.learning_rate > 0 and self.table_learning_rate > 0):
            raise ConfigError(
                f"learning rates must be > 0; got {self.learning_rate}, {self.table_learning_rate}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MemoryConfig:
        """Build from a dict, rejecting unknown keys."""
        return config_from_dict(cls, values, "Phase 4 settings")

    @property
    def horizon(self) -> int:
        """Future states each window needs: the longest rollout."""
        return max(self.rollout)
