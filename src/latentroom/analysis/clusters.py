"""Phase 0: does a coarse key of the context cluster Δx? Within-cluster variance ratio on eval.

For each key (mean-pool or per-frame PCA, then k-means VQ) and each lag, k-means centroids,
cluster means of Δx and the global mean are fit on train; on eval the variance ratio is
``Σ_c Σ_{t∈c} ‖Δx_t − μ_c‖² / Σ_t ‖Δx_t − μ‖²`` (1 = the key explains nothing). Memory is
bounded: k-means on a sample of whole items, PCA from a streamed covariance, sums chunk by chunk.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.data import ItemSource
from latentroom.analysis.keys import (
    FrameMoments,
    FrameProjector,
    KeyChunk,
    KeySpec,
    iter_key_chunks,
    parse_key,
)
from latentroom.analysis.metrics import bootstrap_weights, summarise
from latentroom.analysis.settings import config_from_dict
from latentroom.analysis.splits import Prepared, prepare
from latentroom.errors import ConfigError
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.scaleout.passes import ScaleOut

logger = logging.getLogger(__name__)

SLICES = ("all", "high_energy", "item_medial")

#: Passes of mini-batch k-means over its sample. Without real clusters (the usual case for
#: latents) the inertia never settles and sklearn's default (100) would run them all.
KMEANS_EPOCHS = 10
#: Bounds of the automatic minimum cluster size (see ``auto_min_cluster_size``).
MIN_CLUSTER_SIZE_RANGE = (5, 100)
#: Share of eval windows set aside above which a key's entry carries a warning.
SET_ASIDE_WARNING = 0.5


@dataclass(frozen=True)
class ClusterConfig:
    """Settings of a Phase 0 run (``latentroom analyze clusters``)."""

    context: int = 8  # L, frames before the target
    keys: tuple[str, ...] = ("mean-vq64", "pca8-vq256")  # key specs, see keys.parse_key
    lags: tuple[int, ...] = (1, 2, 4)  # frames between the context's end and the target
    min_cluster_size: int | None = None  # train windows a cluster needs (None: auto, per key)
    kmeans_windows: int = 100_000  # train windows (whole random items) k-means is fit on
    chunk_windows: int = 16384  # windows per streamed chunk (also the k-means batch)
    n_boot: int = 1000  # bootstrap resamples of eval items for the 95 % intervals
    group_regex: str | None = None  # group-disjoint split + cross-group degradation
    drop_nonfinite: bool = False  # drop windows touching NaN/Inf frames instead of refusing
    seed: int = 0  # split, k-means, random baseline, bootstrap

    def __post_init__(self) -> None:
        if self.context < 1 or not self.lags or min(self.lags) < 1:
            raise ConfigError(
                f"context and lags must be positive; got context={self.context}, lags={self.lags}"
            )
        if not self.keys:
            raise ConfigError("give at least one key, e.g. mean-vq64")
        for key in self.keys:
            parse_key(key)
        if (self.min_cluster_size or 1) < 1 or self.kmeans_windows < 1 or self.n_boot < 1:
            raise ConfigError("min_cluster_size, kmeans_windows and n_boot must be >= 1")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ClusterConfig:
        """Build from a dict, rejecting unknown keys."""
        return config_from_dict(cls, values, "Phase 0 settings")


@dataclass
class _Fit:
    """Train-side state of one run: k-means models, cluster means (real and shuffled labels)."""

    specs: list[KeySpec]
    projector: FrameProjector | None
    kmeans: dict[str, Any]
    counts: dict[str, np.ndarray]  # [shape=(K,)] train windows per cluster
    min_size: dict[str, int]  # the minimum cluster size used per key
    means: dict[str, np.ndarray]  # [shape=(n_lags, K, D)]
    random_means: dict[str, np.ndarray]  # [shape=(n_lags, K, D)]
    global_mean: np.ndarray  # [shape=(n_lags, D)]
    energy_median: np.ndarray  # [shape=(n_lags,)]


def _chunks(
    prepared: Prepared, config: ClusterConfig, fit: _Fit, items: np.ndarray, *, keys: bool = True
) -> Any:
    return iter_key_chunks(
        prepared.source,
        items,
        fit.specs if keys else [],
        fit.projector,
        context=config.context,
        lags=config.lags,
        chunk_windows=config.chunk_windows,
    )


def _fit_kmeans(prepared: Prepared, config: ClusterConfig, fit: _Fit) -> None:
    """Mini-batch k-means on the keys of a sample of random whole train items.

    The sample (about ``kmeans_windows`` windows) is held in memory and fit for at most
    ``KMEANS_EPOCHS`` passes, so its cost is bounded whatever the corpus size; every train
    window is labelled afterwards.
    """
    from sklearn.cluster import MiniBatchKMeans

    rng = np.random.default_rng(config.seed)
    order = rng.permutation(prepared.split.train)
    windows = np.maximum(prepared.scan.lengths[order] - config.context - max(config.lags) + 1, 0)
    n_items = int(np.searchsorted(np.cumsum(windows), config.kmeans_windows) + 1)
    chunks = list(_chunks(prepared, config, fit, order[:n_items]))
    for spec in fit.specs:
        sample = np.concatenate([c.keys[spec.name] for c in chunks])
        if sample.shape[0] < spec.n_clusters:
            raise ConfigError(
                f"key {spec.name} needs at least {spec.n_clusters} train windows, got "
                f"{sample.shape[0]}; use fewer clusters or more data"
            )
        fit.kmeans[spec.name] = MiniBatchKMeans(
            n_clusters=spec.n_clusters,
            batch_size=4096,
            max_iter=KMEANS_EPOCHS,
            init_size=min(sample.shape[0], max(2048, 8 * spec.n_clusters)),  # k-means++ cost
            n_init=1,
            random_state=config.seed,
        ).fit(sample)


@dataclass
class LabelSums:
    """What the labelling pass over some train items gives (see ``_fit_means``).

    ``labels`` and ``energies`` hold one entry per window, in stream order; the rest are sums.
    """

    labels: dict[str, list[np.ndarray]]
    sums: dict[str, Any]
    total: Any
    n: int
    energies: list[np.ndarray]

    def merge(self, other: LabelSums) -> LabelSums:
        """Append ``other``, the pass over the items that follow these in the stream."""
        for name in self.labels:
            self.labels[name].extend(other.labels[name])
            self.sums[name] = self.sums[name] + other.sums[name]
        self.total = self.total + other.total
        self.n += other.n
        self.energies.extend(other.energies)
        return self


def label_pass(
    prepared: Prepared, config: ClusterConfig, fit: _Fit, items: np.ndarray
) -> LabelSums:
    """Labels, cluster sums of Δx, Δx sums and target energies of the windows of ``items``."""
    out = LabelSums({s.name: [] for s in fit.specs}, {s.name: 0.0 for s in fit.specs}, 0.0, 0, [])
    for chunk in _chunks(prepared, config, fit, items):
        for spec in fit.specs:
            lab = fit.kmeans[spec.name].predict(chunk.keys[spec.name]).astype(np.int32)
            out.labels[spec.name].append(lab)
            out.sums[spec.name] = out.sums[spec.name] + _cluster_sums(chunk, lab, spec.n_clusters)
        out.total = out.total + chunk.targets.sum(axis=1, dtype=np.float64)
        out.n += chunk.item.size
        out.energies.append(chunk.energy)
    return out


def shuffled_pass(
    prepared: Prepared,
    config: ClusterConfig,
    fit: _Fit,
    items: np.ndarray,
    shuffled: dict[str, np.ndarray],
) -> dict[str, Any]:
    """Cluster sums of Δx under ``shuffled`` labels (one per window of ``items``, in order)."""
    sums: dict[str, Any] = {s.name: 0.0 for s in fit.specs}
    start = 0
    for chunk in _chunks(prepared, config, fit, items, keys=False):
        stop = start + chunk.item.size
        for spec in fit.specs:
            lab = shuffled[spec.name][start:stop]
            sums[spec.name] = sums[spec.name] + _cluster_sums(chunk, lab, spec.n_clusters)
        start = stop
    return sums


def _fit_means(
    prepared: Prepared, config: ClusterConfig, fit: _Fit, passes: ScaleOut | None = None
) -> None:
    """Train pass: labels, cluster sums of Δx; then a second pass with shuffled labels.

    With ``passes`` (``latentroom.scaleout``) both passes run on a cluster's workers.
    """
    train = prepared.split.train
    if passes is None:
        found = label_pass(prepared, config, fit, train)
    else:
        found = passes.label_pass(prepared, config, fit)
    fit.global_mean = np.asarray(found.total) / found.n
    fit.energy_median = np.median(np.concatenate(found.energies, axis=1), axis=1)
    rng = np.random.default_rng(config.seed + 1)
    shuffled = {}
    for spec in fit.specs:
        lab = np.concatenate(found.labels[spec.name])
        fit.counts[spec.name] = np.bincount(lab, minlength=spec.n_clusters)
        fit.min_size[spec.name] = config.min_cluster_size or auto_min_cluster_size(
            lab.size, spec.n_clusters
        )
        fit.means[spec.name] = _divide(found.sums[spec.name], fit.counts[spec.name])
        shuffled[spec.name] = rng.permutation(lab)
    if passes is None:
        random_sums = shuffled_pass(prepared, config, fit, train, shuffled)
    else:
        random_sums = passes.shuffled_pass(prepared, config, fit, shuffled)
    for spec in fit.specs:
        fit.random_means[spec.name] = _divide(random_sums[spec.name], fit.counts[spec.name])


def auto_min_cluster_size(n_train_windows: int, n_clusters: int) -> int:
    """The minimum cluster size when none is given: a quarter of the mean cluster's train windows.

    Clamped to ``MIN_CLUSTER_SIZE_RANGE`` (5 … 100): 100 (the seeds' setting) from 400 train
    windows per cluster on; on small corpora a fixed 100 set every eval window aside (19 real
    files gave 1,628 of 1,628 set aside and a variance ratio printed as 0).
    """
    low, high = MIN_CLUSTER_SIZE_RANGE
    return int(np.clip(n_train_windows // (4 * n_clusters), low, high))


def _cluster_sums(chunk: KeyChunk, labels: np.ndarray, n_clusters: int) -> np.ndarray:
    """Σ Δx per cluster and lag, ``(n_lags, K, D)``, as a sparse one-hot product."""
    from scipy.sparse import csr_matrix

    n_windows = labels.size
    onehot = csr_matrix(
        (np.ones(n_windows, dtype=np.float32), (labels, np.arange(n_windows))),
        shape=(n_clusters, n_windows),
    )
    return np.stack([onehot @ target for target in chunk.targets]).astype(np.float64)


def _divide(sums: Any, counts: np.ndarray) -> np.ndarray:
    return np.asarray(sums) / np.maximum(counts, 1)[None, :, None]


def _score(
    prepared: Prepared,
    config: ClusterConfig,
    fit: _Fit,
    items: np.ndarray,
    rng: np.random.Generator | None = None,
) -> dict[str, np.ndarray]:
    """Per-item sums ``(n_items, n_lags, n_slices, 6)`` per key on ``items``.

    Columns: within-cluster SS (kept windows), total SS (kept), shuffled-label SS (all),
    total SS (all), kept windows, all windows. ``rng`` draws the random baseline's labels
    (default: seeded from ``config.seed``; ``latentroom.scaleout`` hands a worker the stream
    advanced to its first chunk).
    """
    row_of = {int(item): j for j, item in enumerate(items)}
    rng = rng if rng is not None else np.random.default_rng(config.seed + 2)
    out = {s.name: np.zeros((items.size, len(config.lags), len(SLICES), 6)) for s in fit.specs}
    for chunk in _chunks(prepared, config, fit, items):
        rows = np.array([row_of[int(i)] for i in chunk.item])
        masks = np.stack(
            [np.ones_like(chunk.medial), chunk.energy > fit.energy_median[:, None], chunk.medial],
            axis=1,
        )
        total = ((chunk.targets - fit.global_mean[:, None]) ** 2).sum(axis=2)  # (n_lags, B)
        for spec in fit.specs:
            counts = fit.counts[spec.name]
            big = counts >= fit.min_size[spec.name]
            lab = fit.kmeans[spec.name].predict(chunk.keys[spec.name])
            kept = big[lab]
            means = fit.means[spec.name].astype(np.float32)
            within = ((chunk.targets - means[:, lab]) ** 2).sum(axis=2)
            sizes = np.where(big, counts, 0) / max(counts[big].sum(), 1)
            fake = rng.choice(counts.size, size=lab.size, p=sizes) if big.any() else lab
            random_means = fit.random_means[spec.name].astype(np.float32)
            shuffled = ((chunk.targets - random_means[:, fake]) ** 2).sum(axis=2)
            terms = np.stack(
                [
                    within * kept,
                    total * kept,
                    shuffled,
                    total,
                    kept + 0.0 * total,
                    np.ones_like(total),
                ],
                axis=-1,
            )
            weighted = masks[..., None] * terms[:, None]  # (n_lags, n_slices, B, 6)
            np.add.at(out[spec.name], rows, weighted.transpose(2, 0, 1, 3))
    return out


def variance_ratios(s: np.ndarray) -> dict[str, np.ndarray]:
    """Variance ratio and random baseline from the six sums; NaN where no window is kept."""
    return {
        "variance_ratio": _ratio(s[..., 0], s[..., 1]),
        "random_baseline": _ratio(s[..., 2], s[..., 3]),
    }


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den, np.nan)


def mark_unavailable(cell: dict[str, Any], sums: np.ndarray, min_size: int) -> dict[str, Any]:
    """Say in ``cell`` why its ratios are missing, and warn when most windows were set aside.

    ``sums`` are the cell's six per-item sums ``(n_items, 6)`` (see ``_score``). A ratio with
    no window behind it is None with a reason, never 0.
    """
    kept, total = float(sums[:, 4].sum()), float(sums[:, 5].sum())
    reasons: dict[str, str] = {}
    if total == 0:
        reasons = dict.fromkeys(("variance_ratio", "random_baseline"), "no eval windows")
    elif kept == 0:
        reasons["variance_ratio"] = (
            f"all {total:.0f} eval windows fell in clusters below the minimum size "
            f"({min_size} train windows) and were set aside; lower --min-cluster-size or use "
            "a key with fewer clusters"
        )
    elif kept < SET_ASIDE_WARNING * total:
        cell["warning"] = (
            f"{1 - kept / total:.0%} of {total:.0f} eval windows were set aside (clusters below "
            f"{min_size} train windows): the ratio rests on the rest"
        )
    if reasons:
        cell["unavailable"] = reasons
    return cell


def _key_section(
    config: ClusterConfig, fit: _Fit, spec: KeySpec, sums: np.ndarray, weights: np.ndarray
) -> dict[str, Any]:
    """One key's entry: headline (first lag, all frames), every lag and slice, cluster counts."""
    lags: dict[str, Any] = {}
    min_size = fit.min_size[spec.name]
    for j, lag in enumerate(config.lags):
        lags[str(lag)] = {
            name: mark_unavailable(
                {
                    **summarise(sums[:, j, s], weights, variance_ratios),
                    "n_frames": int(sums[:, j, s, 5].sum()),
                },
                sums[:, j, s],
                min_size,
            )
            for s, name in enumerate(SLICES)
        }
    head = lags[str(config.lags[0])]["all"]
    counts = fit.counts[spec.name]
    extra = {k: head[k] for k in ("unavailable", "warning", "ci95_undefined_share") if k in head}
    return {
        "variance_ratio": head["variance_ratio"],
        "random_baseline": head["random_baseline"],
        "ci95": head["ci95"],
        **extra,
        "n_clusters": spec.n_clusters,
        "min_cluster_size": min_size,
        "n_small_clusters": int((counts < min_size).sum()),
        "n_eval_set_aside": int(sums[:, 0, 0, 5].sum() - sums[:, 0, 0, 4].sum()),
        "lags": lags,
    }


def _degradation(
    config: ClusterConfig,
    seen: np.ndarray,
    seen_weights: np.ndarray,
    unseen: np.ndarray,
    unseen_weights: np.ndarray,
) -> dict[str, Any]:
    """Variance ratio on unseen-group (eval) minus seen-group (validation) items, per lag.

    The 95 % interval resamples the two item sets independently (each bootstrap draw pairs one
    resample of each), as the headline intervals resample eval items.
    """

    def ratio(sums: np.ndarray) -> np.ndarray:
        return variance_ratios(sums)["variance_ratio"][..., 0]  # slice "all": (..., n_lags)

    point = ratio(unseen.sum(axis=0)) - ratio(seen.sum(axis=0))
    draws = ratio(np.tensordot(unseen_weights, unseen, axes=(1, 0))) - ratio(
        np.tensordot(seen_weights, seen, axes=(1, 0))
    )
    low, high = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    lags = [str(lag) for lag in config.lags]
    return {
        "cross_group_degradation": {lag: float(point[j]) for j, lag in enumerate(lags)},
        "cross_group_degradation_ci95": {
            lag: [float(low[j]), float(high[j])] for j, lag in enumerate(lags)
        },
    }


def run_phase0(
    source: ItemSource,
    config: ClusterConfig,
    progress: Progress | None = None,
    *,
    passes: ScaleOut | None = None,
) -> tuple[dict[str, Any], dict[str, Any], Prepared]:
    """Prepare, fit on train, score on eval; returns (phase0, phase0_info, prepared).

    ``passes`` runs the chunk passes (input scan with the PCA statistics, labelling, cluster
    sums, eval sums) on a cluster's workers (``latentroom.scaleout``); k-means is fit here, on
    its bounded sample.
    """
    specs = [parse_key(k) for k in config.keys]
    n_pca = max((s.pca_dims or 0) for s in specs)
    moments = FrameMoments()
    options: dict[str, Any] = {
        "min_length": config.context + max(config.lags),
        "group_regex": config.group_regex,
        "drop_nonfinite": config.drop_nonfinite,
        "seed": config.seed,
    }
    if passes is None:
        # PCA statistics in the checking pass
        prepared = prepare(source, visit_train=moments.add if n_pca else None, **options)
    else:
        prepared = passes.prepare(
            source, context=config.context, frame_moments=moments if n_pca else None, **options
        )
    projector = moments.projector(n_pca) if n_pca else None
    fit = _Fit(specs, projector, {}, {}, {}, {}, {}, np.zeros(0), np.zeros(0))
    _fit_kmeans(prepared, config, fit)
    _fit_means(prepared, config, fit, passes)
    if progress is not None:
        progress(1)

    def score(items: np.ndarray) -> dict[str, np.ndarray]:
        if passes is None:
            return _score(prepared, config, fit, items)
        return passes.score(prepared, config, fit, items)

    scores = score(prepared.split.eval)
    weights = bootstrap_weights(
        prepared.split.eval.size, n_boot=config.n_boot, rng=np.random.default_rng(config.seed)
    )
    phase0 = {s.name: _key_section(config, fit, s, scores[s.name], weights) for s in specs}
    if prepared.split.by_group and prepared.split.val.size:
        seen = score(prepared.split.val)
        val_weights = bootstrap_weights(
            prepared.split.val.size,
            n_boot=config.n_boot,
            rng=np.random.default_rng(config.seed + 3),
        )
        for spec in specs:
            phase0[spec.name].update(
                _degradation(config, seen[spec.name], val_weights, scores[spec.name], weights)
            )
    if progress is not None:
        progress(1)
    info = {"settings": asdict(config), "energy_median": fit.energy_median.tolist()}
    return phase0, info, prepared
