"""Phase 2: the same audio through several codecs, analysed on one footing (``analyze compare``).

For each codec: encode the audio into a corpus store under ``OUT/corpora`` (reused on a rerun),
pool the latents to the common frame rate, normalise (fit on train items), and run Phase 0,
Phase 1 and the learned key; optionally also at the native rate, with decoder-sensitivity
weighting, and on log-mel frames of the decoded audio. Every variant gets its own analysis folder
(``OUT/<codec>/<variant>/analysis.json`` + report); ``compare_report`` writes the comparison.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from latentroom.analysis.align import common_rate, fit_normaliser, parse_normalise, pool_to_rate
from latentroom.analysis.clusters import ClusterConfig, run_phase0
from latentroom.analysis.data import ArraySource, ItemSource
from latentroom.analysis.keys import parse_key
from latentroom.analysis.learned_key import LearnedKeyConfig, learned_key_section
from latentroom.analysis.predict import (
    PREDICTORS,
    PredictConfig,
    evaluate,
    fit_predictors,
    summarise_phase1,
)
from latentroom.analysis.report import corpus_facts, write_analysis
from latentroom.analysis.settings import config_from_dict
from latentroom.analysis.splits import prepare
from latentroom.devices import placement
from latentroom.errors import ConfigError
from latentroom.progress import Progress

logger = logging.getLogger(__name__)

DEFAULT_CODECS = ("builtin", "mimi", "encodec-24k", "dac-24k", "acestep-vae")


@dataclass(frozen=True)
class CompareConfig:
    """Settings of ``latentroom analyze compare``."""

    codecs: tuple[str, ...] = DEFAULT_CODECS  # registry names, analysed in this order
    random_init: bool = False  # random weights: rows are "architecture only"
    checkpoint: str | None = None  # weights folder for "builtin" (from latentroom train codec)
    rate: str | float = "lowest"  # common frame rate: "lowest" native rate or Hz
    normalise: str = "standardise"  # none | standardise | pca-whiten:K (<= K dims; train fit)
    native: bool = True  # also analyse each codec at its native rate
    decoder_aware: bool = True  # sensitivity-weighted latents (random decoder probes)
    decoded_mel: bool = True  # Phase 1 on log-mel of the decoded audio (+ the input audio)
    learned_key: bool = True  # k-means on the sequence model's hidden state
    context: int = 8  # L, context frames (at the analysed rate)
    horizons: tuple[int, ...] = (1, 2, 4, 8)  # Phase 1 horizons (frames at the analysed rate)
    keys: tuple[str, ...] = ("mean-vq64", "pca8-vq256")  # Phase 0 keys
    predictors: tuple[str, ...] = PREDICTORS  # Phase 1 predictors
    rollout_steps: int = 8  # free-running rollout length (0: none)
    max_epochs: int = 10  # mdn / sequence training epochs
    min_cluster_size: int | None = None  # Phase 0 and learned key (None: auto per key)
    probe_seconds: float = 8.0  # latent time probed for decoder sensitivity
    n_probes: int = 4  # random output probes per decoder segment
    group_regex: str | None = None  # on audio paths: group-disjoint split (e.g. speaker ids)
    n_boot: int = 1000  # bootstrap resamples for the 95 % intervals
    seed: int = 0  # split, fits, probes, bootstrap

    def __post_init__(self) -> None:
        if not self.codecs or len(set(self.codecs)) != len(self.codecs):
            raise ConfigError(f"give one or more distinct codec names; got {list(self.codecs)}")
        parse_normalise(self.normalise)
        if isinstance(self.rate, str) and self.rate != "lowest":
            raise ConfigError(f"rate must be 'lowest' or a number of Hz; got {self.rate!r}")
        if self.checkpoint is not None and (self.random_init or "builtin" not in self.codecs):
            raise ConfigError(
                "--checkpoint gives weights to the builtin codec: list builtin in --codecs "
                "and drop --random-init"
            )
        if self.probe_seconds <= 0 or self.n_probes < 1:
            raise ConfigError("probe_seconds must be > 0 and n_probes >= 1")
        self.cluster_config()  # validates context, keys, lags
        self.predict_config()  # validates horizons, predictors

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> CompareConfig:
        """Build from a dict, rejecting unknown keys."""
        return config_from_dict(cls, values, "compare settings")

    def cluster_config(self) -> ClusterConfig:
        """Phase 0 settings (lag 1 only: the comparison's headline)."""
        return ClusterConfig(
            context=self.context, keys=self.keys, lags=(1,), min_cluster_size=self.min_cluster_size,
            n_boot=self.n_boot, group_regex=self.split_regex, seed=self.seed,
        )  # fmt: skip

    def predict_config(self, predictors: Sequence[str] | None = None) -> PredictConfig:
        """Phase 1 settings (``predictors`` overrides the list)."""
        return PredictConfig(
            context=self.context, horizons=self.horizons,
            predictors=tuple(predictors if predictors is not None else self.predictors),
            rollout_steps=self.rollout_steps, max_epochs=self.max_epochs, n_boot=self.n_boot,
            group_regex=self.split_regex, seed=self.seed,
        )  # fmt: skip

    @property
    def split_regex(self) -> str | None:
        """Regex for the analysis split: encoding already put each path's label in "group"."""
        return r"^(.+)$" if self.group_regex else None

    @property
    def min_length(self) -> int:
        """Frames an item needs for every analysis (shorter items are left out, counted)."""
        return self.context + max(max(self.horizons), self.rollout_steps, 1)

    def codec_label(self, name: str) -> str:
        """Folder and row name: ``NAME`` or ``NAME-random`` (architecture only).

        A codec given with a weights path (``builtin:runs/my_codec``) is labelled by the path's
        last part (``builtin-my_codec``): the full path would become nested folders.
        """
        prefix, _, path = name.partition(":")
        if path:
            tail = re.sub(r"[^A-Za-z0-9._-]+", "_", PurePath(path).name) or "weights"
            name = f"{prefix}-{tail}"
        return f"{name}-random" if self.random_init else name


class MappedSource:
    """Another source's items mapped on read (pooling, weighting, normalising): nothing is copied.

    Parameters
    ----------
    base : ItemSource
    frame_rate : float
        Rate of the mapped items.
    transform : callable
        ``(T, D) -> (T', D')`` applied to each item as it is read.
    keep : sequence of int or None
        Indices of ``base`` items to expose (all when None).
    """

    def __init__(
        self,
        base: ItemSource,
        frame_rate: float,
        transform: Callable[[np.ndarray], np.ndarray],
        keep: Sequence[int] | None = None,
    ) -> None:
        self.base = base
        self.frame_rate = frame_rate
        self.transform = transform
        self.keep = list(range(base.n_items)) if keep is None else list(keep)
        every = base.items
        self.items = [every[i] for i in self.keep]

    @property
    def n_items(self) -> int:
        return len(self.keep)

    def item(self, i: int) -> np.ndarray:
        return self.transform(self.base.item(self.keep[i]))


def _same(x: np.ndarray) -> np.ndarray:
    return x


@dataclass(frozen=True)
class Variant:
    """One analysed representation of one codec's corpus."""

    name: str  # "aligned", "native", "decoder-weighted", "decoded-mel", "input-mel"
    source: ItemSource  # items [shape=(T_i, D)] at frame_rate, read lazily
    normalise: str
    predictors: tuple[str, ...]
    extra: dict[str, Any]


def analyse_variant(
    variant: Variant, config: CompareConfig, out_dir: Path, *, device: str = "cpu"
) -> dict[str, Any]:
    """Normalise, run Phase 0, Phase 1 and the learned key; write ``out_dir``; return a summary.

    Items are streamed from ``variant.source`` on every pass; only one is in memory at a time.
    The mixture density networks (and so the learned key) train on ``device``.
    """
    rate = float(variant.source.frame_rate)
    lengths = [variant.source.item(i).shape[0] for i in range(variant.source.n_items)]
    keep = [i for i, n in enumerate(lengths) if n >= config.min_length]
    if len(keep) < 3:
        raise ConfigError(
            f"{variant.name}: only {len(keep)} items have the {config.min_length} frames "
            f"(at {rate:g} Hz) the analysis needs; use longer audio, a shorter "
            "--context or smaller --horizons"
        )
    raw = MappedSource(variant.source, rate, _same, keep)
    split = prepare(
        raw, min_length=config.min_length, group_regex=config.split_regex, seed=config.seed
    ).split
    normaliser = fit_normaliser((raw.item(int(i)) for i in split.train), variant.normalise)
    source = MappedSource(raw, rate, normaliser.apply)
    phase0, info0, _ = run_phase0(source, config.cluster_config())
    predict_config = config.predict_config(variant.predictors)
    prepared = prepare(
        source, min_length=config.min_length, group_regex=config.split_regex, seed=config.seed
    )
    fitted = fit_predictors(prepared, predict_config, device=device)
    phase1, info1 = summarise_phase1(
        prepared, predict_config, fitted, evaluate(prepared, predict_config, fitted)
    )
    learned = None
    if config.learned_key and "sequence" in fitted:
        key_config = LearnedKeyConfig(
            n_clusters=parse_key(config.keys[0]).n_clusters,
            min_cluster_size=config.min_cluster_size, n_boot=config.n_boot, seed=config.seed,
        )  # fmt: skip
        learned = learned_key_section(prepared, fitted["sequence"], config.context, key_config)
    facts = {
        **corpus_facts(variant.extra.get("corpus", str(out_dir)), prepared, config.context),
        "codec": variant.extra.get("codec", ""),
    }
    write_analysis(out_dir, "phase0", facts, phase0, info0)
    write_analysis(out_dir, "phase1", facts, phase1, info1)
    return {
        "latent_dim": normaliser.output_dim,
        "input_dim": int(raw.item(0).shape[1]),
        "frame_rate": rate,
        "normalise": variant.normalise,
        "explained_variance": normaliser.explained,
        "n_frames": facts["n_frames"],
        "n_items": {**facts["n_items"], "too_short": len(lengths) - len(keep)},
        "phase0": phase0,
        "phase1": phase1,
        "flagged": info1["flagged"],  # predictors left out of headlines, with the reason
        "learned_key": learned,
        "folder": str(out_dir),
        **variant.extra,
    }


def build_codec(name: str, config: CompareConfig, *, device: str = "cpu") -> Any:
    """The codec registered as ``name`` (random weights with ``config.random_init``) on ``device``.

    Codecs run in float32 here, so every row of a comparison is measured at the same precision.
    """
    from latentroom.codecs.registry import get_codec

    if config.random_init:
        return get_codec(name, random_init=True, device=device)
    if name == "builtin" and config.checkpoint is not None:
        return get_codec(name, checkpoint=config.checkpoint, device=device)
    return get_codec(name, device=device)


def encode_codec(codec: Any, label: str, paths: Sequence[Path], out_dir: Path,
                 config: CompareConfig) -> Any:  # fmt: skip
    """Encode (or resume) the corpus store ``OUT/corpora/<label>.zarr``."""
    from latentroom.latents.corpus import encode_corpus

    store = out_dir / "corpora" / f"{label}.zarr"
    started = time.perf_counter()
    corpus = encode_corpus(paths, codec, store, group_regex=config.group_regex, resume=True)
    logger.info("%s: corpus ready in %.1f s", label, time.perf_counter() - started)
    return corpus


def codec_variants(
    codec: Any, corpus: Any, rate: float, config: CompareConfig
) -> tuple[list[Variant], dict[str, Any]]:
    """The representations analysed for one codec, and facts about the codec."""
    from latentroom.analysis.decoder_aware import (
        decoded_features,
        decoder_sensitivity,
        kept_dims,
        weight_by_sensitivity,
    )

    native_rate = float(corpus.frame_rate)

    def pool(x: np.ndarray) -> np.ndarray:
        return pool_to_rate(x, native_rate, rate)

    extra = {"codec": corpus.codec, "corpus": str(corpus.path)}
    aligned = MappedSource(corpus, rate, pool)
    variants = [Variant("aligned", aligned, config.normalise, config.predictors, extra)]
    if config.native and abs(native_rate - rate) > 1e-9 * rate:
        native = MappedSource(corpus, native_rate, _same)
        variants.append(Variant("native", native, config.normalise, config.predictors, extra))
    facts: dict[str, Any] = {"native_rate": native_rate, "latent_dim": corpus.latent_dim}
    if config.decoder_aware:
        started = time.perf_counter()
        sensitivity = decoder_sensitivity(
            codec, (corpus.item(i) for i in range(corpus.n_items)), n_probes=config.n_probes,
            seed=config.seed, segment_frames=max(8, round(2.0 * native_rate)),
            max_frames=max(8, round(config.probe_seconds * native_rate)),
        )  # fmt: skip

        def weigh(x: np.ndarray) -> np.ndarray:
            return weight_by_sensitivity([pool(x)], sensitivity)[0][0]

        facts["sensitivity"] = {
            **sensitivity.to_dict(),
            "n_kept": int(kept_dims(sensitivity).sum()),
        }
        facts["sensitivity_seconds"] = time.perf_counter() - started
        linear = tuple(p for p in config.predictors if p in ("marginal_diag", "linear"))
        _, n_pca = parse_normalise(config.normalise)
        rotate = f"pca:{n_pca}" if n_pca else "none"  # whitening would undo the weights
        weighted = MappedSource(corpus, rate, weigh)
        variants.append(Variant("decoder-weighted", weighted, rotate, linear, extra))
    if config.decoded_mel:
        started = time.perf_counter()
        mel = ArraySource(decoded_features(codec, corpus, rate, seed=config.seed), rate,
                          corpus.items)  # fmt: skip
        facts["decode_seconds"] = time.perf_counter() - started
        variants.append(Variant("decoded-mel", mel, "standardise", config.predictors, extra))
    return variants, facts


def compare_codecs(
    audio_dir: str | Path,
    out_dir: str | Path,
    config: CompareConfig,
    *,
    progress: Progress | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Encode, align, normalise and analyse ``audio_dir`` with every codec; write the comparison.

    Returns the content of ``OUT/comparison.json``. Output checks (``--force``) are the caller's
    (``compare_report.check_compare_outputs``), so they happen before any work. Codecs and the
    mixture density networks run on ``device``; the comparison records it.
    """
    where = placement(device, "float32")
    from latentroom.analysis.compare_report import write_comparison
    from latentroom.latents.corpus import check_inputs
    from latentroom.latents.encoding import collect_audio_paths

    out = Path(out_dir)
    paths = collect_audio_paths([audio_dir])
    check_inputs(paths, config.group_regex)
    codecs = {name: build_codec(name, config, device=where.device) for name in config.codecs}
    rate = common_rate([c.frame_rate for c in codecs.values()], config.rate)
    encoded = {}
    for name, codec in codecs.items():
        encoded[name] = (codec, encode_codec(codec, config.codec_label(name), paths, out, config))
        if progress is not None:
            progress(1)
    rows: dict[str, Any] = {}
    for name, (codec, corpus) in encoded.items():
        label = config.codec_label(name)
        variants, facts = codec_variants(codec, corpus, rate, config)
        results = {
            v.name: analyse_variant(v, config, out / label / v.name, device=where.device)
            for v in variants
        }
        rows[label] = {"codec": name, "architecture_only": config.random_init, **facts,
                       "variants": results}  # fmt: skip
        if progress is not None:
            progress(1)
    reference = None
    if config.decoded_mel:
        reference = _input_mel(
            paths, list(encoded[config.codecs[0]][1].items), rate, config, out, where.device
        )
    comparison = {
        "common_rate": rate,
        "settings": {**asdict(config), "rate": config.rate},
        "n_files": len(paths),
        "audio_dir": str(audio_dir),
        "codecs": rows,
        "input_mel": reference,
        "placement": where.describe(),
    }
    return write_comparison(out, comparison)


def _input_mel(
    paths: Sequence[Path], items: list[dict[str, Any]], rate: float, config: CompareConfig,
    out: Path, device: str,
) -> dict[str, Any]:  # fmt: skip
    """The reference row: Phase 0/1 on log-mel frames of the input audio itself."""
    from latentroom.analysis.decoder_aware import input_features

    mel = ArraySource(input_features(paths, rate), rate, items)
    variant = Variant("input-mel", mel, "standardise", config.predictors, {"codec": "input"})
    return analyse_variant(variant, config, out / "input-mel", device=device)
