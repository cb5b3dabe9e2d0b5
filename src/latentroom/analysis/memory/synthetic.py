"""Processes with a known answer for Phase 4: an n-gram process and an order-free AR(1).

``ngram_process``: a hidden code ``c_t`` is drawn i.i.d. from K codes and shown in the first
K dims of the state (``β[c_t]``, a simplex corner, + noise); the other ``d_a`` dims are a
*deterministic* function of the last n codes, ``α[g(c_{t-1}, .., c_{t-n})]`` + noise, with
``g`` a random lookup table. A Gaussian predictor that knows g predicts those dims up to the
noise σ; one that does not is left with their marginal spread. The lookup therefore removes
(Gaussian bound)

    margin = ½ Σ_d log((Var_d(α[g]) + σ²) / σ²)   nats/frame,

which ``ngram_process`` returns with the best Gaussian predictor's NLL (``ideal_nll``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NgramProcess:
    """Items of an n-gram process and the facts a known-answer check needs."""

    items: list[np.ndarray]  # (T, n_codes + d_a) each
    margin: float  # nats/frame the lookup of g removes (Gaussian bound, see module docstring)
    ideal_nll: float  # nats/frame of the best Gaussian predictor, which knows g
    order: int


def ngram_process(
    *,
    n_items: int = 40,
    length: int = 600,
    n_codes: int = 12,
    order: int = 3,
    d_a: int = 2,
    sigma: float = 0.1,
    code_spread: float = 3.0,
    seed: int = 0,
) -> NgramProcess:
    """Draw an n-gram process (see the module docstring)."""
    rng = np.random.default_rng(seed)
    # Codes at the corners of a simplex (all equally far apart, code_spread·√2): every code is
    # a cluster k-means can find; random centres put some pairs close enough to be merged.
    beta = code_spread * np.eye(n_codes)
    alpha = rng.normal(0.0, 1.0, size=(n_codes**order, d_a))
    items = []
    for _ in range(n_items):
        c = rng.integers(n_codes, size=length + order)
        key = np.zeros(length, dtype=np.int64)
        for i in range(1, order + 1):  # g(c_{t-1}, .., c_{t-n}) as a base-K index
            key = key * n_codes + c[order - i : order - i + length]
        b = beta[c[order:]]
        a = alpha[key]
        x = np.concatenate([b, a], axis=1) + rng.normal(0.0, sigma, size=(length, n_codes + d_a))
        items.append(x.astype(np.float32))
    # Codes are uniform and independent, so every key is equally likely: Var over all keys.
    margin = 0.5 * float(np.log((alpha.var(axis=0) + sigma**2) / sigma**2).sum())
    # The best Gaussian for the i.i.d. code dims is their marginal; the others are known up to σ.
    b_nll = 0.5 * np.log(2 * np.pi * np.e * (beta.var(axis=0) + sigma**2)).sum()
    a_nll = 0.5 * d_a * np.log(2 * np.pi * np.e * sigma**2)
    return NgramProcess(items, margin, float(b_nll + a_nll), order)


def ar1_process(
    *, n_items: int = 40, length: int = 400, dim: int = 4, rho: float = 0.9, seed: int = 0
) -> list[np.ndarray]:
    """Items of ``s_t = ρ s_{t-1} + ε_t`` (unit-variance noise): no n-gram structure at all."""
    rng = np.random.default_rng(seed)
    items = []
    for _ in range(n_items):
        x = np.zeros((length, dim))
        x[0] = rng.normal(size=dim) / np.sqrt(1 - rho**2)
        for t in range(1, length):
            x[t] = rho * x[t - 1] + rng.normal(size=dim)
        items.append(x.astype(np.float32))
    return items
