"""Settings of a Phase 3 run (``latentroom analyze factorize``), checked on construction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from latentroom.analysis.settings import config_from_dict
from latentroom.errors import ConfigError

#: Free-rollout reconstruction is reported at these steps (slow-grid states ahead).
ROLLOUT_REPORT_STEPS = (1, 4, 16)
#: Horizons of the Phase 1 information gain of z_dyn and of the raw latents.
IG_HORIZONS = (1, 2, 4, 8)


@dataclass(frozen=True)
class FactorizeConfig:
    """Hyperparameters of the dual latent; see docs/phase3.md for what each one does."""

    dim_dyn: int = 8  # dims of the state z_dyn
    dim_rec: int = 8  # dims of the innovation z_rec (at most D)
    kl_target: float = 1.0  # free nats per frame of KL(q || p) (DreamerV3's free bits)
    context: int = 8  # L, frames x_{t-L..t-1} the causal state encoder sees
    rollout: int = 8  # largest rollout K of the curriculum (slow-grid steps)
    rate: int = 1  # r: z_dyn is held constant over blocks of r codec frames
    epochs: int = 10
    seed: int = 0
    hidden: int = 64  # width of every small network
    dyn_context: int = 4  # C, past states the dynamics model p(z_dyn,t | z_dyn,<t) sees
    dyn_weight: float = 1.0  # λ, weight of the dynamics NLL
    kl_dyn_weight: float = 0.5  # DreamerV3: KL(sg(q) || p) trains the prior
    kl_rep_weight: float = 0.1  # DreamerV3: KL(q || sg(p)) trains the posterior
    warmup_epochs: float = 2.0  # the KL weights grow linearly from 0 over this many epochs
    prior_share: float = 0.25  # share of frames decoded from a prior-sampled z_rec in training
    free_share: float = (
        0.5  # share of rollouts run free (fed their own states), else teacher-forced
    )
    batch_size: int = 64  # segments per step
    lr: float = 2e-3
    max_segments_per_epoch: int | None = None  # bounds an epoch on a big corpus (None: all)
    n_boot: int = 1000  # bootstrap resamples of eval items for the 95 % intervals

    def __post_init__(self) -> None:
        positive = {
            "dim_dyn": self.dim_dyn, "dim_rec": self.dim_rec, "context": self.context,
            "rollout": self.rollout, "rate": self.rate, "epochs": self.epochs,
            "hidden": self.hidden, "dyn_context": self.dyn_context,
            "batch_size": self.batch_size, "n_boot": self.n_boot,
        }  # fmt: skip
        for name, value in positive.items():
            if value < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1; got {value}")
        if not self.kl_target > 0:
            raise ConfigError(
                f"--kl-target must be > 0 nats per frame; got {self.kl_target} "
                "(DreamerV3 uses 1.0; 0 would let the posterior collapse onto the prior)"
            )
        if self.dyn_weight < 0 or self.kl_dyn_weight < 0 or self.kl_rep_weight < 0:
            raise ConfigError("the loss weights must be >= 0")
        for name in ("prior_share", "free_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be in [0, 1]; got {getattr(self, name)}")
        if self.warmup_epochs < 0 or not self.lr > 0:
            raise ConfigError("warmup_epochs must be >= 0 and lr > 0")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> FactorizeConfig:
        """Build from a dict (a checkpoint's record), rejecting unknown keys."""
        return config_from_dict(cls, values, "Phase 3 settings")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def train_states(self) -> int:
        """Slow-grid states per training segment: the dynamics context plus the longest rollout."""
        return self.dyn_context + self.rollout

    def segment_frames(self, states: int) -> int:
        """Codec frames a segment of ``states`` slow-grid states needs (context included)."""
        return self.context + self.rate * states

    def check_latent_dim(self, latent_dim: int) -> None:
        """Refuse dims the corpus cannot carry (``dim_dyn`` or ``dim_rec`` above D)."""
        for name, value in (("dim-dyn", self.dim_dyn), ("dim-rec", self.dim_rec)):
            if value > latent_dim:
                raise ConfigError(
                    f"--{name} {value} is larger than the corpus's latent dim D = {latent_dim}; "
                    f"use at most {latent_dim}"
                )
