"""Predictive distributions and closed-form predictors against direct computations."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal, norm

from latentroom.analysis.data import ArraySource, iter_windows
from latentroom.analysis.distributions import (
    DiagMixture,
    RotatedMixture,
    SharedGaussian,
    log_norm_from_moments,
)
from latentroom.analysis.predictors import LinearGaussian, MarginalDiag, MarginalFull, Windows
from latentroom.analysis.rollout import rollout_nll


def test_shared_gaussian_nll_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3))
    cov = a @ a.T + np.eye(3)
    loc = rng.standard_normal((5, 3))
    y = rng.standard_normal((5, 3))
    dist = SharedGaussian(loc, np.linalg.cholesky(cov))
    expected = [-multivariate_normal(loc[i], cov).logpdf(y[i]) for i in range(5)]
    np.testing.assert_allclose(dist.nll(y), expected, rtol=1e-10)
    per_dim = -norm(loc, np.sqrt(np.diag(cov))).logpdf(y)
    np.testing.assert_allclose(dist.nll_per_dim(y), per_dim, rtol=1e-10)


def test_diag_mixture_nll_matches_a_direct_sum() -> None:
    rng = np.random.default_rng(1)
    weights = np.array([[0.3, 0.7]])
    loc = rng.standard_normal((1, 2, 4))
    scale = np.exp(rng.standard_normal((1, 2, 4)) * 0.3)
    y = rng.standard_normal((1, 4))
    dist = DiagMixture(np.log(weights), loc, np.log(scale))
    density = sum(weights[0, k] * norm(loc[0, k], scale[0, k]).pdf(y[0]).prod() for k in range(2))
    assert dist.nll(y)[0] == pytest.approx(-np.log(density), rel=1e-10)
    np.testing.assert_allclose(dist.mean()[0], weights[0] @ loc[0], rtol=1e-12)


def test_diag_mixture_score_gives_both_nlls_and_float32_agrees_with_float64() -> None:
    rng = np.random.default_rng(4)
    log_w = np.log(rng.dirichlet(np.ones(3), size=6))
    loc = rng.standard_normal((6, 3, 64))
    log_scale = rng.standard_normal((6, 3, 64)) * 0.5
    y = rng.standard_normal((6, 64)) * 3  # far tails: the max-shift must keep logs finite
    dist = DiagMixture(log_w, loc, log_scale)
    nll, per_dim = dist.score(y)
    np.testing.assert_allclose(nll, dist.nll(y), rtol=1e-12)
    per_k = norm(loc, np.exp(log_scale)).logpdf(y[:, None, :]) + log_w[:, :, None]
    np.testing.assert_allclose(per_dim, -logsumexp(per_k, axis=1), rtol=1e-10)
    np.testing.assert_allclose(nll, -logsumexp(per_k.sum(axis=2) - 63 * log_w, axis=1), rtol=1e-10)
    single = DiagMixture(log_w[:, :1] * 0, loc[:, :1], log_scale[:, :1])  # K = 1: no logsumexp
    np.testing.assert_allclose(
        single.score(y)[1], -norm(loc[:, 0], np.exp(log_scale[:, 0])).logpdf(y)
    )
    low = DiagMixture(
        log_w.astype(np.float32), loc.astype(np.float32), log_scale.astype(np.float32)
    )
    nll32, per_dim32 = low.score(y.astype(np.float32))
    assert nll32.dtype == np.float64 and per_dim32.dtype == np.float32
    np.testing.assert_allclose(nll32, nll, rtol=1e-5)
    np.testing.assert_allclose(per_dim32, per_dim, rtol=1e-4, atol=1e-4)
    wide = DiagMixture(log_w.astype(np.float32), low.loc, low.log_scale + np.float32(30))
    assert np.isfinite(wide.log_norm()).all()  # var² = e^120 would overflow float32


def test_rotated_mixture_is_a_full_covariance_mixture_in_the_original_axes() -> None:
    rng = np.random.default_rng(6)
    rotation, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    weights = np.array([[0.4, 0.6], [0.9, 0.1]])
    loc = rng.standard_normal((2, 2, 3))
    scale = np.exp(rng.standard_normal((2, 2, 3)) * 0.5)
    dist = RotatedMixture(DiagMixture(np.log(weights), loc, np.log(scale)), rotation)
    y = rng.standard_normal((2, 3))
    for b in range(2):
        means = loc[b] @ rotation.T  # component means in the original axes
        covs = [rotation @ np.diag(scale[b, k] ** 2) @ rotation.T for k in range(2)]
        density = sum(
            weights[b, k] * multivariate_normal(means[k], covs[k]).pdf(y[b]) for k in range(2)
        )
        assert dist.nll(y)[b] == pytest.approx(-np.log(density), rel=1e-10)
        np.testing.assert_allclose(dist.mean()[b], weights[b] @ means, rtol=1e-10)
        marginal = sum(
            weights[b, k] * norm(means[k], np.sqrt(np.diag(covs[k]))).pdf(y[b]) for k in range(2)
        )
        np.testing.assert_allclose(dist.nll_per_dim(y)[b], -np.log(marginal), rtol=1e-10)
    one = dist.take(slice(1, 2))
    assert one.nll(y[1:])[0] == pytest.approx(dist.nll(y)[1])
    first = _monte_carlo_log_norm(dist.take(slice(0, 1)))
    assert dist.log_norm()[0] == pytest.approx(first, abs=0.05)


def test_log_norm_estimate_is_close_for_a_high_dimensional_gaussian() -> None:
    rng = np.random.default_rng(2)
    loc = np.full((1, 64), 0.5)
    samples = loc + rng.standard_normal((50_000, 64))
    truth = np.log(np.linalg.norm(samples, axis=1)).mean()
    estimate = SharedGaussian(loc, np.eye(64)).log_norm()[0]
    assert estimate == pytest.approx(truth, abs=2e-3)
    assert log_norm_from_moments(np.array([4.0]), np.array([0.0]))[0] == pytest.approx(np.log(2))


@pytest.mark.parametrize("dim", [1, 2, 64])
def test_log_norm_is_exact_for_an_isotropic_centred_gaussian(dim: int) -> None:
    # ‖y‖² = σ² χ²_D, so E log‖y‖ = ½ (log 2σ² + ψ(D/2)) exactly.
    from scipy.special import digamma

    sigma = 0.3
    truth = 0.5 * (np.log(2 * sigma**2) + digamma(dim / 2))
    estimate = SharedGaussian(np.zeros((1, dim)), sigma * np.eye(dim)).log_norm()[0]
    assert estimate == pytest.approx(truth, abs=1e-9)


def _monte_carlo_log_norm(dist: DiagMixture | RotatedMixture, n: int = 200_000) -> float:
    """E log‖y‖ of the first window's distribution, from n seeded samples."""
    mix = dist.mixture if isinstance(dist, RotatedMixture) else dist
    rng = np.random.default_rng(7)
    weights = np.exp(mix.log_weights[0].astype(np.float64))
    k = rng.choice(mix.loc.shape[1], size=n, p=weights / weights.sum())
    y = mix.loc[0, k] + np.exp(mix.log_scale[0, k]) * rng.standard_normal((n, mix.loc.shape[2]))
    if isinstance(dist, RotatedMixture):
        y = y @ dist.rotation.T
    return float(np.log(np.linalg.norm(y, axis=1)).mean())


def test_log_norm_of_a_mixture_with_a_wide_light_component_matches_monte_carlo() -> None:
    # The audit's failure: a light component 30x wider than the rest pooled into the moments
    # of ‖y‖² gave −30 where Monte Carlo gives about +0.3 (D = 64).
    dim = 64
    loc = np.zeros((1, 2, dim))
    loc[0, 0] = 0.1
    log_scale = np.log(np.stack([np.full(dim, 0.17), np.full(dim, 5.0)]))[None]
    mix = DiagMixture(np.log(np.array([[0.97, 0.03]])), loc, log_scale)
    assert mix.log_norm()[0] == pytest.approx(_monte_carlo_log_norm(mix), abs=0.01)


def test_log_norm_of_a_low_dimensional_offset_mixture_matches_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    loc = rng.normal(size=(1, 3, 2))
    log_scale = np.log(rng.uniform(0.2, 2.0, size=(1, 3, 2)))
    mix = DiagMixture(np.log(np.array([[0.5, 0.3, 0.2]])), loc, log_scale)
    # Not exact off the isotropic centred case: the gamma match is within a few hundredths here.
    assert mix.log_norm()[0] == pytest.approx(_monte_carlo_log_norm(mix), abs=0.05)


def _windows(arrays: list[np.ndarray], chunk: int) -> Windows:
    source = ArraySource(arrays, 10.0)
    items = np.arange(len(arrays))
    return lambda rng: iter_windows(source, items, context=3, max_offset=2, chunk_windows=chunk)


def test_streamed_ridge_equals_a_direct_least_squares_fit() -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal((50, 2)).cumsum(axis=0).astype(np.float32) for _ in range(6)]
    model = LinearGaussian((1, 2), ridge_grid=(1e-10,)).fit(_windows(arrays, 16))
    chunks = list(_windows(arrays, 10_000)(None))
    features = np.concatenate([c.context.reshape(c.size, -1) for c in chunks]).astype(float)
    design = np.hstack([features, np.ones((features.shape[0], 1))])
    context = np.concatenate([c.context for c in chunks])
    for h in range(2):
        y = np.concatenate([c.targets[h] for c in chunks]).astype(float)
        coef, *_ = np.linalg.lstsq(design, y, rcond=None)
        # The ridge works in step coordinates (float32 products): same fit, another basis.
        predicted = model.predict_one(context, h).mean()
        np.testing.assert_allclose(predicted, design @ coef, atol=2e-4)
        resid = y - design @ coef
        np.testing.assert_allclose(model.residual_cov_[h], resid.T @ resid / len(y), rtol=1e-4)


def test_step_features_are_the_last_frame_and_the_steps() -> None:
    from latentroom.analysis.predictors import step_features

    context = np.arange(12, dtype=np.float32).reshape(1, 3, 4) ** 2  # (B, L, D)
    expected = np.concatenate(
        [context[0, 2], context[0, 1] - context[0, 0], context[0, 2] - context[0, 1]]
    )
    np.testing.assert_array_equal(step_features(context)[0], expected)


def test_ridge_moments_keep_their_precision_on_drifting_latents() -> None:
    """Latents far from 0 that drift slowly: float32 products about a shift stay exact enough.

    Positions near 1e4 with unit steps: in raw float32 frame products the velocity direction is
    lost (1e8-sized products with 1e-7 relative error); the fit must still recover
    Δx_{t+1} = 0.5 Δx_t.
    """
    rng = np.random.default_rng(7)
    arrays = []
    for _ in range(6):
        v = np.zeros((400, 2))
        for t in range(1, 400):
            v[t] = 0.5 * v[t - 1] + rng.standard_normal(2)
        arrays.append((1e4 + v.cumsum(axis=0)).astype(np.float32))
    model = LinearGaussian((1,), ridge_grid=(1e-10,)).fit(_windows(arrays, 64))
    # coef_ rows: last frame (2), step x_{t-1} - x_{t-2} (2), step x_t - x_{t-1} (2)
    np.testing.assert_allclose(model.coef_[0][4:], 0.5 * np.eye(2), atol=0.05)
    np.testing.assert_allclose(model.coef_[0][:2], 0.0, atol=0.01)


def test_marginals_match_sample_moments_whatever_the_chunking() -> None:
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((40, 3)).cumsum(axis=0).astype(np.float32) for _ in range(5)]
    small = MarginalFull((1,)).fit(_windows(arrays, 7))
    large = MarginalFull((1,)).fit(_windows(arrays, 10_000))
    y = np.concatenate([c.targets[0] for c in _windows(arrays, 10_000)(None)]).astype(float)
    np.testing.assert_allclose(small.cov_[0], np.cov(y.T, bias=True), atol=1e-9)
    np.testing.assert_allclose(small.cov_, large.cov_, atol=1e-9)
    diag = MarginalDiag((1,)).fit(_windows(arrays, 7))
    np.testing.assert_allclose(diag.var_[0], y.var(axis=0), atol=1e-9)


def test_rollout_of_an_exact_model_has_no_gap_on_deterministic_data() -> None:
    # x_t = t * c: a linear model predicts every step exactly, so free running loses nothing.
    arrays = [np.outer(np.arange(30.0), [1.0, -2.0]).astype(np.float32) + i for i in range(4)]
    model = LinearGaussian((1,), ridge_grid=(1e-10,)).fit(_windows(arrays, 64))
    chunk = next(iter(_windows(arrays, 64)(None)))
    teacher, free = rollout_nll(model, chunk.context, chunk.targets, steps=2)
    np.testing.assert_allclose(teacher, free, atol=1e-3)


def test_a_dim_constant_on_train_gets_a_floored_variance_not_an_nll_blow_up() -> None:
    """Dim 1 never moves on train; on eval it moves by 0.1 (train dim 0 has unit variance).

    With the relative floor (1e-4 of the mean variance) its variance is 5e-5, so an eval step of
    0.1 costs 0.5 * 0.01 / 5e-5 = 100 nats more than a typical one, not the 1e8 an absolute 1e-12
    floor gave.
    """
    from latentroom.analysis.predictors import RELATIVE_VARIANCE_FLOOR, floor_variance

    rng = np.random.default_rng(0)
    train = []
    for _ in range(4):
        steps = np.stack([rng.standard_normal(200), np.zeros(200)], axis=1)
        train.append(steps.cumsum(axis=0).astype(np.float32))
    for model in (MarginalDiag((1,)), MarginalFull((1,)), LinearGaussian((1,))):
        model.fit(_windows(train, 64), _windows(train, 64))
        y = np.array([[0.0, 0.1]])
        nll = model.predict(np.zeros((1, 3, 2), dtype=np.float32))[0].nll(y)
        assert np.isfinite(nll).all() and nll[0] < 200, (model.name, nll)
    var = np.array([[2.0, 0.0, 0.0]])
    assert floor_variance(var)[0, 1] == pytest.approx(RELATIVE_VARIANCE_FLOOR * 2 / 3)


def test_mdn_stops_on_a_non_finite_loss_and_keeps_finite_weights() -> None:
    """A learning rate of 1e30 blows the weights up in the first epoch: training must stop."""
    from latentroom.analysis.mdn import MixtureDensityPredictor

    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((300, 3)).cumsum(axis=0).astype(np.float32) for _ in range(4)]
    model = MixtureDensityPredictor((1,), hidden=8, learning_rate=1e30, max_epochs=5)
    model.fit(_windows(arrays, 128), _windows(arrays, 128))
    assert model.diverged_
    assert len(model.history_) < 5 and not np.isfinite(model.history_[-1])
    context = np.stack([a[:3] for a in arrays])
    nll = model.predict(context)[0].nll(np.zeros((4, 3)))
    assert np.isfinite(nll).all()


def test_mdn_components_are_never_narrower_than_the_variance_floor() -> None:
    from latentroom.analysis.mdn import MixtureDensityPredictor

    rng = np.random.default_rng(5)
    arrays = []
    for _ in range(8):
        x = rng.standard_normal((60, 3)).cumsum(axis=0)
        x[:, 2] = 1.0  # a dim constant on train: Δx is 0 there, the MDN would collapse onto it
        arrays.append(x.astype(np.float32))
    train = _windows(arrays, 32)
    model = MixtureDensityPredictor((1,), n_components=2, hidden=16, max_epochs=2).fit(train)
    diag = MarginalDiag((1,)).fit(train)
    context = np.stack([arrays[0][:3], arrays[0][:3] + np.float32([0, 0, 4])])  # (2, L, D)
    dist = model.predict(context)[0]
    assert isinstance(dist, RotatedMixture)
    # Each component's variance along dim 2 of the original axes: Σ_j R_2j² s_kj².
    var = np.exp(2 * dist.mixture.log_scale.astype(np.float64)) @ dist.rotation[2] ** 2
    floor = diag.var_[0, 2]  # the marginal's floored variance of the constant dim
    assert var.min() >= floor * (1 - 1e-4)
    assert np.isfinite(dist.log_norm()).all()


def test_mdn_log_norm_matches_monte_carlo_on_a_student_t_ar1() -> None:
    """The audit's case: D = 64, heavy-tailed AR(1) velocity; log_magnitude_r2 came out −30.3.

    Whatever the fitted mixture is, its E log‖Δx‖ must be that of its own samples.
    """
    from latentroom.analysis.mdn import MixtureDensityPredictor

    rng = np.random.default_rng(8)
    dim, arrays = 64, []
    for _ in range(12):
        v = np.zeros((120, dim))
        noise = rng.standard_t(3, size=(120, dim)) * 0.6
        for t in range(1, 120):
            v[t] = 0.8 * v[t - 1] + noise[t]
        arrays.append(v.cumsum(axis=0).astype(np.float32))
    model = MixtureDensityPredictor((1,), hidden=32, max_epochs=2).fit(_windows(arrays, 256))
    context = np.stack([a[50:53] for a in arrays[:4]])
    dist = model.predict(context)[0]
    for b in range(4):
        one = dist.take(slice(b, b + 1))
        assert one.log_norm()[0] == pytest.approx(_monte_carlo_log_norm(one, 50_000), abs=0.01)
