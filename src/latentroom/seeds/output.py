"""Writing a rendered seed: the audio, its JSON sidecar and an optional plot, all or nothing."""

from __future__ import annotations

import json
import os
from contextlib import ExitStack
from pathlib import Path

from latentroom.audio.io import check_audio_output, save_audio
from latentroom.fileio import atomic_path
from latentroom.seeds.render import RenderedSeed


def seed_output_paths(path: str | os.PathLike[str], *, plot: bool = False) -> list[Path]:
    """The files ``write_seed`` writes: the audio, ``STEM.json`` and with ``plot`` ``STEM.png``."""
    path = Path(path)
    paths = [path, path.with_suffix(".json")]
    if plot:
        paths.append(path.with_suffix(".png"))
    return paths


def write_seed(
    rendered: RenderedSeed,
    path: str | os.PathLike[str],
    *,
    subtype: str | None = None,
    plot: bool = False,
) -> list[Path]:
    """Write the seed's audio, its JSON sidecar and (with ``plot``) its figure.

    Every file is first written to a temporary file beside its target; the targets are
    replaced only once all of them were written, so an error leaves no new file behind.
    Existing targets are overwritten: check them first with ``latentroom.fileio.check_outputs``.

    Parameters
    ----------
    rendered : RenderedSeed
        What ``render_seed`` returned.
    path : path-like
        The audio file (.wav, .flac, .ogg, .aiff); the sidecar and plot share its stem.
    subtype : str or None
        soundfile subtype; ``None`` is 32-bit float for WAV (see ``save_audio``).
    plot : bool
        Also write the waveform / spectrogram / step-grid PNG.

    Returns
    -------
    list of Path
        The written files, audio first (as ``seed_output_paths``).
    """
    paths = seed_output_paths(path, plot=plot)
    _, subtype = check_audio_output(paths[0], subtype=subtype)
    sidecar = {**rendered.to_dict(), "audio_file": paths[0].name, "subtype": subtype}
    with ExitStack() as stack:
        temporary = [stack.enter_context(atomic_path(target)) for target in paths]
        save_audio(temporary[0], rendered.audio, subtype=subtype)
        temporary[1].write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")
        if plot:
            from latentroom.plots import plot_seed

            plot_seed(rendered, temporary[2])
    return paths
