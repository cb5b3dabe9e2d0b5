"""Build a synthetic corpus folder: ``train/<family>/``, ``holdout/<family>/``, a manifest."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.errors import ConfigError, OutputExistsError
from latentroom.progress import Progress

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SPLITS = ("train", "holdout")
SUBTYPE = "PCM_16"  # 16-bit WAV: half the size of float, ample for training data


def default_families() -> tuple[str, ...]:
    """Every registered family, in registry order."""
    from latentroom.datasets.synth import FAMILIES

    return tuple(FAMILIES)


@dataclass(frozen=True)
class SynthCorpusConfig:
    """What ``latentroom corpus synth`` makes.

    Clips are shared out across families round-robin; each family keeps ``holdout`` of its
    clips (at least one when it has two or more) for evaluation.
    """

    minutes: float  # total audio, train + holdout
    seed: int = 0  # master seed; every clip's rng derives from (seed, family, index)
    sample_rate: int = 48_000  # Hz
    clip_seconds: float = 4.0  # length of every clip
    holdout: float = 0.1  # fraction of each family's clips held out
    families: tuple[str, ...] = field(default_factory=default_families)

    def __post_init__(self) -> None:
        from latentroom.datasets.synth import FAMILIES

        object.__setattr__(self, "families", tuple(self.families))
        if not self.minutes > 0:
            raise ConfigError(f"minutes must be > 0; got {self.minutes}")
        if not 0.05 <= self.clip_seconds <= 600:
            raise ConfigError(f"clip_seconds must be in 0.05..600; got {self.clip_seconds}")
        if not 0.0 <= self.holdout < 1.0:
            raise ConfigError(f"holdout must be in [0, 1); got {self.holdout}")
        if not 8_000 <= self.sample_rate <= 192_000:
            raise ConfigError(f"sample_rate must be in 8000..192000 Hz; got {self.sample_rate}")
        unknown = [f for f in self.families if f not in FAMILIES]
        if unknown or not self.families:
            raise ConfigError(
                f"unknown or no families {unknown or list(self.families)}; "
                f"choose from {', '.join(FAMILIES)}"
            )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> SynthCorpusConfig:
        """Build from a plain dict, refusing keys that are not fields."""
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ConfigError(f"unknown corpus config keys {unknown}")
        return cls(**values)

    @property
    def n_clips(self) -> int:
        """Clips in the whole corpus (at least one per family)."""
        return max(len(self.families), round(self.minutes * 60 / self.clip_seconds))


@dataclass(frozen=True)
class ClipPlan:
    """One clip to render: which family, which split, its index and file name."""

    family: str
    split: str
    index: int

    @property
    def relpath(self) -> str:
        return f"{self.split}/{self.family}/{self.family}_{self.index:05d}.wav"


def plan_clips(config: SynthCorpusConfig, families: tuple[str, ...]) -> list[ClipPlan]:
    """Share ``config.n_clips`` out round-robin over ``families``; the last ones are held out."""
    counts = [config.n_clips // len(families)] * len(families)
    for i in range(config.n_clips % len(families)):
        counts[i] += 1
    plans = []
    for family, count in zip(families, counts, strict=True):
        n_holdout = round(count * config.holdout)
        if config.holdout > 0 and count >= 2:
            n_holdout = max(1, n_holdout)
        for index in range(count):
            split = "holdout" if index >= count - n_holdout else "train"
            plans.append(ClipPlan(family, split, index))
    return plans


def clip_rng(seed: int, family: str, index: int) -> np.random.Generator:
    """The generator for one clip, derived from (seed, family position in the registry, index).

    Keyed by the family's fixed registry position, so choosing other families or another corpus
    size leaves each clip the same.
    """
    from latentroom.datasets.synth import FAMILIES

    key = list(FAMILIES).index(family)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key, index)))


def usable_families(families: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, str]]:
    """Drop families this machine cannot render (speech without espeak-ng); say why."""
    from latentroom.datasets.speech import espeak_available

    skipped = {}
    if "speech" in families and not espeak_available():
        skipped["speech"] = "espeak-ng is not installed"
        logger.warning("skipping the speech family: espeak-ng is not installed")
    kept = tuple(f for f in families if f not in skipped)
    if not kept:
        raise ConfigError(f"no family can be rendered here ({skipped}); choose other families")
    return kept, skipped


@contextmanager
def atomic_dir(target: Path, *, force: bool) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; move it onto ``target`` only on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        if target.exists() and force:
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def build_synth_corpus(
    out_dir: Path,
    config: SynthCorpusConfig,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Render every clip into ``out_dir`` atomically and write ``manifest.json``; return it.

    Parameters
    ----------
    out_dir : Path
        The corpus folder; replaced as a whole (only with ``force``) once every clip is written.
    config : SynthCorpusConfig
        What to make.
    force : bool
        Replace an existing ``out_dir``.
    progress : callable or None
        Called with 1 after each clip.
    """
    from latentroom.fileio import check_outputs

    check_outputs([out_dir], force=force, folders=True)
    check_replaceable(out_dir)
    families, skipped = usable_families(config.families)
    plans = plan_clips(config, families)
    with atomic_dir(out_dir, force=force) as tmp:
        for plan in plans:
            write_clip(tmp / plan.relpath, plan, config)
            if progress is not None:
                progress(1)
        manifest = make_manifest(config, plans, skipped)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def check_replaceable(out_dir: Path) -> None:
    """Refuse to replace anything but an empty folder or an earlier synthetic corpus.

    ``--force`` deletes the old folder; a mistyped ``-o`` must not delete someone's files.

    Raises
    ------
    OutputExistsError
        ``out_dir`` is a file, or a non-empty folder without a corpus manifest.
    """
    if not out_dir.exists() or (out_dir.is_dir() and not any(out_dir.iterdir())):
        return
    manifest = out_dir / MANIFEST
    try:
        kind = json.loads(manifest.read_text(encoding="utf-8")).get("kind")
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind != "latentroom-synth-corpus":
        raise OutputExistsError(
            f"{out_dir} exists and is not a latentroom synthetic corpus; refusing to replace it "
            "even with --force; choose another -o folder"
        )


def write_clip(path: Path, plan: ClipPlan, config: SynthCorpusConfig) -> None:
    """Render one clip with its own rng and write it as 16-bit WAV."""
    import soundfile as sf

    from latentroom.datasets.synth import FAMILIES

    rng = clip_rng(config.seed, plan.family, plan.index)
    samples = FAMILIES[plan.family](config.clip_seconds, config.sample_rate, rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, config.sample_rate, subtype=SUBTYPE, format="WAV")


def make_manifest(
    config: SynthCorpusConfig, plans: list[ClipPlan], skipped: dict[str, str]
) -> dict[str, Any]:
    """Seed, config, per-family counts and seconds per split, skipped families, clip list."""
    from latentroom import __version__
    from latentroom.datasets.speech import espeak_version

    per_family: dict[str, dict[str, int]] = {}
    for plan in plans:
        per_family.setdefault(plan.family, dict.fromkeys(SPLITS, 0))[plan.split] += 1
    return {
        "format_version": FORMAT_VERSION,
        "kind": "latentroom-synth-corpus",
        "latentroom_version": __version__,
        "config": {**asdict(config), "families": list(config.families)},
        "seed": config.seed,
        "families": {
            family: {
                **counts,
                **{f"{split}_seconds": n * config.clip_seconds for split, n in counts.items()},
            }
            for family, counts in per_family.items()
        },
        "skipped": skipped,
        "espeak_ng": espeak_version() if "speech" in per_family else None,
        "clips": [plan.relpath for plan in plans],
    }
