"""Write a rendered composition: latents + sidecar, Pd latent WAV, audio, heatmap, resolved spec."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

from latentroom.audio.levels import LevelDecision, LevelPolicy
from latentroom.compose.render import Composition, compose, output_paths
from latentroom.compose.spec import load_spec
from latentroom.compose.spec_toml import spec_to_toml
from latentroom.fileio import check_outputs, write_text_atomic
from latentroom.progress import Progress

logger = logging.getLogger(__name__)


def render_spec(
    spec_path: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    force: bool = False,
    seed: int | None = None,
    level: str | None = None,
    progress: Progress | None = None,
    device: str = "cpu",
    dtype: str = "float32",
) -> dict[str, Path]:
    """Render the spec file into ``out_dir``; return the written files by role.

    Parameters
    ----------
    spec_path : path-like
        A composition spec (TOML, see docs/composition.md).
    out_dir : path-like
        Output folder (created when missing).
    force : bool
        Overwrite existing outputs; otherwise they are refused before any work starts.
    seed : int or None
        Master seed overriding the spec's.
    level : str or None
        Level policy of the decoded audio overriding the spec's (``keep``, ``lufs:X``,
        ``peak:X``, ``off``; see ``latentroom.audio.levels``).
    progress : callable or None
        Advance callback (``n_steps(spec)`` units in all).
    device, dtype : str
        Where the spec's codec runs and in which precision (see ``latentroom.devices``).

    Returns
    -------
    dict of str to Path
        Roles ``latents``, ``sidecar``, ``latent_wav``, ``latent_wav_sidecar`` (only for
        D <= 64), ``audio`` (only when decoding), ``heatmap``, ``spec``.
    """
    spec = load_spec(spec_path)
    if level is not None:
        spec = dataclasses.replace(spec, level=str(LevelPolicy.parse(level)))
    check_outputs(list(output_paths(out_dir, spec).values()), force=force)
    composition = compose(spec, seed=seed, progress=progress, device=device, dtype=dtype)
    return write_composition(composition, out_dir)


def write_composition(composition: Composition, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write every output of ``composition`` atomically (nothing is computed after the first write).

    The latent WAV is skipped, with a warning, when the latent has more than 64 dims (Pure
    Data's limit).
    """
    from latentroom.latents.files import save_latents
    from latentroom.latents.latent_wav import MAX_WAV_DIMS, WavSubtype, save_latent_wav
    from latentroom.plots import plot_latent_heatmap

    paths = output_paths(out_dir, composition.spec)
    trajectory = composition.trajectory
    source = f"latentroom compose render (seed {composition.spec.seed})"
    save_latents(paths["latents"], trajectory, source=source)
    if trajectory.latent_dim <= MAX_WAV_DIMS:
        double = composition.spec.latent_wav_subtype == "DOUBLE"
        subtype: WavSubtype = "DOUBLE" if double else "FLOAT"
        save_latent_wav(paths["latent_wav"], trajectory, subtype=subtype, source=source)
    else:
        logger.warning(
            "%d latent dims is more than a latent WAV holds (%d); no latent WAV written",
            trajectory.latent_dim,
            MAX_WAV_DIMS,
        )
        del paths["latent_wav"], paths["latent_wav_sidecar"]
    spec_text = spec_to_toml(composition.spec)
    if composition.audio is not None:
        decision = _save_levelled(paths["audio"], composition)
        spec_text = f"# {_level_line(decision)}\n{spec_text}"
    boundaries = [(s.name, s.start) for s in composition.sections]
    plot_latent_heatmap(trajectory, paths["heatmap"], boundaries=boundaries)
    write_text_atomic(paths["spec"], spec_text)
    return paths


def _save_levelled(path: Path, composition: Composition) -> LevelDecision:
    """Save the decoded audio under the spec's level policy; warn when it is over full scale."""
    from latentroom.audio import save_audio
    from latentroom.audio.levels import level_audio, over_full_scale_warning

    assert composition.audio is not None  # the caller checked
    audio = composition.audio
    policy = LevelPolicy.parse(composition.spec.level)
    samples, decision = level_audio(audio.samples, audio.sample_rate, policy)
    save_audio(path, audio.with_samples(samples))
    logger.info("%s", _level_line(decision))
    if decision.over_full_scale:
        logger.warning("%s", over_full_scale_warning(str(path), decision))
    return decision


def _level_line(decision: LevelDecision) -> str:
    return (
        f"audio level: --level {decision.policy}, gain {decision.gain_db:+.2f} dB, "
        f"true peak {decision.true_peak_dbtp_before:+.1f} -> "
        f"{decision.true_peak_dbtp_after:+.1f} dBTP"
    )
