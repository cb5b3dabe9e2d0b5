"""Processes with known answers that validate the analyses (docs/analysis.md, tests)."""

from __future__ import annotations

import numpy as np


def white_noise_walk(
    n_items: int, n_frames: int, dim: int, *, rng: np.random.Generator
) -> list[np.ndarray]:
    """Random walks with i.i.d. N(0, 1) steps: Δx carries no information about the past.

    Known answers: IG = 0 for every predictor, variance ratio = 1 for every key.

    Returns
    -------
    list of np.ndarray [shape=(n_frames, dim), dtype=float32]
    """
    steps = rng.standard_normal((n_items, n_frames, dim))
    return list(np.cumsum(steps, axis=1).astype(np.float32))


def ar1_velocity(
    n_items: int, n_frames: int, dim: int, *, a: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Positions whose velocity is a stationary Gaussian AR(1): ``v_t = a v_{t-1} + e_t``.

    ``e_t ~ N(0, (1 - a²) I)`` so ``Var v_t = 1``; ``x_t = x_{t-1} + v_t``, so ``Δx_t = v_t``.
    """
    v = np.empty((n_items, n_frames, dim))
    v[:, 0] = rng.standard_normal((n_items, dim))
    noise = rng.standard_normal((n_items, n_frames, dim)) * np.sqrt(1 - a**2)
    for t in range(1, n_frames):
        v[:, t] = a * v[:, t - 1] + noise[:, t]
    return list(np.cumsum(v, axis=1).astype(np.float32))


def ar1_information_gain(a: float, horizon: int, dim: int) -> float:
    """Analytic IG (nats/frame) of the best predictor over the marginal, at horizon k.

    ``Δx_{t+k} | past ~ N(a^k v_t, (1 - a^{2k}) I)`` against the marginal ``N(0, I)``:
    ``IG = -(D/2) ln(1 - a^{2k})``.
    """
    return -0.5 * dim * float(np.log1p(-(a ** (2 * horizon))))


def switching_process(
    n_items: int,
    n_frames: int,
    *,
    drifts: np.ndarray,
    sigma: float,
    level: float = 100.0,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Items in one of M modes; the mode sets the drift of Δx and is read off the context mean.

    Item i is in mode ``m = i mod M`` for its whole length. Frames have ``M + D`` dims: the first
    M hold ``level`` on the mode's own axis (constant, so the context mean identifies the mode and
    their Δx is 0); the last D are a walk with steps ``drifts[m] + sigma · N(0, I)``.

    Parameters
    ----------
    drifts : np.ndarray [shape=(M, D)]
        Mean step of each mode.
    sigma : float > 0
        Step noise standard deviation.
    """
    n_modes, dim = drifts.shape
    out = []
    for i in range(n_items):
        mode = i % n_modes
        indicator = np.zeros((n_frames, n_modes))
        indicator[:, mode] = level
        steps = drifts[mode] + sigma * rng.standard_normal((n_frames, dim))
        out.append(np.concatenate([indicator, np.cumsum(steps, axis=0)], axis=1).astype(np.float32))
    return out


def switching_variance_ratio(drifts: np.ndarray, sigma: float) -> float:
    """Analytic within-cluster variance ratio of ``switching_process`` (equal-frequency modes).

    Only the D walk dims vary; per dim the total variance is ``σ² + Var_m(μ_m)``, the within-mode
    variance ``σ²``, so the ratio is ``D σ² / (D σ² + Σ_d Var_m(μ_{m,d}))``.
    """
    spread = float(drifts.var(axis=0).sum())
    total_noise = drifts.shape[1] * sigma**2
    return total_noise / (total_noise + spread)


def bimodal_steps(
    n_items: int,
    n_frames: int,
    dim: int,
    *,
    offset: float = 3.0,
    sigma: float = 0.5,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Walks whose steps are ``±offset`` (fair coin, all dims together) plus ``sigma`` noise.

    The conditional mean of Δx is 0 whatever the context (R² = 0), but the distribution is two
    narrow modes, which a mixture captures and a Gaussian cannot (IG > 0).
    """
    signs = rng.choice([-1.0, 1.0], size=(n_items, n_frames, 1))
    steps = signs * offset + sigma * rng.standard_normal((n_items, n_frames, dim))
    return list(np.cumsum(steps, axis=1).astype(np.float32))


def switching_linear_system(
    n_items: int,
    n_frames: int,
    *,
    obs_dim: int = 8,
    state_dim: int = 2,
    n_modes: int = 3,
    dwell: int = 50,
    a: float = 0.8,
    radius: float = 3.0,
    process_std: float = 0.3,
    obs_std: float = 0.05,
    rng: np.random.Generator,
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """A switching linear system observed through a random linear map plus noise.

    The mode m_t holds for ``dwell`` frames, then jumps to another mode (uniformly). The state
    relaxes towards its mode's attractor μ_m (on a circle of ``radius``):
    ``s_t = a·s_{t-1} + (1 - a)·μ_{m_t} + process_std·w_t``; the frames are
    ``x_t = C s_t + obs_std·n_t`` with C ~ N(0, 1) of shape ``(obs_dim, state_dim)``.

    Returns
    -------
    frames : list of np.ndarray [shape=(n_frames, obs_dim), dtype=float32]
    modes : list of np.ndarray [shape=(n_frames,)]
    mixing : np.ndarray [shape=(obs_dim, state_dim)]
        C, for ``innovation_entropy``.
    """
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    attractors = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    attractors = np.pad(attractors, ((0, 0), (0, max(state_dim - 2, 0))))[:, :state_dim]
    mixing = rng.standard_normal((obs_dim, state_dim))
    frames, modes = [], []
    for _ in range(n_items):
        mode = np.empty(n_frames, dtype=np.int64)
        current, phase = int(rng.integers(n_modes)), int(rng.integers(dwell))
        for t in range(n_frames):
            if t > 0 and (t + phase) % dwell == 0:
                current = (current + 1 + int(rng.integers(n_modes - 1))) % n_modes
            mode[t] = current
        s = np.empty((n_frames, state_dim))
        s[0] = attractors[mode[0]]
        noise = process_std * rng.standard_normal((n_frames, state_dim))
        for t in range(1, n_frames):
            s[t] = a * s[t - 1] + (1 - a) * attractors[mode[t]] + noise[t]
        x = s @ mixing.T + obs_std * rng.standard_normal((n_frames, obs_dim))
        frames.append(x.astype(np.float32))
        modes.append(mode)
    return frames, modes, mixing


def innovation_entropy(mixing: np.ndarray, *, process_std: float, obs_std: float) -> float:
    """I(x_t; w_t | past) in nats/frame for ``switching_linear_system`` between switches.

    With the past pinning s_{t-1} (obs_std small against the state's spread), frame t adds
    ``0.5·log det(I + process_std² CᵀC / obs_std²)``: what an innovation channel has to carry
    to reconstruct x_t down to the observation noise.
    """
    singular = np.linalg.svd(mixing, compute_uv=False)
    return float(0.5 * np.log1p((process_std * singular / obs_std) ** 2).sum())
