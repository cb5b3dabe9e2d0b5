"""Torch mixture-density predictors: an MLP on the flattened context and a GRU over its frames.

Both share one trainer (Adam, mini-batches streamed from the train windows, early stopping on the
validation NLL) and one output layer: per horizon, K Gaussian components that are diagonal in the
principal axes of the train Δx (its marginal covariance's eigenvectors), scaled to unit variance
there. Components diagonal in those axes are full-covariance Gaussians in the latent's own axes, so
correlated steps cost the mixture nothing, as they cost ``marginal_full`` nothing. Seeding uses
``torch.random.fork_rng`` + ``torch.manual_seed`` because
``torch.nn`` layers draw their initial weights from the global generator; forking keeps the
caller's global state untouched. This module imports torch: import it only where it is used.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from latentroom.analysis.distributions import DiagMixture, Predictive, RotatedMixture
from latentroom.analysis.predictors import (
    Windows,
    _check_horizons,
    floor_variance,
    variance_floor,
)
from latentroom.devices import resolve_device
from latentroom.errors import ConfigError

logger = logging.getLogger(__name__)

# Bounds on a component's log standard deviation in standardised units. The lower one is raised
# per dim to the variance floor of the marginals (``variance_floor``), so no predictor may be
# surer than the baselines allow: a dim that is constant on train would otherwise get components
# of width e^-7 and score 1e8 nats on any eval movement. The upper one keeps var² finite.
MIN_LOG_SCALE = -7.0
MAX_LOG_SCALE = 10.0
SCALER_WINDOWS = 200_000  # train windows (random items) the standardisation is estimated from


class MixtureNet(nn.Module):
    """Trunk (MLP on the flat context, or GRU over its frames) + one linear head per horizon."""

    def __init__(
        self, kind: str, context: int, n_features: int, n_out: int, hidden: int, n_heads: int
    ) -> None:
        super().__init__()
        self.kind = kind
        if kind == "mlp":
            self.trunk: nn.Module = nn.Sequential(
                nn.Linear(context * n_features, hidden), nn.GELU(),
                nn.Linear(hidden, hidden), nn.GELU(),
            )  # fmt: skip
        else:
            self.trunk = nn.GRU(n_features, hidden, batch_first=True)
        self.heads = nn.ModuleList(nn.Linear(hidden, n_out) for _ in range(n_heads))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """``x (B, L, F)`` -> trunk output ``(B, hidden)`` (MLP features or last GRU state)."""
        return self.trunk(x.flatten(1)) if self.kind == "mlp" else self.trunk(x)[0][:, -1]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x (B, L, F)`` -> one raw output ``(B, K * (1 + 2D))`` per horizon."""
        h = self.embed(x)
        return [head(h) for head in self.heads]


class MixtureDensityPredictor:
    """Mixture density network predicting Δx_{t+k} for several horizons.

    Per horizon, the targets are rotated onto the principal axes of their train covariance and
    scaled to unit variance there; the mixture components are diagonal in those axes.

    Parameters
    ----------
    horizons : sequence of int >= 1
    kind : {"mlp", "gru"}
        "mlp" reads the flattened context (``mdn``); "gru" reads it frame by frame (``sequence``).
    n_components : int >= 1
        ``K`` mixture components per horizon.
    hidden : int >= 1
        Width of the hidden layers / GRU state.
    batch_size, learning_rate : training settings (Adam).
    max_epochs : int >= 1
        Passes over (at most ``max_windows_per_epoch`` of) the train windows.
    patience : int >= 1
        Epochs without validation improvement before stopping; the best weights are kept.
    max_windows_per_epoch, max_val_windows : int >= 1
        Budgets that keep training time bounded on large corpora.
    random_state : int
        Seeds weight init, shuffling and batching.
    device : str
        Where the network trains and predicts (``auto``, ``cpu``, ``cuda[:N]``, ``mps``); the
        windows are streamed from the CPU and results come back as NumPy arrays.
    """

    def __init__(
        self,
        horizons: Sequence[int],
        *,
        kind: Literal["mlp", "gru"] = "mlp",
        n_components: int = 4,
        hidden: int = 128,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        max_epochs: int = 10,
        patience: int = 3,
        max_windows_per_epoch: int = 50_000,
        max_val_windows: int = 20_000,
        random_state: int = 0,
        device: str = "cpu",
    ) -> None:
        if kind not in ("mlp", "gru"):
            raise ConfigError(f"MDN kind must be 'mlp' or 'gru'; got {kind!r}")
        if min(n_components, hidden, batch_size, max_epochs, patience) < 1:
            raise ConfigError("n_components, hidden, batch_size, max_epochs, patience must be >= 1")
        self.horizons = _check_horizons(horizons)
        self.kind = kind
        self.n_components = n_components
        self.hidden = hidden
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.max_epochs = max_epochs
        self.patience = patience
        self.max_windows_per_epoch = max_windows_per_epoch
        self.max_val_windows = max_val_windows
        self.random_state = random_state
        self.device = resolve_device(device)

    @property
    def name(self) -> str:
        return "mdn" if self.kind == "mlp" else "sequence"

    def fit(self, train: Windows, val: Windows | None = None) -> MixtureDensityPredictor:
        """Standardise from train statistics, then train with early stopping on validation NLL."""
        self._fit_scalers(train)
        # Weights are drawn on the CPU (the same on every device); fork the GPU's RNG as well.
        devices = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.random_state)
            self.network_ = self._train(train, val)
        return self

    def _fit_scalers(self, train: Windows) -> None:
        """Input scales, and per horizon the targets' mean, principal axes and scales.

        The axes are the eigenvectors of the targets' train covariance (the marginal's), the
        scales the square roots of its eigenvalues, floored like every fitted variance.
        """
        rows = [k - 1 for k in self.horizons]
        n, x_sum, x_sq, s_sum, s_sq, y_sum = 0, 0.0, 0.0, 0.0, 0.0, 0.0
        y_outer: np.ndarray | float = 0.0
        # Scales need a good estimate, not every window: random items bound the pass.
        for chunk in train(np.random.default_rng(self.random_state)):
            x = chunk.context[:, -1].astype(np.float64)
            step = chunk.targets[0].astype(np.float64)  # one-step Δx, for the inputs
            y = chunk.targets[rows].astype(np.float64)  # (H, B, D)
            n += chunk.size
            x_sum, x_sq = x_sum + x.sum(axis=0), x_sq + (x**2).sum(axis=0)
            s_sum, s_sq = s_sum + step.sum(axis=0), s_sq + (step**2).sum(axis=0)
            y_sum, y_outer = y_sum + y.sum(axis=1), y_outer + y.transpose(0, 2, 1) @ y
            if n >= SCALER_WINDOWS:
                break
        self.x_mean_ = np.asarray(x_sum) / n
        self.x_scale_ = np.sqrt(floor_variance(np.asarray(x_sq) / n - self.x_mean_**2))
        self.step_mean_ = np.asarray(s_sum) / n
        self.step_scale_ = np.sqrt(floor_variance(np.asarray(s_sq) / n - self.step_mean_**2))
        self.y_mean_ = np.asarray(y_sum) / n  # (H, D)
        cov = np.asarray(y_outer) / n - np.einsum("hd,he->hde", self.y_mean_, self.y_mean_)
        eigenvalues, self.y_axes_ = np.linalg.eigh(cov)  # (H, D), (H, D, D): columns are axes
        y_var = np.maximum(eigenvalues, 0.0)
        self.y_scale_ = np.sqrt(floor_variance(y_var))
        lowest = 0.5 * np.log(variance_floor(y_var)) - np.log(self.y_scale_)
        floor = np.maximum(lowest, MIN_LOG_SCALE).astype(np.float32)
        self.min_log_scale_ = torch.from_numpy(floor).to(self.device)
        self.latent_dim_ = int(self.x_mean_.shape[0])
        self.n_train_ = n

    def _inputs(self, context: np.ndarray) -> torch.Tensor:
        """Per context frame: the standardised frame and its standardised step from the last.

        The steps make velocity dynamics easy to learn even when positions wander.
        """
        out = np.empty((*context.shape[:2], 2 * context.shape[2]), dtype=np.float32)
        n_dims = context.shape[2]
        out[:, :, :n_dims] = (context - self.x_mean_.astype(np.float32)) / self.x_scale_.astype(
            np.float32
        )
        out[:, 0, n_dims:] = 0.0
        steps = np.diff(context, axis=1) - self.step_mean_.astype(np.float32)
        out[:, 1:, n_dims:] = steps / self.step_scale_.astype(np.float32)
        return self._to_device(out)

    def _targets(self, targets: np.ndarray) -> torch.Tensor:
        """Per horizon, the targets in its principal axes at unit scale, ``(H, B, D)``."""
        scaled = np.empty((len(self.horizons), targets.shape[1], targets.shape[2]), np.float32)
        for h, k in enumerate(self.horizons):
            centred = targets[k - 1] - self.y_mean_[h].astype(np.float32)
            scaled[h] = centred @ self.y_axes_[h].astype(np.float32)
            scaled[h] /= self.y_scale_[h].astype(np.float32)
        return self._to_device(scaled)

    def _to_device(self, array: np.ndarray) -> torch.Tensor:
        """A float32 array as a tensor on the training device (pinned for an async copy)."""
        tensor = torch.from_numpy(np.ascontiguousarray(array))
        if self.device.startswith("cuda"):
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def _train(self, train: Windows, val: Windows | None) -> MixtureNet:
        context = next(iter(train(None))).context.shape[1]
        n_out = self.n_components * (1 + 2 * self.latent_dim_)
        net = MixtureNet(
            self.kind, context, 2 * self.latent_dim_, n_out, self.hidden, len(self.horizons)
        ).to(self.device)
        optimiser = torch.optim.Adam(net.parameters(), lr=self.learning_rate)
        rng = np.random.default_rng(self.random_state)
        best, best_state, stale = math.inf, copy.deepcopy(net.state_dict()), 0
        self.history_: list[float] = []
        self.diverged_ = False
        for epoch in range(self.max_epochs):
            finite = self._train_epoch(net, optimiser, train, rng)
            score = self._score(net, val if val is not None else train) if finite else math.nan
            self.history_.append(score)
            logger.info("%s epoch %d: validation NLL %.4f", self.name, epoch + 1, score)
            if not math.isfinite(score):
                # A non-finite loss or validation NLL: the weights have blown up. Keep the best
                # epoch so far (the initial weights if it was the first) and stop.
                self.diverged_ = True
                kept = f"epoch {int(np.argmin(self.history_[:-1])) + 1}" if epoch else "initial"
                logger.warning(
                    "%s diverged in epoch %d (non-finite loss); keeping the %s weights",
                    self.name,
                    epoch + 1,
                    kept,
                )
                break
            if score < best - 1e-4:
                best, best_state, stale = score, copy.deepcopy(net.state_dict()), 0
            else:
                stale += 1
                if stale >= self.patience:
                    break
        net.load_state_dict(best_state)
        net.eval()
        return net

    def _train_epoch(
        self,
        net: MixtureNet,
        optimiser: torch.optim.Optimizer,
        train: Windows,
        rng: np.random.Generator,
    ) -> bool:
        """One epoch of Adam steps; False as soon as a batch loss is not finite (no step taken)."""
        seen = 0
        net.train()
        for chunk in train(rng):
            x, y = self._inputs(chunk.context), self._targets(chunk.targets)
            for start in range(0, chunk.size, self.batch_size):
                stop = start + self.batch_size
                loss = self._loss(net, x[start:stop], y[:, start:stop]).mean()
                if not torch.isfinite(loss):
                    return False
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
            seen += chunk.size
            if seen >= self.max_windows_per_epoch:
                break
        return True

    def _loss(self, net: MixtureNet, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Standardised NLL per window summed over horizons, ``(B,)``."""
        total = x.new_zeros(x.shape[0])
        for h, raw in enumerate(net(x)):
            log_w, loc, log_scale = self._split(raw, h)
            z = (y[h][:, None, :] - loc) * torch.exp(-log_scale)
            log_pdf = (-0.5 * z**2 - log_scale).sum(dim=2) - 0.5 * self.latent_dim_ * math.log(
                2 * math.pi
            )
            total = total - torch.logsumexp(log_pdf + log_w, dim=1)
        return total

    def _split(
        self, raw: torch.Tensor, head: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Raw head output -> log weights (B, K), locations and log scales (B, K, D)."""
        n_k, n_d = self.n_components, self.latent_dim_
        log_w = torch.log_softmax(raw[:, :n_k], dim=1)
        loc = raw[:, n_k : n_k + n_k * n_d].reshape(-1, n_k, n_d)
        log_scale = raw[:, n_k + n_k * n_d :].reshape(-1, n_k, n_d)
        log_scale = log_scale.clamp(min=self.min_log_scale_[head]).clamp(max=MAX_LOG_SCALE)
        return log_w, loc, log_scale

    def _score(self, net: MixtureNet, windows: Windows) -> float:
        net.eval()
        total, n = 0.0, 0
        with torch.no_grad():
            for chunk in windows(None):
                loss = self._loss(net, self._inputs(chunk.context), self._targets(chunk.targets))
                total += float(loss.sum())
                n += chunk.size
                if n >= self.max_val_windows:
                    break
        return total / max(n, 1) / len(self.horizons)

    def hidden_state(self, context: np.ndarray) -> np.ndarray:
        """Trunk output per window, ``(B, hidden)``: what the heads read (the learned key)."""
        with torch.no_grad():
            return self.network_.embed(self._inputs(context)).cpu().numpy()

    def predict(self, context: np.ndarray) -> list[Predictive]:
        """One ``RotatedMixture`` per horizon, in the original (unstandardised) units."""
        with torch.no_grad():
            raws = self.network_(self._inputs(context))
        return [self._mixture(raw, h) for h, raw in enumerate(raws)]

    def predict_one(self, context: np.ndarray, head: int) -> RotatedMixture:
        """The distribution for horizon ``self.horizons[head]`` only (rollouts)."""
        with torch.no_grad():
            raw = self.network_.heads[head](self.network_.embed(self._inputs(context)))
        return self._mixture(raw, head)

    def _mixture(self, raw: torch.Tensor, head: int) -> RotatedMixture:
        """Unstandardised mixture, kept in float32 (the network's precision).

        Over the principal-axis coordinates ``u = y @ axes``, whose mean is ``y_mean @ axes``.
        """
        log_w, loc, log_scale = (t.cpu().numpy() for t in self._split(raw, head))
        axes = self.y_axes_[head]
        scale = self.y_scale_[head].astype(np.float32)
        shift = (self.y_mean_[head] @ axes).astype(np.float32)
        mixture = DiagMixture(log_w, loc * scale + shift, log_scale + np.log(scale))
        return RotatedMixture(mixture, axes.astype(np.float32))
