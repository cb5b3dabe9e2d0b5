"""Run a codec (and the PCA/Griffin-Lim baseline) over held-out clips and score every clip."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.errors import ConfigError
from latentroom.evaluation.baseline import PCAMelBaseline
from latentroom.evaluation.level_match import LevelScore, level_score
from latentroom.evaluation.metrics import log_mel_l1, mrstft_distance
from latentroom.evaluation.onsets import OnsetScore, onset_preservation
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.codecs.base import Codec
    from latentroom.evaluation.perceptual import Measure

logger = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
CLIP_PICKS = ("spread", "first")


@dataclass(frozen=True)
class EvalConfig:
    """Options of ``evaluate_codec``."""

    max_clips: int | None = None  # held-out clips per family (None: all)
    # which max_clips: "spread" (evenly over the family's sorted list, a sample of its works)
    # or "first" (the first N in path order, as before 2026-12-02)
    pick: str = "spread"
    baseline: bool = False  # also score the PCA-of-log-mel + Griffin-Lim baseline
    fit_clips: int = 100  # train clips (spread over families) the baseline's PCA is fitted on
    griffin_lim_iters: int = 32  # baseline decoder iterations
    seed: int = 0  # seeds stochastic decoders, the PCA subsample and Griffin-Lim phases
    figure_clips: int = 2  # clips per family kept for the spectrogram figure
    # families scored for onset preservation: the synthetic pulse trains and real drum hits
    onset_families: tuple[str, ...] = ("koenig", "drums")
    perceptual: bool = False  # also take the perceptual measures (needs the perceptual extra)
    # families given the voice measures: `corpus synth`'s speech, `corpus build`'s voice
    voice_families: tuple[str, ...] = ("speech", "voice")
    unpitched_families: tuple[str, ...] = ("noise", "percussion", "drums")  # no pitch measures
    pitch_model: str = "tiny"  # CREPE capacity, "tiny" or "full"
    perceptual_device: str = "cpu"  # torch device of CREPE and the speaker encoder

    def __post_init__(self) -> None:
        if self.max_clips is not None and self.max_clips < 1:
            raise ConfigError(f"max_clips must be >= 1 (or None for all); got {self.max_clips}")
        if self.pick not in CLIP_PICKS:
            raise ConfigError(f"pick must be one of {', '.join(CLIP_PICKS)}; got {self.pick!r}")
        if self.fit_clips < 1 or self.griffin_lim_iters < 0 or self.figure_clips < 0:
            raise ConfigError(
                "fit_clips must be >= 1, griffin_lim_iters and figure_clips >= 0; got "
                f"{self.fit_clips}, {self.griffin_lim_iters}, {self.figure_clips}"
            )
        object.__setattr__(self, "onset_families", tuple(self.onset_families))
        if self.pitch_model not in ("tiny", "full"):
            raise ConfigError(f"pitch_model must be 'tiny' or 'full'; got {self.pitch_model!r}")
        object.__setattr__(self, "voice_families", tuple(self.voice_families))
        object.__setattr__(self, "unpitched_families", tuple(self.unpitched_families))

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> EvalConfig:
        """Build from a plain dict, refusing keys that are not fields."""
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(
                f"unknown eval config keys {unknown}; allowed: {sorted(cls.__dataclass_fields__)}"
            )
        return cls(**values)


@dataclass(frozen=True)
class ClipScore:
    """Scores of one held-out clip."""

    family: str
    path: str  # relative to the data folder
    seconds: float
    codec: dict[str, float]  # metric name -> value
    baseline: dict[str, float] | None = None
    codec_onsets: OnsetScore | None = None  # only for onset families
    baseline_onsets: OnsetScore | None = None
    codec_perceptual: dict[str, Measure] | None = None  # only with config.perceptual
    baseline_perceptual: dict[str, Measure] | None = None
    codec_level: LevelScore | None = None  # loudness / true-peak change, every clip
    baseline_level: LevelScore | None = None


@dataclass(frozen=True, eq=False)
class FigureClip:
    """Audio kept for the spectrogram figure: [shape=(N,)] mono at ``sample_rate``."""

    family: str
    name: str
    sample_rate: int
    original: np.ndarray
    decoded: np.ndarray
    baseline: np.ndarray | None


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything ``evaluate_codec`` found; ``report.write_report`` turns it into files."""

    codec: dict[str, Any]  # Codec.describe()
    data_dir: str
    config: EvalConfig
    clips: list[ClipScore]
    figures: list[FigureClip] = field(default_factory=list)
    baseline: dict[str, Any] | None = None  # n_components, hop, fit clips, ...


def find_clips(data_dir: Path, split: str) -> dict[str, list[Path]]:
    """Audio files under ``data_dir/split``, grouped by family (the sub-folder name), sorted.

    Files directly in ``data_dir/split`` form the family "all".

    Raises
    ------
    ConfigError
        No such folder or no audio in it.
    """
    root = data_dir / split
    if not root.is_dir():
        raise ConfigError(
            f"{root} is not a folder; lay clips out as {split}/<family>/*.wav "
            "(latentroom corpus synth makes such a folder)"
        )
    families: dict[str, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix.lower() in AUDIO_SUFFIXES and path.is_file():
            family = path.parent.relative_to(root).as_posix()
            families.setdefault("all" if family == "." else family, []).append(path)
    if not families:
        raise ConfigError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {root}")
    return families


def check_baseline_data(data_dir: Path) -> None:
    """Refuse ``--baseline`` without ``train/`` clips to fit it on, naming the fix.

    Raises
    ------
    ConfigError
        ``data_dir/train`` is missing or holds no audio.
    """
    if not (data_dir / "train").is_dir():
        raise ConfigError(
            f"--baseline fits the PCA + Griffin-Lim baseline on {data_dir / 'train'}/<family>/ "
            "clips, and there is no such folder; give a corpus with train/ and holdout/ "
            "(latentroom corpus synth or corpus build makes one) or leave out --baseline"
        )
    find_clips(data_dir, "train")


def fit_baseline(codec: Codec, data_dir: Path, config: EvalConfig) -> PCAMelBaseline:
    """Fit the baseline at the codec's latent size and frame rate on up to ``fit_clips`` clips.

    The train clips are taken round-robin over families, converted to the codec's rate, mono.
    """
    from latentroom.audio.io import load_audio

    per_family = list(find_clips(data_dir, "train").values())
    chosen = [
        paths[i] for i in range(max(map(len, per_family))) for paths in per_family if i < len(paths)
    ][: config.fit_clips]
    signals = [load_audio(p, sample_rate=codec.sample_rate, channels=1).samples[0] for p in chosen]
    baseline = PCAMelBaseline(
        codec.latent_dim,
        sample_rate=codec.sample_rate,
        hop_length=codec.hop_length,
        n_iter=config.griffin_lim_iters,
        seed=config.seed,
    )
    return baseline.fit(signals)


def score(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Both distances between ``(C, N)`` signals."""
    return {
        "log_mel_l1": log_mel_l1(reference, estimate, sample_rate),
        "mrstft": mrstft_distance(reference, estimate),
    }


def evaluate_clip(
    codec: Codec,
    baseline: PCAMelBaseline | None,
    path: Path,
    *,
    family: str,
    name: str,
    config: EvalConfig,
) -> tuple[ClipScore, FigureClip]:
    """Encode and decode one clip (and run the baseline); score it under ``name``."""
    import torch

    from latentroom.audio.io import load_audio

    reference, _ = codec.prepare(load_audio(path))
    generator = torch.Generator().manual_seed(config.seed)
    decoded = codec.decode(codec.encode(reference), generator=generator).samples
    ref, rate = reference.samples, reference.sample_rate
    rebuilt = baseline.reconstruct(ref) if baseline is not None else None
    onsets = family in config.onset_families
    tolerance = codec.hop_length / codec.sample_rate  # one latent frame

    def onset_score(estimate: np.ndarray | None) -> OnsetScore | None:
        if not onsets or estimate is None:
            return None
        return onset_preservation(
            ref.mean(axis=0), estimate.mean(axis=0), rate, tolerance=tolerance
        )

    def perceptual(estimate: np.ndarray | None) -> dict[str, Measure] | None:
        if not config.perceptual or estimate is None:
            return None
        from latentroom.evaluation.perceptual import measure_pair

        return measure_pair(
            ref,
            estimate[:, : ref.shape[1]],
            rate,
            voice=family in config.voice_families,
            pitch=family not in config.unpitched_families,
            device=config.perceptual_device,
            pitch_model="full" if config.pitch_model == "full" else "tiny",
        )

    clip = ClipScore(
        family=family,
        path=name,
        seconds=reference.duration,
        codec=score(ref, decoded, rate),
        baseline=None if rebuilt is None else score(ref, rebuilt, rate),
        codec_onsets=onset_score(decoded),
        baseline_onsets=onset_score(rebuilt),
        codec_perceptual=perceptual(decoded),
        baseline_perceptual=perceptual(rebuilt),
        codec_level=level_score(ref, decoded, rate),
        baseline_level=None if rebuilt is None else level_score(ref, rebuilt, rate),
    )
    n = ref.shape[1]
    figure = FigureClip(
        family,
        name,
        rate,
        ref.mean(axis=0),
        decoded.mean(axis=0)[:n],
        None if rebuilt is None else rebuilt.mean(axis=0),
    )
    return clip, figure


def evaluate_codec(
    codec: Codec, data_dir: Path, config: EvalConfig, *, progress: Progress | None = None
) -> Evaluation:
    """Score ``codec`` on every held-out clip of ``data_dir`` (``holdout/<family>/*.wav``).

    Parameters
    ----------
    codec : Codec
        Any registered codec.
    data_dir : Path
        A folder with ``holdout/`` (and ``train/`` when ``config.baseline``).
    config : EvalConfig
        What to run.
    progress : callable or None
        Called with 1 after each clip.
    """
    holdout = {
        f: pick_clips(p, config.max_clips, config.pick)
        for f, p in find_clips(data_dir, "holdout").items()
    }
    if config.baseline:
        check_baseline_data(data_dir)
    baseline = fit_baseline(codec, data_dir, config) if config.baseline else None
    clips, figures = [], []
    for family, paths in holdout.items():
        for i, path in enumerate(paths):
            name = path.relative_to(data_dir).as_posix()
            clip, figure = evaluate_clip(
                codec, baseline, path, family=family, name=name, config=config
            )
            clips.append(clip)
            if i < config.figure_clips:
                figures.append(figure)
            if progress is not None:
                progress(1)
    about = None
    if baseline is not None:
        about = {
            "n_components": baseline.n_components_,
            "requested_components": codec.latent_dim,
            "hop_length": baseline.hop_length,
            "n_fft": baseline.n_fft,
            "n_mels": baseline.n_mels,
            "griffin_lim_iters": baseline.n_iter,
        }
    return Evaluation(codec.describe(), str(data_dir), config, clips, figures, about)


def count_clips(data_dir: Path, max_clips: int | None) -> int:
    """Held-out clips ``evaluate_codec`` will score (for a progress bar)."""
    return sum(len(p[:max_clips]) for p in find_clips(data_dir, "holdout").values())


def pick_clips(paths: list[Path], max_clips: int | None, pick: str = "spread") -> list[Path]:
    """At most ``max_clips`` of a family's sorted ``paths``, in their order.

    ``"spread"`` takes the middle clip of each of ``max_clips`` equal runs of the list, so a
    family whose files are named by kind or work (drum one-shots, then loops) is sampled across
    all of them; ``"first"`` takes the first ``max_clips``. ``None`` keeps every clip.
    """
    if max_clips is None or max_clips >= len(paths):
        return list(paths)
    if pick == "first":
        return list(paths[:max_clips])
    n = len(paths)
    return [paths[(2 * i + 1) * n // (2 * max_clips)] for i in range(max_clips)]
