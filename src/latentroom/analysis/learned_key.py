"""A learned context key: k-means on the hidden state of the Phase 1 sequence model.

Phase 0's keys (mean-pool, PCA) are fixed compressions of the context; if they discard what the
next step depends on (order, phase, direction), clustering them explains nothing even when the
dynamics are predictable (the seeds' "wrong key" challenge). The sequence model is trained to
predict the distribution of Δx, so its hidden state groups contexts by their predicted
next-step distributions; quantised by k-means (K centroids) it is a key whose within-cluster
variance ratio is measured exactly like Phase 0's, on the same split, beside a mean-pool key
with the same K on the same windows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from latentroom.analysis.clusters import auto_min_cluster_size, mark_unavailable, variance_ratios
from latentroom.analysis.data import ItemSource, WindowChunk, iter_windows
from latentroom.analysis.metrics import bootstrap_weights, summarise
from latentroom.analysis.predict import PredictConfig, split_streams
from latentroom.analysis.settings import config_from_dict
from latentroom.analysis.splits import Prepared, prepare
from latentroom.errors import ConfigError

logger = logging.getLogger(__name__)

#: Maps contexts ``(B, L, D)`` to key vectors ``(B, F)``.
KeyFunction = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class LearnedKeyConfig:
    """Settings of the learned-key variance ratio."""

    n_clusters: int = 64  # K, k-means centroids (as mean-vq64)
    lag: int = 1  # target Δx_{e+lag}, as Phase 0's first lag
    min_cluster_size: int | None = None  # train windows a cluster needs (None: auto, as Phase 0)
    n_passes: int = 2  # mini-batch k-means passes over the train windows
    n_boot: int = 1000  # bootstrap resamples of eval items
    chunk_windows: int = 8192  # windows per streamed chunk (also the k-means batch)
    learning_rate: float = 1e-3  # Adam step of the sequence model run_learned_key trains
    batch_size: int = 256  # its mini-batch size
    seed: int = 0  # k-means, random baseline, bootstrap

    def __post_init__(self) -> None:
        if self.n_clusters < 2 or self.lag < 1:
            raise ConfigError(
                f"learned key needs n_clusters >= 2 and lag >= 1; got {self.n_clusters}, {self.lag}"
            )
        counts = (self.min_cluster_size or 1, self.n_passes, self.n_boot, self.chunk_windows)
        if min(*counts, self.batch_size) < 1 or not self.learning_rate > 0:
            raise ConfigError(
                "min_cluster_size, n_passes, n_boot, chunk_windows, batch_size must be >= 1 "
                f"and learning_rate > 0; got {asdict(self)}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> LearnedKeyConfig:
        """Build from a dict, rejecting unknown keys."""
        return config_from_dict(cls, values, "learned-key settings")


def mean_pool(context: np.ndarray) -> np.ndarray:
    """The Phase 0 mean-pool key: mean of the context frames, ``(B, D)``."""
    return np.asarray(context.mean(axis=1), dtype=np.float32)


def hidden_state_key(predictor: Any) -> KeyFunction:
    """Key function of a fitted ``MixtureDensityPredictor``: its trunk output per window."""
    return lambda context: np.asarray(predictor.hidden_state(context), dtype=np.float32)


def _windows(
    prepared: Prepared, items: np.ndarray, context: int, config: LearnedKeyConfig
) -> Iterator[WindowChunk]:
    return iter(
        iter_windows(
            prepared.source,
            items,
            context=context,
            max_offset=config.lag,
            chunk_windows=config.chunk_windows,
        )
    )


def _sums(labels: np.ndarray, y: np.ndarray, n_clusters: int) -> np.ndarray:
    """Σ y per cluster, ``(K, D)`` float64."""
    out = np.zeros((n_clusters, y.shape[1]))
    np.add.at(out, labels, y.astype(np.float64))
    return out


@dataclass
class _KeyFit:
    kmeans: Any
    counts: np.ndarray  # [shape=(K,)]
    means: np.ndarray  # [shape=(K, D)]
    random_means: np.ndarray  # [shape=(K, D)]


def _fit_key(
    prepared: Prepared, key: KeyFunction, context: int, config: LearnedKeyConfig
) -> _KeyFit:
    """k-means on train keys, then cluster means of Δx with real and shuffled labels."""
    from sklearn.cluster import MiniBatchKMeans

    kmeans = MiniBatchKMeans(n_clusters=config.n_clusters, random_state=config.seed, n_init=1)
    for _ in range(config.n_passes):
        for chunk in _windows(prepared, prepared.split.train, context, config):
            if chunk.size >= config.n_clusters:
                kmeans.partial_fit(key(chunk.context))
    if not hasattr(kmeans, "cluster_centers_"):
        raise ConfigError(
            f"a learned key with {config.n_clusters} clusters needs chunks of at least that many "
            "train windows; use fewer clusters or more data"
        )
    labels, targets = [], []
    for chunk in _windows(prepared, prepared.split.train, context, config):
        labels.append(kmeans.predict(key(chunk.context)))
        targets.append(chunk.targets[config.lag - 1])
    lab, y = np.concatenate(labels), np.concatenate(targets)
    counts = np.bincount(lab, minlength=config.n_clusters)
    shuffled = np.random.default_rng(config.seed + 1).permutation(lab)
    scale = np.maximum(counts, 1)[:, None]
    means = _sums(lab, y, config.n_clusters) / scale
    random_means = _sums(shuffled, y, config.n_clusters) / scale
    return _KeyFit(kmeans, counts, means, random_means)


def _score_key(
    prepared: Prepared,
    key: KeyFunction,
    fit: _KeyFit,
    global_mean: np.ndarray,
    context: int,
    config: LearnedKeyConfig,
) -> np.ndarray:
    """Per eval item: within SS (kept), total SS (kept), shuffled SS, total SS, kept, all."""
    items = prepared.split.eval
    row_of = {int(item): j for j, item in enumerate(items)}
    rng = np.random.default_rng(config.seed + 2)
    big = fit.counts >= _min_size(fit, config)
    sizes = np.where(big, fit.counts, 0) / max(fit.counts[big].sum(), 1)
    out = np.zeros((items.size, 6))
    for chunk in _windows(prepared, items, context, config):
        y = chunk.targets[config.lag - 1].astype(np.float64)
        lab = fit.kmeans.predict(key(chunk.context))
        fake = rng.choice(sizes.size, size=lab.size, p=sizes) if big.any() else lab
        kept = big[lab].astype(np.float64)
        total = ((y - global_mean) ** 2).sum(axis=1)
        terms = np.stack(
            [
                ((y - fit.means[lab]) ** 2).sum(axis=1) * kept,
                total * kept,
                ((y - fit.random_means[fake]) ** 2).sum(axis=1),
                total,
                kept,
                np.ones_like(total),
            ],
            axis=1,
        )
        np.add.at(out, np.array([row_of[int(i)] for i in chunk.item]), terms)
    return out


def key_variance_ratios(
    prepared: Prepared, keys: dict[str, KeyFunction], context: int, config: LearnedKeyConfig
) -> dict[str, Any]:
    """Phase 0 variance ratio (with random baseline and 95 % CIs) of arbitrary context keys.

    Returns
    -------
    dict
        Per key name: ``variance_ratio``, ``random_baseline``, ``ci95``, ``n_clusters``,
        ``n_small_clusters``, ``n_eval_set_aside`` (the Phase 0 entry without lags/slices).
    """
    total, n = 0.0, 0
    for chunk in _windows(prepared, prepared.split.train, context, config):
        total = total + chunk.targets[config.lag - 1].sum(axis=0, dtype=np.float64)
        n += chunk.size
    global_mean = np.asarray(total) / max(n, 1)
    weights = bootstrap_weights(
        prepared.split.eval.size, n_boot=config.n_boot, rng=np.random.default_rng(config.seed)
    )
    out: dict[str, Any] = {}
    for name, key in keys.items():
        fit = _fit_key(prepared, key, context, config)
        sums = _score_key(prepared, key, fit, global_mean, context, config)
        min_size = _min_size(fit, config)
        entry = mark_unavailable(summarise(sums, weights, variance_ratios), sums, min_size)
        out[name] = {
            **entry,
            "n_clusters": config.n_clusters,
            "min_cluster_size": min_size,
            "n_small_clusters": int((fit.counts < min_size).sum()),
            "n_eval_set_aside": int(sums[:, 5].sum() - sums[:, 4].sum()),
            "lag": config.lag,
        }
    return out


def _min_size(fit: _KeyFit, config: LearnedKeyConfig) -> int:
    """The configured minimum cluster size, or Phase 0's automatic one for these counts."""
    return config.min_cluster_size or auto_min_cluster_size(
        int(fit.counts.sum()), config.n_clusters
    )


def learned_key_section(
    prepared: Prepared, sequence_model: Any, context: int, config: LearnedKeyConfig
) -> dict[str, Any]:
    """``learned-vqK`` (hidden state of a fitted sequence model) beside ``mean-vqK``."""
    keys = {
        f"learned-vq{config.n_clusters}": hidden_state_key(sequence_model),
        f"mean-vq{config.n_clusters}": mean_pool,
    }
    section = key_variance_ratios(prepared, keys, context, config)
    return {"keys": section, "settings": asdict(config)}


def train_sequence_model(
    prepared: Prepared,
    predict_config: PredictConfig,
    config: LearnedKeyConfig,
    *,
    device: str = "cpu",
) -> Any:
    """Fit the Phase 1 ``sequence`` model (GRU + mixture heads) on the train split, on ``device``.

    Architecture, horizons and epochs come from ``predict_config``; the Adam step and batch size
    from ``config``.
    """
    from latentroom.analysis.mdn import MixtureDensityPredictor

    train, val, _ = split_streams(prepared, predict_config)
    model = MixtureDensityPredictor(
        predict_config.horizons, kind="gru", n_components=predict_config.n_components,
        hidden=predict_config.hidden, batch_size=config.batch_size,
        learning_rate=config.learning_rate, max_epochs=predict_config.max_epochs,
        patience=predict_config.patience,
        max_windows_per_epoch=predict_config.max_windows_per_epoch,
        random_state=predict_config.seed, device=device,
    )  # fmt: skip
    return model.fit(train, val)


def run_learned_key(
    source: ItemSource,
    predict_config: PredictConfig,
    config: LearnedKeyConfig,
    *,
    device: str = "cpu",
) -> tuple[dict[str, Any], Prepared, Any]:
    """Split, train the sequence model (on ``device``), score the learned and mean-pool keys.

    Returns
    -------
    section : dict
        ``{"keys": {...}, "settings": {...}}``.
    prepared : Prepared
    sequence_model : MixtureDensityPredictor
    """
    prepared = prepare(
        source,
        min_length=predict_config.context + max(predict_config.max_offset, config.lag),
        group_regex=predict_config.group_regex,
        drop_nonfinite=predict_config.drop_nonfinite,
        seed=predict_config.seed,
    )
    model = train_sequence_model(prepared, predict_config, config, device=device)
    section = learned_key_section(prepared, model, predict_config.context, config)
    return section, prepared, model
