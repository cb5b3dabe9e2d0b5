"""Phase 1: fit probabilistic predictors of Δx_{t+k} on train, score them on eval with CIs."""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.availability import flag_predictors
from latentroom.analysis.data import ItemSource, iter_windows
from latentroom.analysis.metrics import (
    COLUMNS,
    add_by_item,
    bootstrap_weights,
    headline,
    summarise,
    summarise_refits,
    window_stats,
)
from latentroom.analysis.predictors import LinearGaussian, MarginalDiag, MarginalFull, Windows
from latentroom.analysis.rollout import rollout_nll
from latentroom.analysis.settings import config_from_dict
from latentroom.analysis.splits import Prepared, prepare
from latentroom.devices import placement
from latentroom.errors import ConfigError
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.scaleout.passes import ScaleOut

logger = logging.getLogger(__name__)

PREDICTORS = ("marginal_diag", "marginal_full", "linear", "mdn", "sequence")
CI_METHODS = ("items", "refit")


@dataclass(frozen=True)
class PredictConfig:
    """Settings of a Phase 1 run (``latentroom analyze predict``)."""

    context: int = 8  # L, frames of context ending at x_t
    horizons: tuple[int, ...] = (1, 2, 4, 8)  # k: predict Δx_{t+k}
    predictors: tuple[str, ...] = PREDICTORS  # the two marginals always run (baselines)
    rollout_steps: int = 8  # R, steps of teacher-forced vs free-running rollout (0: none)
    n_components: int = 4  # K, mixture components of mdn / sequence
    hidden: int = 128  # hidden width of mdn / GRU state of sequence
    max_epochs: int = 10  # training passes for mdn / sequence (early stopping on validation)
    patience: int = 3  # epochs without validation gain before stopping
    max_windows_per_epoch: int = 50_000  # bounds training time on big corpora
    max_rollout_windows: int = 5_000  # eval windows (evenly spaced) used for rollouts
    max_per_dim_windows: int = 200_000  # eval windows (evenly spaced) behind ig_per_dim
    n_boot: int = 1000  # bootstrap resamples of eval items for the 95 % intervals
    ci: str = "items"  # "items": resample eval items; "refit": also refit on resampled train items
    n_refits: int = 20  # refits on bootstrap resamples of the train items (ci = "refit")
    chunk_windows: int = 4096  # windows per streamed chunk (memory ~ chunk * (L + M) * D * 4 B)
    group_regex: str | None = None  # group-disjoint split (e.g. speaker ids); None: by item
    drop_nonfinite: bool = False  # drop windows touching NaN/Inf frames instead of refusing
    seed: int = 0  # split, training, bootstrap

    def __post_init__(self) -> None:
        if self.context < 1:
            raise ConfigError(f"context must be >= 1 frame; got {self.context}")
        if not self.horizons or min(self.horizons) < 1:
            raise ConfigError(f"horizons must be positive integers; got {list(self.horizons)}")
        unknown = sorted(set(self.predictors) - set(PREDICTORS))
        if unknown:
            raise ConfigError(f"unknown predictors {unknown}; choose from {list(PREDICTORS)}")
        if self.rollout_steps < 0 or self.n_boot < 1 or self.chunk_windows < 1:
            raise ConfigError("rollout_steps must be >= 0, n_boot and chunk_windows >= 1")
        if self.ci not in CI_METHODS:
            raise ConfigError(f"ci must be one of {list(CI_METHODS)}; got {self.ci!r}")
        if self.ci == "refit" and self.n_refits < 2:
            raise ConfigError(f"n_refits must be >= 2 for ci 'refit'; got {self.n_refits}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> PredictConfig:
        """Build from a dict, rejecting unknown keys."""
        return config_from_dict(cls, values, "Phase 1 settings")

    @property
    def max_offset(self) -> int:
        """M: target offsets each window needs (largest horizon or rollout length)."""
        return max(max(self.horizons), self.rollout_steps)


def split_streams(
    prepared: Prepared, config: PredictConfig, *, with_context: bool = True
) -> tuple[Windows, Windows, Windows]:
    """Train, validation and eval window streams."""

    def stream(items: np.ndarray) -> Windows:
        return lambda rng: iter_windows(
            prepared.source,
            items,
            context=config.context,
            max_offset=config.max_offset,
            chunk_windows=config.chunk_windows,
            rng=rng,
            with_context=with_context,
        )

    split = prepared.split
    return stream(split.train), stream(split.val), stream(split.eval)


def _build(name: str, config: PredictConfig, device: str) -> Any:
    if name == "linear":
        return LinearGaussian(config.horizons, random_state=config.seed)
    from latentroom.analysis.mdn import MixtureDensityPredictor

    return MixtureDensityPredictor(
        config.horizons,
        kind="mlp" if name == "mdn" else "gru",
        n_components=config.n_components,
        hidden=config.hidden,
        max_epochs=config.max_epochs,
        patience=config.patience,
        max_windows_per_epoch=config.max_windows_per_epoch,
        random_state=config.seed,
        device=device,
    )


def fit_predictors(
    prepared: Prepared,
    config: PredictConfig,
    progress: Progress | None = None,
    seconds: dict[str, float] | None = None,
    *,
    device: str = "cpu",
    passes: ScaleOut | None = None,
) -> dict[str, Any]:
    """Fit the two marginals and every requested predictor on train (validation for selection).

    Both marginals come from one pass over the train targets (no contexts are gathered).
    ``seconds``, when given, receives the wall time of each fit ("marginals", "linear", ...).
    ``mdn`` and ``sequence`` train on ``device``; the marginals and the ridge run in NumPy, their
    passes on the workers of ``passes`` when given (``latentroom.scaleout``).
    """
    train, val, _ = split_streams(prepared, config)
    targets, _, _ = split_streams(prepared, config, with_context=False)
    times = seconds if seconds is not None else {}
    start = time.perf_counter()
    if passes is None:
        full = MarginalFull(config.horizons).fit(targets)
    else:
        full = MarginalFull(config.horizons).fit_sums(*passes.target_sums(prepared, config))
    fitted: dict[str, Any] = {"marginal_diag": MarginalDiag.from_full(full), "marginal_full": full}
    times["marginals"] = time.perf_counter() - start
    logger.info("marginal_diag and marginal_full fitted in %.1f s", times["marginals"])
    if progress is not None:
        progress(2)
    for name in [n for n in config.predictors if not n.startswith("marginal")]:
        start = time.perf_counter()
        model = _build(name, config, device)
        if passes is not None and isinstance(model, LinearGaussian):
            fitted[name] = model.fit_moments(*passes.ridge_moments(prepared, config, model))
        else:
            fitted[name] = model.fit(train, val)
        times[name] = time.perf_counter() - start
        logger.info("%s fitted in %.1f s", name, times[name])
        if progress is not None:
            progress(1)
    return fitted


def evaluate(
    prepared: Prepared,
    config: PredictConfig,
    fitted: dict[str, Any],
    *,
    sums_only: bool = False,
    items: np.ndarray | None = None,
    first: int = 0,
    stop: int | None = None,
) -> dict[str, np.ndarray]:
    """One pass over eval: per-item metric sums, per-dim NLL sums and rollout sums.

    ``sums_only`` skips the per-dim NLLs and the rollouts (refits need only the sums).
    ``items`` (consecutive eval items) with the window range ``first:stop`` of their stream
    score a part of eval; the parts' results add up to the whole (``latentroom.scaleout``) when
    every part starts on a chunk boundary, where rollout windows are picked from.
    """
    eval_items = prepared.split.eval
    row_of = {int(item): j for j, item in enumerate(eval_items)}
    n_items, n_h, n_d = eval_items.size, len(config.horizons), prepared.scan.latent_dim
    names = list(fitted)
    sums = np.zeros((n_items, len(names), n_h, len(COLUMNS)))
    per_dim = np.zeros((len(names), n_h, n_d))
    n_per_dim = 0
    steps = config.rollout_steps if 1 in config.horizons and not sums_only else 0
    rolled = [n for n in names if not n.startswith("marginal")]
    roll = np.zeros((n_items, len(rolled), max(steps, 1), 3))
    stride = _eval_stride(prepared, config, config.max_rollout_windows)
    # Per-dim NLLs of a mixture in principal axes cost 2·K·D² per window (the joint NLL D²):
    # on large corpora they come from an evenly spaced subset of the eval windows.
    dim_stride = _eval_stride(prepared, config, config.max_per_dim_windows)
    dim_pick = slice(0, 0) if sums_only else slice(None, None, dim_stride)
    diag, full = fitted["marginal_diag"], fitted["marginal_full"]
    chunks = iter_windows(
        prepared.source,
        eval_items if items is None else items,
        context=config.context,
        max_offset=config.max_offset,
        chunk_windows=config.chunk_windows,
        first=first,
        stop=stop,
    )
    for chunk in chunks:
        rows = np.array([row_of[int(i)] for i in chunk.item])
        ys = chunk.targets[[k - 1 for k in config.horizons]]
        picked = ys[:, dim_pick]
        n_per_dim += picked.shape[1]
        # The two baselines first: every predictor's stats need their NLLs.
        marginals = diag.predict(chunk.context)
        base = [d.nll(y) for d, y in zip(marginals, ys, strict=True)]
        base_dim = [d.take(dim_pick).nll_per_dim(y) for d, y in zip(marginals, picked, strict=True)]
        ref = [d.nll(y) for d, y in zip(full.predict(chunk.context), ys, strict=True)]
        known = {"marginal_diag": base, "marginal_full": ref}
        for p, name in enumerate(names):
            for h, dist in enumerate(fitted[name].predict(chunk.context)):
                nll = known[name][h] if name in known else dist.nll(ys[h])
                stats = window_stats(dist, ys[h], base[h], ref[h], diag.mean_[h], nll)
                add_by_item(sums[:, p, h], rows, stats)
                nll_dim = dist.take(dim_pick).nll_per_dim(picked[h])
                per_dim[p, h] += (base_dim[h] - nll_dim).sum(axis=0, dtype=np.float64)
        pick = slice(None, None, stride)
        for q, name in enumerate(rolled if steps else []):
            head = config.horizons.index(1)
            teacher, free = rollout_nll(
                fitted[name], chunk.context[pick], chunk.targets[:, pick], steps=steps, head=head
            )
            terms = np.stack([np.ones_like(teacher), teacher, free], axis=-1).transpose(1, 0, 2)
            add_by_item(roll[:, q], rows[pick], terms)
    return {
        "sums": sums,
        "per_dim": per_dim,
        "n_per_dim": np.array(n_per_dim),
        "roll": roll,
        "rolled": np.array(rolled),
    }


def _eval_stride(prepared: Prepared, config: PredictConfig, budget: int) -> int:
    """The stride that keeps about ``budget`` evenly spaced eval windows."""
    lengths = prepared.scan.lengths[prepared.split.eval]
    n_windows = int(np.maximum(lengths - config.context - config.max_offset + 1, 0).sum())
    return max(1, -(-n_windows // budget))


def refit_sums(prepared: Prepared, config: PredictConfig, *, device: str = "cpu") -> np.ndarray:
    """Eval sums of ``config.n_refits`` refits, ``(n_refits, n_items, P, H, C)``.

    Refit b fits every predictor on a bootstrap resample of the train items (drawn with
    replacement, as many as there are; validation unchanged) with seed ``seed + 1 + b``, and
    scores it on the whole eval split. Costs ``n_refits`` times the fits and the eval pass.
    """
    out = []
    for b in range(config.n_refits):
        rng = np.random.default_rng([config.seed, b])
        train = rng.choice(prepared.split.train, size=prepared.split.train.size, replace=True)
        split = dataclasses.replace(prepared.split, train=np.sort(train))
        resampled = dataclasses.replace(prepared, split=split)
        refit_config = dataclasses.replace(config, seed=config.seed + 1 + b)
        fitted = fit_predictors(resampled, refit_config, device=device)
        out.append(evaluate(resampled, refit_config, fitted, sums_only=True)["sums"])
        logger.info("refit %d of %d done", b + 1, config.n_refits)
    return np.stack(out)


def summarise_phase1(
    prepared: Prepared,
    config: PredictConfig,
    fitted: dict[str, Any],
    raw: dict[str, np.ndarray],
    refits: np.ndarray | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``phase1`` section (headline numbers with CIs) and ``phase1_info`` (details).

    With ``refits`` (from ``refit_sums``) the intervals also carry the fitting error and each
    cell gets ``refit_bias`` (see ``summarise_refits``).
    """
    rng = np.random.default_rng(config.seed)
    weights = bootstrap_weights(prepared.split.eval.size, n_boot=config.n_boot, rng=rng)
    n_d, rate = prepared.scan.latent_dim, float(prepared.source.frame_rate)
    names = list(fitted)
    phase1: dict[str, Any] = {}

    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        return headline(s, latent_dim=n_d, frame_rate=rate)

    for p, name in enumerate(names):
        phase1[name] = {}
        for h, k in enumerate(config.horizons):
            item_sums = raw["sums"][:, p, h]
            phase1[name][str(k)] = (
                summarise(item_sums, weights, metric)
                if refits is None
                else summarise_refits(item_sums, weights, refits[:, :, p, h], metric)
            )
    n_eval = max(int(raw["n_per_dim"]), 1)
    info: dict[str, Any] = {
        "settings": asdict(config),
        "ig_per_dim": {
            name: {
                str(k): (raw["per_dim"][p, h] / n_eval).tolist()
                for h, k in enumerate(config.horizons)
            }
            for p, name in enumerate(names)
        },
        "delta_pca_spectrum": _spectrum(fitted["marginal_full"].cov_[0]),
        "rollout": _rollouts(raw, weights),
        "ridge": fitted["linear"].ridge_.tolist() if "linear" in fitted else None,
        "epochs": {n: len(m.history_) for n, m in fitted.items() if hasattr(m, "history_")},
        "diverged": [n for n, m in fitted.items() if getattr(m, "diverged_", False)],
    }
    info["flagged"] = flag_predictors(phase1, info["diverged"], n_d)
    return phase1, info


def _spectrum(cov: np.ndarray) -> list[float]:
    """Explained-variance ratios of Δx's principal components, largest first."""
    eig = np.clip(np.linalg.eigvalsh(cov)[::-1], 0.0, None)
    return (eig / max(eig.sum(), 1e-300)).tolist()


def _rollouts(raw: dict[str, np.ndarray], weights: np.ndarray) -> dict[str, Any]:
    def metric(s: np.ndarray) -> dict[str, np.ndarray]:
        n = np.maximum(s[..., 0], 1)
        teacher, free = s[..., 1] / n, s[..., 2] / n
        return {"teacher_forced_nll": teacher, "free_running_nll": free, "gap": free - teacher}

    return {
        str(name): summarise(raw["roll"][:, q], weights, metric)
        for q, name in enumerate(raw["rolled"])
        if raw["roll"][:, q, :, 0].sum() > 0
    }


def run_phase1(
    source: ItemSource,
    config: PredictConfig,
    progress: Progress | None = None,
    *,
    device: str = "cpu",
    passes: ScaleOut | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Prepared]:
    """Prepare, fit, evaluate and summarise; returns (phase1, phase1_info, prepared).

    ``phase1_info["seconds"]`` holds the wall time of each stage, ``phase1_info["placement"]``
    the device the networks trained on. ``passes`` runs the chunk passes (input scan, marginal
    and ridge sums, evaluation) on a cluster's workers (``latentroom.scaleout``).
    """
    where = placement(device, "float32")
    start = time.perf_counter()
    options: dict[str, Any] = {
        "min_length": config.context + config.max_offset,
        "group_regex": config.group_regex,
        "drop_nonfinite": config.drop_nonfinite,
        "seed": config.seed,
    }
    if passes is None:
        prepared = prepare(source, **options)
    else:
        prepared = passes.prepare(source, context=config.context, **options)
    seconds = {"prepare": time.perf_counter() - start}
    fitted = fit_predictors(prepared, config, progress, seconds, device=where.device, passes=passes)
    start = time.perf_counter()
    raw = (
        evaluate(prepared, config, fitted)
        if passes is None
        else passes.evaluate(prepared, config, fitted)
    )
    seconds["eval"] = time.perf_counter() - start
    logger.info("eval scored in %.1f s", seconds["eval"])
    if progress is not None:
        progress(1)
    refits = None
    if config.ci == "refit":
        start = time.perf_counter()
        refits = refit_sums(prepared, config, device=where.device)
        seconds["refits"] = time.perf_counter() - start
    phase1, info = summarise_phase1(prepared, config, fitted, raw, refits)
    info["seconds"] = seconds
    info["placement"] = where.describe()
    return phase1, info, prepared
