"""Read composition inputs: latent files as they are, audio files encoded with a codec."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentroom.errors import ConfigError, InvalidLatentError
from latentroom.latents.trajectory import LatentTrajectory

if TYPE_CHECKING:
    from latentroom.codecs.base import Codec


def is_latent_file(path: str | os.PathLike[str]) -> bool:
    """True for ``.npy`` files and for ``.wav`` files with a latent sidecar (``NAME.json``).

    A WAV whose ``NAME.json`` describes something else (a Koenig seed's parameters) is audio.
    """
    from latentroom.latents.sidecar import is_latent_sidecar, sidecar_path

    path = Path(path)
    suffix = path.suffix.lower()
    return suffix == ".npy" or (suffix == ".wav" and is_latent_sidecar(sidecar_path(path)))


def load_input(
    path: str | os.PathLike[str],
    *,
    codec: Callable[[], Codec] | None = None,
    frame_rate: float | None = None,
) -> LatentTrajectory:
    """Read one input as latents; audio is encoded with the codec ``codec()`` builds.

    Parameters
    ----------
    path : path-like
        A latent file (``.npy``, latent WAV with sidecar) or an audio file.
    codec : callable returning Codec, or None
        Called only for audio inputs (so listing latent files builds no model). None refuses
        audio inputs.
    frame_rate : float > 0 or None
        Frame rate for a ``.npy`` file without a sidecar.

    Returns
    -------
    LatentTrajectory
        With ``meta["source"]`` set to the path.
    """
    from latentroom.audio import load_audio
    from latentroom.latents.files import load_latents

    path = Path(path)
    if is_latent_file(path):
        trajectory = load_latents(path, frame_rate=frame_rate)
    else:
        if codec is None:
            raise ConfigError(
                f"{path}: looks like audio (no .npy, no latent sidecar); pass --codec NAME to "
                "encode it, or give a latent file"
            )
        trajectory = codec().encode(load_audio(path))
    return trajectory.with_data(trajectory.data, source=str(path))


def load_inputs(
    paths: list[Path],
    *,
    codec_name: str | None = None,
    device: str = "cpu",
    dtype: str = "float32",
) -> list[LatentTrajectory]:
    """``load_input`` for each path; the codec ``codec_name`` is built once (on ``device`` in
    ``dtype``), on first audio."""
    from latentroom.codecs import get_codec

    built: list[Codec] = []

    def build() -> Codec:
        if not built:
            built.append(get_codec(str(codec_name), device=device, dtype=dtype))
        return built[0]

    return [load_input(p, codec=build if codec_name else None) for p in paths]


def check_same_space(trajectory: LatentTrajectory, codec: Codec, where: str) -> None:
    """Refuse latents that do not live in ``codec``'s latent space (dims, frame rate, name)."""
    if trajectory.latent_dim != codec.latent_dim:
        raise InvalidLatentError(
            f"{where}: {trajectory.latent_dim}-d latents, but codec {codec.name!r} is "
            f"{codec.latent_dim}-d; use latents from that codec"
        )
    if trajectory.codec and trajectory.codec != codec.name:
        raise InvalidLatentError(
            f"{where}: latents come from codec {trajectory.codec!r}, not {codec.name!r}; "
            "set the spec's codec to match"
        )
    if abs(trajectory.frame_rate - codec.frame_rate) > 1e-9 * codec.frame_rate:
        raise InvalidLatentError(
            f"{where}: frame rate {trajectory.frame_rate} Hz differs from codec "
            f"{codec.name!r}'s {codec.frame_rate} Hz"
        )


def pattern_trajectory(
    name: str,
    a: LatentTrajectory,
    b: LatentTrajectory | None = None,
    *,
    seed: int | None = None,
    **options: Any,
) -> LatentTrajectory:
    """Run pattern ``name`` (see ``latentroom.compose.patterns``) on trajectories.

    A and B must share the latent space (dims, frame rate); the result keeps A's codec and
    meta, plus ``pattern``, ``seed`` and ``options``.
    """
    from latentroom.compose.patterns import apply_pattern

    if b is not None and abs(a.frame_rate - b.frame_rate) > 1e-9 * a.frame_rate:
        raise InvalidLatentError(
            f"A runs at {a.frame_rate} Hz but B at {b.frame_rate} Hz; use latents from one codec"
        )
    data = apply_pattern(name, a.data, None if b is None else b.data, rng=seed, **options)
    return a.with_data(data, pattern=name, seed=seed, pattern_options=dict(options))
