"""The state quantiser the n-grams are formed from: seeded k-means on the states' own geometry.

The states are centred and divided by one overall RMS (not per dim): distances stay those of
the latent space, so a dim with little energy moves few states across cells (per-dim
standardisation would let a near-silent dim split clusters as much as the loudest one).

k-means (not a random projection + sign) because the codes should follow where the states
actually are: a sign quantiser of d dims spends its 2^d cells uniformly, most of them empty,
while the n-gram tables only pay off when few cells recur often.
"""

from __future__ import annotations

import numpy as np

from latentroom.errors import ConfigError

MAX_FIT_STATES = 50_000  # k-means sees at most this many train states (evenly spaced)
N_ITER = 50  # Lloyd iterations at most (stops earlier when no code changes)


def kmeans(states: np.ndarray, n_codes: int, *, seed: int = 0) -> np.ndarray:
    """Centres of a seeded k-means (k-means++ start, Lloyd iterations).

    Parameters
    ----------
    states : np.ndarray [shape=(N, d)]
        Centred train states divided by their overall RMS.
    n_codes : int >= 2
        ``K``.

    Returns
    -------
    np.ndarray [shape=(K, d), dtype=float32]
    """
    if states.shape[0] < n_codes:
        raise ConfigError(
            f"the quantiser needs at least {n_codes} train states (--codes) but train holds "
            f"{states.shape[0]}; use fewer --codes or a longer corpus"
        )
    stride = max(1, -(-states.shape[0] // MAX_FIT_STATES))
    x = states[::stride].astype(np.float64)
    rng = np.random.default_rng(seed)
    centres = [x[rng.integers(x.shape[0])]]
    nearest = ((x - centres[0]) ** 2).sum(axis=1)
    for _ in range(n_codes - 1):
        total = nearest.sum()
        pick = rng.choice(x.shape[0], p=nearest / total) if total > 0 else rng.integers(x.shape[0])
        centres.append(x[pick])
        nearest = np.minimum(nearest, ((x - x[pick]) ** 2).sum(axis=1))
    c = np.stack(centres)
    codes = np.full(x.shape[0], -1)
    for _ in range(N_ITER):
        new = assign(x, c)
        if np.array_equal(new, codes):
            break
        codes = new
        for k in range(n_codes):
            members = x[codes == k]
            if members.size:  # an emptied centre keeps its place
                c[k] = members.mean(axis=0)
    return c.astype(np.float32)


def assign(x: np.ndarray, centres: np.ndarray, *, chunk: int = 8192) -> np.ndarray:
    """Index of the nearest centre for each row of ``x (N, d)``, ``(N,)``."""
    out = np.empty(x.shape[0], dtype=np.int64)
    c_sq = (centres**2).sum(axis=1)
    for start in range(0, x.shape[0], chunk):
        block = x[start : start + chunk]
        out[start : start + chunk] = np.argmin(c_sq[None] - 2 * block @ centres.T, axis=1)
    return out
