"""The dual latent on a frozen codec's latents: a causal state z_dyn and a local innovation z_rec.

Frame t is reconstructed from the state z_dyn,t = e(x_{t-L..t-1}) (the past only) and an
innovation z_rec,t drawn from the posterior q(z_rec | x_t, z_dyn,t) (the frame itself, no longer
context: the innovation is local by construction) or from the prior p(z_rec | z_dyn,t). Because the
state sees only the past, KL(q ‖ p) is the information frame t adds beyond it: the innovation rate.
The dynamics model p(z_dyn,t | z_dyn,t-C..t-1) scores the state on its own grid, whitened by its
moments (the batch's in training, the train states' after): shrinking the state cannot lower its
NLL (the collapse audioEngram met), and copies of one predictable signal in several dims do not
count several times.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from latentroom.analysis.factorize.config import FactorizeConfig

#: Least standard deviation of the dynamics model, in units of the state's own spread: caps the
#: gain a perfectly predictable dim can claim at about 2.5 nats per dim and step.
DYN_MIN_STD = 0.05
#: Least standard deviation of q and p over z_rec (keeps the KL finite).
REC_MIN_STD = 1e-3


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
        nn.Linear(hidden, n_out),
    )  # fmt: skip


#: Ridge added to the state covariance before whitening, relative to its mean variance.
WHITEN_RIDGE = 1e-3


class Whitening:
    """``z ↦ L⁻¹(z − mean)`` with ``L Lᵀ`` the states' covariance (plus a small ridge)."""

    def __init__(self, mean: torch.Tensor, chol: torch.Tensor) -> None:
        self.mean = mean
        self.chol = chol
        self.inverse = torch.linalg.inv(chol)

    @classmethod
    def fit(cls, z: torch.Tensor) -> Whitening:
        """From states ``z (..., dim)`` (differentiable: training whitens by the batch)."""
        flat = z.reshape(-1, z.shape[-1])
        mean = flat.mean(0)
        centred = flat - mean
        cov = centred.T @ centred / flat.shape[0]
        return cls(mean, cholesky(cov))

    def apply(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.mean) @ self.inverse.T

    def invert(self, zs: torch.Tensor) -> torch.Tensor:
        return zs @ self.chol.T + self.mean


def cholesky(cov: torch.Tensor) -> torch.Tensor:
    """Lower Cholesky factor of ``cov`` plus ``WHITEN_RIDGE`` times its mean variance."""
    ridge = WHITEN_RIDGE * cov.diagonal().mean().clamp(min=1e-6) + 1e-8
    eye = torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device)
    return torch.linalg.cholesky(cov + ridge * eye)


class Gaussian:
    """A diagonal Gaussian ``N(mean, std²)`` over the last axis."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        self.mean = mean
        self.std = std

    @classmethod
    def from_raw(cls, raw: torch.Tensor, min_std: float) -> Gaussian:
        """Split ``raw (..., 2n)`` into a mean and a softplus-positive std above ``min_std``."""
        mean, pre = raw.chunk(2, dim=-1)
        return cls(mean, nn.functional.softplus(pre) + min_std)

    def sample(self, generator: torch.Generator | None) -> torch.Tensor:
        noise = torch.randn(self.mean.shape, generator=generator, device="cpu")
        return self.mean + self.std * noise.to(self.mean.device)

    def nll(self, value: torch.Tensor) -> torch.Tensor:
        """Negative log-density summed over the last axis, ``(...)`` nats."""
        z = (value - self.mean) / self.std
        return (0.5 * z**2 + torch.log(self.std) + 0.5 * math.log(2 * math.pi)).sum(-1)

    def detach(self) -> Gaussian:
        return Gaussian(self.mean.detach(), self.std.detach())


def kl_divergence(q: Gaussian, p: Gaussian) -> torch.Tensor:
    """KL(q ‖ p) summed over the last axis, ``(...)`` nats."""
    ratio = (q.std / p.std) ** 2
    return 0.5 * (ratio + ((q.mean - p.mean) / p.std) ** 2 - 1 - torch.log(ratio)).sum(-1)


@dataclass
class SegmentPass:
    """One segment's states and innovation distributions (``Factorizer.segment``).

    Attributes
    ----------
    slow : torch.Tensor [shape=(B, n_states, dim_dyn)]
        Slow-grid states.
    target : torch.Tensor [shape=(B, n_frames, D)]
        The normalised frames after the first L (each has a state).
    held : torch.Tensor [shape=(B, n_frames, dim_dyn)]
        Each frame's state.
    posterior, prior : Gaussian
        q(z_rec | x_t, z_dyn,t) and p(z_rec | z_dyn,t) per frame.
    """

    slow: torch.Tensor
    target: torch.Tensor
    held: torch.Tensor
    posterior: Gaussian
    prior: Gaussian


class Factorizer(nn.Module):
    """State encoder, innovation posterior and prior, reconstructor and dynamics model.

    Parameters
    ----------
    latent_dim : int
        D, dims of the codec latents x_t.
    config : FactorizeConfig
    """

    x_mean: torch.Tensor  # buffers: the train frames' per-dim moments
    x_std: torch.Tensor
    z_mean: torch.Tensor  # buffers: moments of the train states (after the last epoch)
    z_chol: torch.Tensor

    def __init__(self, latent_dim: int, config: FactorizeConfig) -> None:
        super().__init__()
        hidden, dyn, rec = config.hidden, config.dim_dyn, config.dim_rec
        self.context = config.context
        self.rate = config.rate
        self.dyn_context = config.dyn_context
        self.register_buffer("x_mean", torch.zeros(latent_dim))
        self.register_buffer("x_std", torch.ones(latent_dim))
        self.register_buffer("z_mean", torch.zeros(dyn))
        self.register_buffer("z_chol", torch.eye(dyn))
        # A causal convolution over the last L frames: the state never sees frame t itself.
        self.encoder = nn.Sequential(
            nn.Conv1d(latent_dim, hidden, config.context), nn.GELU(),
            nn.Conv1d(hidden, hidden, 1), nn.GELU(), nn.Conv1d(hidden, dyn, 1), nn.Tanh(),
        )  # fmt: skip
        self.posterior = _mlp(latent_dim + dyn, hidden, 2 * rec)
        self.prior = _mlp(dyn, hidden, 2 * rec)
        self.decoder = _mlp(dyn + rec, hidden, latent_dim)
        self.log_sigma_x = nn.Parameter(torch.zeros(latent_dim))
        self.dynamics = _mlp(config.dyn_context * dyn, hidden, 2 * dyn)
        # The dynamics model starts as the standard-normal marginal of the whitened state
        # (mean 0, std 1), so an untrained or useless one scores a gain of 0, not a loss.
        last = self.dynamics[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        with torch.no_grad():
            last.bias[:dyn] = 0.0
            last.bias[dyn:] = math.log(math.expm1(1.0 - DYN_MIN_STD))

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """Codec latents ``(..., D)`` in train-standardised units."""
        return (x - self.x_mean) / self.x_std

    def states(self, xn: torch.Tensor) -> torch.Tensor:
        """Per-frame states of normalised frames ``(B, S, D)``: ``(B, S - L + 1, dim_dyn)``.

        State ``j`` summarises frames ``j .. j + L - 1`` and belongs to frame ``j + L``.
        """
        return self.encoder(xn.transpose(1, 2)).transpose(1, 2)

    def slow(self, states: torch.Tensor) -> torch.Tensor:
        """The states on the slow grid (every ``rate``-th), ``(B, ceil(n / rate), dim_dyn)``."""
        return states[:, :: self.rate]

    def hold(self, slow: torch.Tensor, n_frames: int) -> torch.Tensor:
        """Slow-grid states held constant over their blocks: ``(B, n_frames, dim_dyn)``."""
        return slow.repeat_interleave(self.rate, dim=1)[:, :n_frames]

    def whitening(self, z: torch.Tensor, *, update: bool) -> Whitening:
        """The whitening of states ``z (..., dim_dyn)``.

        With ``update`` (training) the batch's own moments; without, the train states' moments
        stored after the last epoch (``set_moments``).
        """
        if update:
            return Whitening.fit(z)
        return Whitening(self.z_mean, self.z_chol)

    def set_moments(self, mean: torch.Tensor, cov: torch.Tensor) -> None:
        """Store the train states' mean and covariance for evaluation and rollouts."""
        self.z_mean.copy_(mean)
        self.z_chol.copy_(cholesky(cov))

    def segment(self, x: torch.Tensor) -> SegmentPass:
        """States and innovation distributions of raw segments ``x (B, S, D)``."""
        xn = self.normalise(x)
        n_frames = xn.shape[1] - self.context
        slow = self.slow(self.states(xn)[:, :n_frames])
        target = xn[:, self.context :]
        held = self.hold(slow, n_frames)
        q, p = self.innovation(target, held)
        return SegmentPass(slow, target, held, q, p)

    def innovation(self, xn: torch.Tensor, z: torch.Tensor) -> tuple[Gaussian, Gaussian]:
        """Posterior q(z_rec | x_t, z_dyn,t) and prior p(z_rec | z_dyn,t) per frame."""
        q = Gaussian.from_raw(self.posterior(torch.cat([xn, z], dim=-1)), REC_MIN_STD)
        return q, self.prior_of(z)

    def prior_of(self, z: torch.Tensor) -> Gaussian:
        """The prior p(z_rec | z_dyn) of states ``z (..., dim_dyn)``."""
        return Gaussian.from_raw(self.prior(z), REC_MIN_STD)

    def reconstruct(self, z: torch.Tensor, z_rec: torch.Tensor) -> Gaussian:
        """p(x_t | z_dyn,t, z_rec,t) in normalised units."""
        mean = self.decoder(torch.cat([z, z_rec], dim=-1))
        return Gaussian(mean, torch.exp(self.log_sigma_x).expand_as(mean))

    def predict_next(self, past: torch.Tensor) -> Gaussian:
        """p(z̃_t | z̃_{t-C..t-1}) of whitened states ``past (B, C, dim_dyn)``."""
        return Gaussian.from_raw(self.dynamics(past.reshape(past.shape[0], -1)), DYN_MIN_STD)

    @torch.no_grad()
    def dyn_states(self, x: np.ndarray, *, chunk: int = 65_536) -> np.ndarray:
        """The slow-grid states of one raw sequence ``x (T, D)``.

        Returns ``(ceil((T - L + 1) / r), dim_dyn)`` float32. Computed in chunks of ``chunk``
        frames (overlapping by L - 1), so long items fit.
        """
        device = self.x_mean.device
        n_states = max(x.shape[0] - self.context + 1, 0)
        out = []
        for start in range(0, n_states, chunk):
            stop = min(start + chunk, n_states)
            frames = torch.tensor(x[start : stop + self.context - 1], device=device)  # a copy
            out.append(self.states(self.normalise(frames.float())[None])[0])
        if not out:
            return np.zeros((0, self.z_mean.shape[0]), dtype=np.float32)
        states = torch.cat(out)[:: self.rate]
        return states.cpu().numpy().astype(np.float32)
