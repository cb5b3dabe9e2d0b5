"""Closed-form predictors of Δx_{t+k}: marginal Gaussians and ridge regression, from chunked sums.

Every predictor follows the scikit-learn shape: hyperparameters in ``__init__``, ``fit(train, val)
-> self`` over window streams, learned state ending in ``_``, and ``predict(context)`` returning one
predictive distribution per horizon. Sufficient statistics are accumulated chunk by chunk (float64
sums), so no flattened context matrix is ever held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from latentroom.analysis.data import WindowChunk
from latentroom.analysis.distributions import DiagMixture, Predictive, SharedGaussian
from latentroom.errors import ConfigError

#: A re-iterable stream of windows; called with an rng it shuffles (training), with None it
#: returns windows in a fixed order.
Windows = Callable[[np.random.Generator | None], Iterable[WindowChunk]]

#: Ridge strengths tried, relative to the mean feature variance; the best on validation wins.
RIDGE_GRID = (1e-6, 1e-4, 1e-2, 1.0)

#: Every fitted variance is at least this fraction of the mean variance over dims. A dim that is
#: constant on train (a silent mel band, a dead latent dim) otherwise gets a variance near 0, and
#: any eval movement in it scores NLLs of 1e8 nats; a dim this quiet holds < 0.01 % of the energy.
RELATIVE_VARIANCE_FLOOR = 1e-4


def variance_floor(var: np.ndarray) -> np.ndarray:
    """Least variance allowed in ``var`` [shape=(..., D)]: a share of its mean over D, ``(..., 1)``.

    The share is ``RELATIVE_VARIANCE_FLOOR``; the floor is never 0.
    """
    return np.maximum(RELATIVE_VARIANCE_FLOOR * np.mean(var, axis=-1, keepdims=True), 1e-30)


def floor_variance(var: np.ndarray) -> np.ndarray:
    """``var`` [shape=(..., D)] raised to its ``variance_floor``."""
    return np.maximum(var, variance_floor(var))


def _check_horizons(horizons: Sequence[int]) -> tuple[int, ...]:
    if not horizons or min(horizons) < 1:
        raise ConfigError(f"horizons must be positive integers; got {list(horizons)}")
    return tuple(int(k) for k in horizons)


class MarginalDiag:
    """Diagonal Gaussian fit to the train targets, ignoring the context (the IG baseline).

    Parameters
    ----------
    horizons : sequence of int >= 1
    """

    name = "marginal_diag"

    def __init__(self, horizons: Sequence[int]) -> None:
        self.horizons = _check_horizons(horizons)

    def fit(self, train: Windows, val: Windows | None = None) -> MarginalDiag:
        """Accumulate per-dim means and variances of the train targets."""
        n, total, squares = 0, 0.0, 0.0
        for chunk in train(None):
            y = chunk.targets[[k - 1 for k in self.horizons]].astype(np.float64)  # (H, B, D)
            total = total + y.sum(axis=1)
            squares = squares + (y**2).sum(axis=1)
            n += chunk.size
        mean = np.asarray(total) / n
        self.mean_ = mean
        self.var_ = floor_variance(np.asarray(squares) / n - mean**2)
        self.n_train_ = n
        return self

    @classmethod
    def from_full(cls, full: MarginalFull) -> MarginalDiag:
        """The diagonal of a fitted ``MarginalFull`` (the same train targets, no second pass)."""
        model = cls(full.horizons)
        model.mean_ = full.mean_
        model.var_ = floor_variance(np.diagonal(full.cov_, axis1=1, axis2=2).copy())
        model.n_train_ = full.n_train_
        return model

    def predict(self, context: np.ndarray) -> list[Predictive]:
        """One ``DiagMixture`` with K = 1 per horizon, the same for every window."""
        n_windows = context.shape[0]
        out: list[Predictive] = []
        for h in range(len(self.horizons)):
            loc = np.broadcast_to(self.mean_[h], (n_windows, 1, self.mean_.shape[1]))
            log_scale = np.broadcast_to(0.5 * np.log(self.var_[h]), loc.shape)
            out.append(DiagMixture(np.zeros((n_windows, 1)), loc, log_scale))
        return out


class MarginalFull:
    """Full-covariance Gaussian fit to the train targets, ignoring the context.

    Its gain over ``MarginalDiag`` is what correlations between dims alone explain.
    """

    name = "marginal_full"

    def __init__(self, horizons: Sequence[int]) -> None:
        self.horizons = _check_horizons(horizons)

    def fit(self, train: Windows, val: Windows | None = None) -> MarginalFull:
        """Accumulate means and covariances of the train targets."""
        return self.fit_sums(*target_sums(train(None), self.horizons))

    def fit_sums(self, n: int, total: np.ndarray, outer: np.ndarray) -> MarginalFull:
        """Fit from ``target_sums`` (of one stream, or added up over parts of it)."""
        mean = np.asarray(total) / n
        cov = np.asarray(outer) / n - np.einsum("hd,he->hde", mean, mean)
        self.mean_ = mean
        self.cov_ = cov
        self.chol_ = np.stack([_safe_cholesky(c) for c in cov])
        self.n_train_ = n
        return self

    def predict(self, context: np.ndarray) -> list[Predictive]:
        """One ``SharedGaussian`` per horizon, the same for every window."""
        n_windows = context.shape[0]
        return [
            SharedGaussian(np.broadcast_to(self.mean_[h], (n_windows, self.mean_.shape[1])), c)
            for h, c in enumerate(self.chol_)
        ]


def target_sums(
    chunks: Iterable[WindowChunk], horizons: Sequence[int]
) -> tuple[int, np.ndarray, np.ndarray]:
    """Windows ``n``, target sums ``(H, D)`` and target Gram matrices ``(H, D, D)``, float64."""
    n, total, outer = 0, np.zeros(0), np.zeros(0)
    for chunk in chunks:
        y = chunk.targets[[k - 1 for k in horizons]].astype(np.float64)  # (H, B, D)
        gram = y.transpose(0, 2, 1) @ y
        total = y.sum(axis=1) if n == 0 else total + y.sum(axis=1)
        outer = gram if n == 0 else outer + gram
        n += chunk.size
    return n, total, outer


def _safe_cholesky(cov: np.ndarray) -> np.ndarray:
    """Cholesky factor of ``cov`` with its diagonal floored (``floor_variance``).

    A little more is added to the diagonal if the matrix is still singular.
    """
    diag = np.diag(cov)
    cov = cov + np.diag(floor_variance(diag) - diag)
    jitter = 0.0
    scale = max(float(np.mean(np.diag(cov))), 1e-12)
    for _ in range(8):
        try:
            return np.linalg.cholesky(cov + jitter * np.eye(cov.shape[0]))
        except np.linalg.LinAlgError:
            jitter = scale * 1e-9 if jitter == 0 else jitter * 100
    raise np.linalg.LinAlgError("covariance is not positive definite even with jitter")


def _gram(f: np.ndarray) -> np.ndarray:
    """``f.T @ f`` for float32 ``f (B, F)`` via BLAS ssyrk (half the work of a general product)."""
    from scipy.linalg.blas import ssyrk

    upper = ssyrk(1.0, f.T, trans=0)  # f.T is Fortran-ordered: no copy
    return np.triu(upper) + np.triu(upper, 1).T


def step_features(context: np.ndarray) -> np.ndarray:
    """The ridge's features: the last frame and the L − 1 steps of the context, ``(B, L·D)``.

    An invertible linear map of the flattened context ``(B, L, D)``, so an unpenalised fit predicts
    the same; but latents drift slowly, and in frame coordinates the direction that carries the
    velocity (x_t − x_{t−1}) is a tiny difference of two large, almost equal features. In step
    coordinates it is a feature of its own, which keeps the float32 moments accurate and makes the
    ridge penalty act on the steps rather than on the drift.
    """
    steps = np.diff(context, axis=1)  # (B, L - 1, D): x_{i+1} - x_i
    return np.concatenate([context[:, -1:], steps], axis=1).reshape(context.shape[0], -1)


class Moments:
    """Running sums of features f, targets y and their products, for ridge fits.

    The products are taken per chunk in float32 (sgemm / ssyrk: twice the speed of float64, the
    ridge's whole cost) about a fixed shift, the first chunk's means, so they hold deviations of
    order one standard deviation rather than raw values; the chunk sums are added up in float64.
    """

    def __init__(self) -> None:
        self.n = 0
        self.f_shift = np.zeros(0)
        self.y_shift = np.zeros(0)
        self.f_sum: np.ndarray | float = 0.0
        self.y_sum: np.ndarray | float = 0.0
        self.ff: np.ndarray | float = 0.0
        self.fy: np.ndarray | float = 0.0
        self.yy: np.ndarray | float = 0.0

    def add(self, f: np.ndarray, y: np.ndarray) -> None:
        """Add features ``(B, F)`` and stacked targets ``(H, B, D)``."""
        if self.n == 0:
            self.f_shift = f.mean(axis=0, dtype=np.float64)
            self.y_shift = y.mean(axis=1, dtype=np.float64)
        fc = (f - self.f_shift.astype(np.float32)).astype(np.float32)
        yc = (y - self.y_shift[:, None].astype(np.float32)).astype(np.float32)
        self.n += f.shape[0]
        self.f_sum = self.f_sum + fc.sum(axis=0, dtype=np.float64)
        self.y_sum = self.y_sum + yc.sum(axis=1, dtype=np.float64)
        self.ff = self.ff + _gram(fc).astype(np.float64)
        n_h, n_b, n_d = yc.shape
        flat = yc.transpose(1, 0, 2).reshape(n_b, n_h * n_d)  # one GEMM for all horizons
        cross = (fc.T @ flat).astype(np.float64).reshape(-1, n_h, n_d).transpose(1, 0, 2)
        self.fy = self.fy + cross
        self.yy = self.yy + (yc.transpose(0, 2, 1) @ yc).astype(np.float64)

    def merge(self, other: Moments) -> Moments:
        """Add the sums of ``other`` (other windows), moved from its shift to this one's.

        With ``c = f - t`` about the other shift ``t`` and ``d = t - s``, the sums about this
        shift ``s`` are ``Σ(c + d) = Σc + n d`` and ``Σ(c + d)(c + d)ᵀ = Σccᵀ + Σc dᵀ + d Σcᵀ +
        n d dᵀ`` (likewise for the targets and the cross products), exact in float64.
        """
        if other.n == 0:
            return self
        if self.n == 0:
            self.__dict__.update(other.__dict__)
            return self
        m = other.n
        d = other.f_shift - self.f_shift  # (F,)
        e = other.y_shift - self.y_shift  # (H, D)
        fs, ys = np.asarray(other.f_sum), np.asarray(other.y_sum)
        self.ff = self.ff + _moved(other.ff, "f,g->fg", fs, d, fs, d, m)
        self.fy = self.fy + _moved(other.fy, "f,hd->hfd", fs, d, ys, e, m)
        self.yy = self.yy + _moved(other.yy, "hd,he->hde", ys, e, ys, e, m)
        self.f_sum = self.f_sum + fs + m * d
        self.y_sum = self.y_sum + ys + m * e
        self.n += m
        return self

    def centred(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Means and (co)variances: ``mu_f (F,)``, ``mu_y (H, D)``, ``C_ff``, ``C_fy``, ``C_yy``."""
        n = self.n
        mf = np.asarray(self.f_sum) / n  # mean deviation from the shift
        my = np.asarray(self.y_sum) / n
        c_ff = np.asarray(self.ff) / n - np.outer(mf, mf)
        c_fy = np.asarray(self.fy) / n - np.einsum("f,hd->hfd", mf, my)
        c_yy = np.asarray(self.yy) / n - np.einsum("hd,he->hde", my, my)
        return self.f_shift + mf, self.y_shift + my, c_ff, c_fy, c_yy


def _moved(
    products: np.ndarray | float,
    spec: str,
    a_sum: np.ndarray,
    a_move: np.ndarray,
    b_sum: np.ndarray,
    b_move: np.ndarray,
    n: int,
) -> np.ndarray:
    """``Σ(a + a_move) ⊗ (b + b_move)`` from ``Σ a ⊗ b`` (``products``) and the sums of a, b."""
    return (
        np.asarray(products)
        + np.einsum(spec, a_sum, b_move)
        + np.einsum(spec, a_move, b_sum)
        + n * np.einsum(spec, a_move, b_move)
    )


class LinearGaussian:
    """Ridge regression of Δx_{t+k} on the context, with full residual covariance.

    The features are the context's last frame and its steps (``step_features``), a change of
    basis of the flattened context; ``coef_`` is in that basis.

    Parameters
    ----------
    horizons : sequence of int >= 1
    ridge_grid : sequence of float > 0
        Ridge strengths relative to the mean feature variance; the one with the lowest validation
        squared error is kept, per horizon.
    max_windows, max_val_windows : int >= 1
        Train / validation windows the moments are gathered from (whole random items first).
        The cost is O(windows · (L·D)²): 200 000 windows estimate the (L·D + 1) × D coefficients
        well for L·D up to a few thousand, and bound the time on large corpora.
    random_state : int
        Seeds the choice of items when a budget is reached.
    """

    name = "linear"

    def __init__(
        self,
        horizons: Sequence[int],
        ridge_grid: Sequence[float] = RIDGE_GRID,
        *,
        max_windows: int = 200_000,
        max_val_windows: int = 50_000,
        random_state: int = 0,
    ) -> None:
        self.horizons = _check_horizons(horizons)
        self.ridge_grid = tuple(ridge_grid)
        self.max_windows = max_windows
        self.max_val_windows = max_val_windows
        self.random_state = random_state

    def fit(self, train: Windows, val: Windows | None = None) -> LinearGaussian:
        """Accumulate train (and validation) moments, pick the ridge, solve, keep the residuals."""
        rng = np.random.default_rng(self.random_state)
        moments = self._moments(train, self.max_windows, rng)
        val_moments = self._moments(val, self.max_val_windows, rng) if val is not None else None
        return self.fit_moments(moments, val_moments)

    def fit_moments(self, moments: Moments, val_moments: Moments | None) -> LinearGaussian:
        """Pick the ridge, solve, keep the residuals, from train (and validation) moments."""
        mu_f, mu_y, c_ff, c_fy, c_yy = moments.centred()
        weights = self._select(c_ff, c_fy, mu_f, mu_y, val_moments)
        self.coef_ = weights  # (H, F, D)
        self.intercept_ = mu_y - np.einsum("f,hfd->hd", mu_f, weights)
        resid = (
            c_yy
            - np.einsum("hfd,hfe->hde", weights, c_fy)
            - np.einsum("hfd,hfe->hde", c_fy, weights)
            + np.einsum("hfd,fg,hge->hde", weights, c_ff, weights, optimize=True)
        )
        self.residual_cov_ = resid
        self.chol_ = np.stack([_safe_cholesky(0.5 * (r + r.T)) for r in resid])
        self.n_train_ = moments.n
        return self

    def _moments(self, windows: Windows, budget: int, rng: np.random.Generator) -> Moments:
        """Moments of (at most about ``budget``) windows, items in random order."""
        rows = [k - 1 for k in self.horizons]
        moments = Moments()
        for chunk in windows(rng):
            moments.add(step_features(chunk.context), chunk.targets[rows])
            if moments.n >= budget:
                break
        return moments

    def _select(
        self,
        c_ff: np.ndarray,
        c_fy: np.ndarray,
        mu_f: np.ndarray,
        mu_y: np.ndarray,
        val: Moments | None,
    ) -> np.ndarray:
        """Solve for every ridge strength; keep, per horizon, the best on validation."""
        from scipy.linalg import cho_factor, cho_solve

        scale = max(float(np.mean(np.diag(c_ff))), 1e-12)
        n_h, n_f, n_d = c_fy.shape
        rhs = c_fy.transpose(1, 0, 2).reshape(n_f, n_h * n_d)
        best = np.full(n_h, np.inf)
        chosen = np.zeros_like(c_fy)
        self.ridge_ = np.zeros(n_h)
        grid = self.ridge_grid if val is not None else self.ridge_grid[:1]
        for alpha in grid:
            try:
                factor = cho_factor(c_ff + alpha * scale * np.eye(n_f), lower=True)
            except np.linalg.LinAlgError:
                continue
            w = cho_solve(factor, rhs).reshape(n_f, n_h, n_d).transpose(1, 0, 2)
            errors = _val_errors(w, mu_f, mu_y, val) if val is not None else np.zeros(n_h)
            better = errors < best
            best[better] = errors[better]
            chosen[better] = w[better]
            self.ridge_[better] = alpha
        if not np.isfinite(best).all():
            raise ConfigError("ridge regression failed for every ridge strength; check the input")
        return chosen

    def predict(self, context: np.ndarray) -> list[Predictive]:
        """One ``SharedGaussian`` per horizon: the ridge mean and the train residual covariance."""
        features = step_features(context)  # built once for every head
        return [self._predict(features, h) for h in range(len(self.horizons))]

    def predict_one(self, context: np.ndarray, head: int) -> SharedGaussian:
        """The distribution for horizon ``self.horizons[head]`` only (rollouts).

        The mean is computed in float32 (the context's precision); the intercept is added after.
        """
        return self._predict(step_features(context), head)

    def _predict(self, features: np.ndarray, head: int) -> SharedGaussian:
        loc = features @ self.coef_[head].astype(np.float32) + self.intercept_[head]
        return SharedGaussian(loc, self.chol_[head])


def _val_errors(w: np.ndarray, mu_f: np.ndarray, mu_y: np.ndarray, val: Moments) -> np.ndarray:
    """Validation sum of squared errors per horizon, from the validation moments alone."""
    # The sums hold f - f_shift and y - y_shift: y - W'f - b = (y - s_y) - W'(f - s_f) - b'.
    b = mu_y - np.einsum("f,hfd->hd", mu_f - val.f_shift, w) - val.y_shift  # b' (H, D)
    ff, fy, yy = np.asarray(val.ff), np.asarray(val.fy), np.asarray(val.yy)
    f_sum, y_sum = np.asarray(val.f_sum), np.asarray(val.y_sum)
    # Σ‖y - W'f - b‖² expanded into the accumulated sums.
    quad = np.einsum("hfd,fg,hgd->h", w, ff, w, optimize=True)
    cross = np.einsum("hfd,hfd->h", w, fy)
    fb = np.einsum("f,hfd,hd->h", f_sum, w, b, optimize=True)
    yb = np.einsum("hd,hd->h", y_sum, b)
    return np.einsum("hdd->h", yy) - 2 * cross + quad + 2 * fb - 2 * yb + val.n * (b**2).sum(axis=1)
