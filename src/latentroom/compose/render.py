"""Render a composition spec: sources -> stats -> synths -> patterned sections -> files."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from latentroom.compose.patterns import apply_pattern, pattern_length
from latentroom.compose.sources import check_same_space, load_input
from latentroom.compose.spec import REPEAT, CompositionSpec, SectionSpec, resolve_seeds
from latentroom.compose.stats import LatentStats, compute_stats
from latentroom.compose.synth import synthesize
from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory
from latentroom.progress import Progress

if TYPE_CHECKING:
    from latentroom.audio.types import Audio
    from latentroom.codecs.base import Codec

logger = logging.getLogger(__name__)

#: Files ``render`` writes into the output folder, by role.
OUTPUT_NAMES = {
    "latents": "composition.npy",
    "sidecar": "composition.json",
    "latent_wav": "composition.latent.wav",
    "latent_wav_sidecar": "composition.latent.json",
    "audio": "composition.wav",
    "heatmap": "composition.png",
    "spec": "spec.resolved.toml",
}


@dataclass(frozen=True)
class Section:
    """Where a rendered section sits in the output: frames ``start`` to ``stop`` (exclusive)."""

    name: str
    start: int
    stop: int


@dataclass(frozen=True)
class Composition:
    """A rendered composition, before anything is written.

    Attributes
    ----------
    trajectory : LatentTrajectory
        ``(T, D)`` at the codec's frame rate; ``meta["sections"]`` lists the sections.
    sections : list of Section
        The sections in order; they tile ``0..T``.
    spec : CompositionSpec
        The spec with every seed resolved.
    audio : Audio or None
        The decoded trajectory (None when the spec sets ``decode = false``).
    """

    trajectory: LatentTrajectory
    sections: list[Section]
    spec: CompositionSpec
    audio: Audio | None


def compose(
    spec: CompositionSpec,
    *,
    seed: int | None = None,
    codec: Codec | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
    dtype: str = "float32",
) -> Composition:
    """Render ``spec`` in memory.

    Parameters
    ----------
    spec : CompositionSpec
        From ``load_spec``; seeds left unset are resolved first (see ``resolve_seeds``).
    seed : int or None
        Master seed overriding the spec's.
    codec : Codec or None
        The codec to use; None builds ``get_codec(spec.codec)``.
    progress : callable or None
        Called with 1 after each source, synth and section, and after decoding.
    device, dtype : str
        Where a codec built here runs, and in which precision.
    """
    from latentroom.codecs import get_codec

    spec = resolve_seeds(spec, seed=seed)
    advance = progress or (lambda n: None)
    model = codec if codec is not None else get_codec(spec.codec, device=device, dtype=dtype)
    materials = _load_sources(spec, model, advance)
    stats = {
        st.name: compute_stats(
            [_as_trajectory(materials[s], model) for s in st.sources],
            sources=list(st.sources),
            ar_order=st.ar_order,
        )
        for st in spec.stats
    }
    materials.update(_synthesize(spec, stats, advance))
    data, sections = _render_sections(spec, materials, advance)
    meta = {
        "hop_length": model.hop_length,
        "sample_rate": model.sample_rate,
        "latent_kind": model.latent_kind,
        "sections": [{"name": s.name, "start": s.start, "stop": s.stop} for s in sections],
        "seed": spec.seed,
    }
    trajectory = LatentTrajectory(data, model.frame_rate, model.name, meta)
    audio = _decode(model, trajectory, spec) if spec.decode else None
    advance(int(spec.decode))
    return Composition(trajectory, sections, spec, audio)


def n_steps(spec: CompositionSpec) -> int:
    """Progress units ``compose`` reports for ``spec``."""
    return len(spec.sources) + len(spec.synth) + len(spec.sections) + int(spec.decode)


def _load_sources(spec: CompositionSpec, codec: Codec, advance: Progress) -> dict[str, np.ndarray]:
    materials: dict[str, np.ndarray] = {}
    for source in spec.sources:
        where = f"sources.{source.name} ({source.path})"
        trajectory = load_input(source.path, codec=lambda: codec, frame_rate=codec.frame_rate)
        check_same_space(trajectory, codec, where)
        stop = trajectory.n_frames if source.frames is None else source.start + source.frames
        if stop > trajectory.n_frames or source.start >= trajectory.n_frames:
            raise ConfigError(
                f"{where}: asks for frames {source.start}..{stop} but the latents have "
                f"{trajectory.n_frames} frames; lower start or frames"
            )
        materials[source.name] = np.array(trajectory.data[source.start : stop])
        advance(1)
    return materials


def _as_trajectory(data: np.ndarray, codec: Codec) -> LatentTrajectory:
    return LatentTrajectory(data, codec.frame_rate, codec.name)


def _synthesize(
    spec: CompositionSpec, stats: dict[str, LatentStats], advance: Progress
) -> dict[str, np.ndarray]:
    out = {}
    for synth in spec.synth:
        out[synth.name] = synthesize(
            stats[synth.stats],
            distribution=synth.distribution,
            n_frames=synth.frames,
            rng=np.random.default_rng(synth.seed),
        )
        advance(1)
    return out


def _render_sections(
    spec: CompositionSpec, materials: dict[str, np.ndarray], advance: Progress
) -> tuple[np.ndarray, list[Section]]:
    parts: list[np.ndarray] = []
    sections: list[Section] = []
    total = 0
    for index, section in enumerate(spec.sections):
        a = materials[section.a]
        n_frames = _section_length(section, a.shape)
        if total + n_frames > spec.max_frames:
            raise ConfigError(
                f"sections[{index}] ({section.name}) brings the composition to "
                f"{total + n_frames} frames, over max_frames = {spec.max_frames}; shorten "
                "the sections or raise max_frames"
            )
        try:
            parts.append(_render_section(section, a, materials, spec.max_frames))
        except (ConfigError, InvalidLatentError) as err:
            raise type(err)(f"sections[{index}] ({section.name}): {err}") from err
        sections.append(Section(section.name, total, total + n_frames))
        total += n_frames
        advance(1)
    return np.concatenate(parts), sections


def _section_length(section: SectionSpec, shape: tuple[int, ...]) -> int:
    if section.pattern == REPEAT:
        return section.loops * shape[0]
    return pattern_length(section.pattern, shape, loops=section.loops, **section.options)


def _render_section(
    section: SectionSpec, a: np.ndarray, materials: dict[str, np.ndarray], max_frames: int
) -> np.ndarray:
    if section.pattern == REPEAT:
        return np.tile(a, (section.loops, 1))
    b = None if section.b is None else materials[section.b]
    return apply_pattern(
        section.pattern,
        a,
        b,
        rng=np.random.default_rng(section.seed),
        loops=section.loops,
        max_frames=max_frames,
        **section.options,
    )


def _decode(codec: Codec, trajectory: LatentTrajectory, spec: CompositionSpec) -> Audio:
    import torch

    generator = torch.Generator().manual_seed(int(spec.seed or 0))
    return codec.decode(trajectory, generator=generator)


def output_paths(out_dir: str | os.PathLike[str], spec: CompositionSpec) -> dict[str, Path]:
    """The files ``write_composition`` writes for ``spec`` (no audio when it does not decode)."""
    out = Path(out_dir)
    skip = set() if spec.decode else {"audio"}
    return {role: out / name for role, name in OUTPUT_NAMES.items() if role not in skip}
