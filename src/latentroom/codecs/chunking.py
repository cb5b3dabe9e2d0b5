"""Encoding long audio in hop-aligned overlapping chunks, with bounded memory in the model.

Each chunk owns a run of ``chunk_frames`` latent frames (its *core*) and is encoded together with
``context_frames`` of audio on each side; only the core's frames are kept. For a convolutional
codec whose receptive field fits in the context, frame ``t`` then sees the same samples as in
whole-file encoding, so the result equals it up to float rounding: for a random-init DAC
encoder (``tests/test_chunking.py``) the largest difference is 4.8e-7 on latents of magnitude
~0.8 with 0.05 s of context or more; the test holds it to 1e-5. Codecs with attention or
recurrence over the whole input (Mimi's transformer, EnCodec's LSTM) see only
``chunk + 2 * overlap`` seconds, so their chunked latents differ near chunk edges. Measured on the
full-size random-init models (4.3 s of noise, 1.5 s chunks, 1 s overlap; see
benchmarks/RESULTS.md): DAC-44k 1.6e-8, ACE-Step VAE 7.5e-8, EnCodec-24k 2.2e-8 (2.3e-5 with
0.25 s overlap), Mimi 2.3e-3 on latents up to 17.5.

``encode_file`` streams from disk (soundfile blocks, remix, streaming soxr), so a long file never
sits whole in memory at the codec's rate; only its latents do. ``iter_decode`` / ``decode_long``
do the same for decoding: chunks of frames with context frames on each side.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.audio.checks import check_audio
from latentroom.audio.convert import remix
from latentroom.audio.types import MAX_SAMPLE_RATE, MIN_SAMPLE_RATE, Audio
from latentroom.errors import ConfigError, InvalidAudioError
from latentroom.latents.trajectory import LatentTrajectory
from latentroom.progress import Progress

if TYPE_CHECKING:
    import torch

    from latentroom.codecs.base import Codec

DEFAULT_CHUNK_SECONDS = 20.0  # audio per model call (core); bounds model memory
DEFAULT_OVERLAP_SECONDS = 1.0  # context each side; covers the receptive field of DAC / Oobleck
_BLOCK_SECONDS = 10.0  # how much encode_file reads from disk at a time


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk sizes in latent frames (so every chunk boundary falls on a hop).

    Attributes
    ----------
    chunk_frames : int > 0
        Frames kept from each chunk.
    context_frames : int >= 0
        Frames of extra audio encoded on each side and thrown away.
    """

    chunk_frames: int
    context_frames: int

    @classmethod
    def from_seconds(cls, codec: Codec, chunk_seconds: float, overlap_seconds: float) -> ChunkPlan:
        """Round ``chunk_seconds`` to whole frames (at least one) and ``overlap_seconds`` up."""
        if not chunk_seconds > 0:
            raise ConfigError(f"chunk_seconds must be > 0; got {chunk_seconds}")
        if not overlap_seconds >= 0:
            raise ConfigError(f"overlap_seconds must be >= 0; got {overlap_seconds}")
        chunk = max(1, round(chunk_seconds * codec.frame_rate))
        return cls(chunk, math.ceil(overlap_seconds * codec.frame_rate))


def encode_long(
    codec: Codec,
    audio: Audio,
    *,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    generator: torch.Generator | None = None,
    sample: bool = False,
    progress: Progress | None = None,
) -> LatentTrajectory:
    """Encode audio of any length in overlapping chunks.

    Parameters
    ----------
    codec : Codec
        Any codec; exact agreement with ``codec.encode`` needs a convolutional one.
    audio : Audio
        Samples [shape=(C, N)] at any rate; converted to the codec's format first.
    chunk_seconds : float > 0
        Audio whose frames each model call keeps.
    overlap_seconds : float >= 0
        Context encoded on each side of a chunk and discarded.
    generator : torch.Generator or None
        Seeds posterior sampling (chunk after chunk, so the result is reproducible but not the
        same draw as whole-file sampling).
    sample : bool
        Sample the posterior (stochastic codecs only).
    progress : callable or None
        Called with the number of latent frames each chunk finished.

    Returns
    -------
    LatentTrajectory
        ``data`` [shape=(codec.n_frames(N'), D)], ``meta`` as ``codec.encode`` gives plus
        ``chunk_frames`` and ``context_frames``.
    """
    plan = ChunkPlan.from_seconds(codec, chunk_seconds, overlap_seconds)
    converted, record = codec.prepare(audio)
    encoder = _StreamEncoder(codec, plan, generator=generator, sample=sample, progress=progress)
    return encoder.run([converted.samples], record)


def encode_file(
    codec: Codec,
    path: str | os.PathLike[str],
    *,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    generator: torch.Generator | None = None,
    sample: bool = False,
    progress: Progress | None = None,
) -> LatentTrajectory:
    """Encode an audio file streamed from disk; same result as ``encode_long(load_audio(path))``.

    Parameters are those of ``encode_long``; ``path`` is any file soundfile reads. Memory holds
    one read block, one chunk with its context, and the latents.

    Raises
    ------
    InvalidAudioError
        Missing, unreadable or empty files, NaN samples, rates outside 1 kHz..384 kHz.
    """
    plan = ChunkPlan.from_seconds(codec, chunk_seconds, overlap_seconds)
    path = Path(path)
    file_rate, file_channels = audio_file_info(path)
    record = {
        "input_sample_rate": file_rate,
        "input_channels": file_channels,
        "resampled": file_rate != codec.sample_rate,
        "remixed": file_channels != codec.channels,
    }
    blocks = _converted_blocks(path, codec.sample_rate, codec.channels)
    encoder = _StreamEncoder(codec, plan, generator=generator, sample=sample, progress=progress)
    return encoder.run(blocks, record)


def iter_decode(
    codec: Codec,
    trajectory: LatentTrajectory,
    *,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Iterator[np.ndarray]:
    """Decode in overlapping chunks of frames; yield the audio of each chunk's core.

    The mirror of ``encode_long``: each model call decodes ``chunk + 2 * overlap`` seconds of
    frames and keeps the ``hop_length`` samples of each core frame, so a convolutional decoder
    gives whole-trajectory decoding up to float rounding while memory stays bounded.

    Yields
    ------
    np.ndarray [shape=(C, n), dtype=float32]
        Consecutive blocks at ``codec.sample_rate``; together ``T * hop_length`` samples.

    Raises
    ------
    InvalidLatentError
        Latents the codec cannot decode (dim, NaN, no frames).
    ConfigError
        A codec whose decoder does not return ``hop_length`` samples per frame.
    """
    plan = ChunkPlan.from_seconds(codec, chunk_seconds, overlap_seconds)
    codec.check_latent(trajectory)
    hop, n_frames = codec.hop_length, trajectory.n_frames
    for start in range(0, n_frames, plan.chunk_frames):
        end = min(start + plan.chunk_frames, n_frames)
        first, last = max(0, start - plan.context_frames), min(n_frames, end + plan.context_frames)
        piece = trajectory.with_data(trajectory.data[first:last])
        audio = codec.decode(piece, generator=generator)
        if audio.n_samples != (last - first) * hop:
            raise ConfigError(
                f"codec {codec.name!r} decoded {last - first} frames to {audio.n_samples} "
                f"samples, not {(last - first) * hop}; decode without chunking (--chunk-seconds 0)"
            )
        yield audio.samples[:, (start - first) * hop : (end - first) * hop]
        if progress is not None:
            progress(end - start)


def decode_long(
    codec: Codec,
    trajectory: LatentTrajectory,
    *,
    chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
    overlap_seconds: float = DEFAULT_OVERLAP_SECONDS,
    generator: torch.Generator | None = None,
    progress: Progress | None = None,
) -> Audio:
    """``iter_decode`` gathered into one ``Audio`` [shape=(C, T * hop_length)]."""
    blocks = iter_decode(
        codec,
        trajectory,
        chunk_seconds=chunk_seconds,
        overlap_seconds=overlap_seconds,
        generator=generator,
        progress=progress,
    )
    return Audio(np.concatenate(list(blocks), axis=1), codec.sample_rate)


def audio_file_info(path: Path) -> tuple[int, int]:
    """Sample rate and channel count of an audio file, refusing what ``load_audio`` refuses."""
    import soundfile as sf

    if not path.is_file():
        raise InvalidAudioError(f"{path}: no such audio file; check the path")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError) as err:
        raise InvalidAudioError(
            f"{path}: not a readable audio file; give a WAV, FLAC, OGG or AIFF file"
        ) from err
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise InvalidAudioError(
            f"{path}: sample rate {info.samplerate} Hz is outside "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz"
        )
    if info.frames == 0:
        raise InvalidAudioError(f"{path}: audio has zero length; give a file with sound in it")
    return int(info.samplerate), int(info.channels)


def _converted_blocks(path: Path, sample_rate: int, channels: int) -> Iterator[np.ndarray]:
    """Yield the file as ``(channels, n)`` blocks at ``sample_rate`` (remix, stream-resample)."""
    import soundfile as sf
    import soxr

    with sf.SoundFile(str(path)) as handle:
        stream = None
        if handle.samplerate != sample_rate:
            stream = soxr.ResampleStream(
                handle.samplerate, sample_rate, channels, dtype="float32", quality="VHQ"
            )
        block = max(1, round(_BLOCK_SECONDS * handle.samplerate))
        while True:
            frames = handle.read(block, dtype="float32", always_2d=True)
            last = frames.shape[0] < block
            if frames.shape[0]:
                audio = Audio(np.ascontiguousarray(frames.T), handle.samplerate)
                frames = remix(check_audio(audio, source=str(path)), channels).samples.T
            else:
                frames = np.zeros((0, channels), dtype=np.float32)
            if stream is not None:
                frames = stream.resample_chunk(np.ascontiguousarray(frames), last=last)
            yield np.ascontiguousarray(np.asarray(frames, dtype=np.float32).T)
            if last:
                return


class _StreamEncoder:
    """Consumes audio blocks at the codec's format; encodes each chunk once its context is in."""

    def __init__(
        self,
        codec: Codec,
        plan: ChunkPlan,
        *,
        generator: torch.Generator | None,
        sample: bool,
        progress: Progress | None,
    ) -> None:
        self.codec = codec
        self.plan = plan
        self.options: dict[str, Any] = {"generator": generator, "sample": sample}
        self.progress = progress
        self.buffer = np.zeros((codec.channels, 0), dtype=np.float32)
        self.buffer_start = 0  # absolute sample index of buffer[:, 0]
        self.next_frame = 0  # first frame not encoded yet
        self.parts: list[np.ndarray] = []
        self.first_meta: dict[str, Any] = {}

    def run(self, blocks: Iterable[np.ndarray], record: dict[str, Any]) -> LatentTrajectory:
        """Feed every block, flush the tail, and assemble the trajectory."""
        hop, span = self.codec.hop_length, self.plan.chunk_frames + self.plan.context_frames
        for block in blocks:
            self.buffer = np.concatenate([self.buffer, block], axis=1)
            while self._end() >= (self.next_frame + span) * hop:
                end_frame = self.next_frame + self.plan.chunk_frames
                self._encode_chunk(end_frame, (end_frame + self.plan.context_frames) * hop)
        n_samples = self._end()
        if n_samples == 0:
            raise InvalidAudioError("audio has zero length; give a file with sound in it")
        total = self.codec.n_frames(n_samples)
        while self.next_frame < total:
            end_frame = min(self.next_frame + self.plan.chunk_frames, total)
            self._encode_chunk(
                end_frame, min(n_samples, (end_frame + self.plan.context_frames) * hop)
            )
        meta = {
            **self.first_meta,
            **record,
            "n_samples": n_samples,
            "chunk_frames": self.plan.chunk_frames,
            "context_frames": self.plan.context_frames,
        }
        data = np.concatenate(self.parts, axis=0)
        return LatentTrajectory(data, self.codec.frame_rate, self.codec.name, meta)

    def _end(self) -> int:
        return self.buffer_start + self.buffer.shape[1]

    def _encode_chunk(self, end_frame: int, end_sample: int) -> None:
        """Encode frames ``[next_frame, end_frame)`` from samples up to ``end_sample``."""
        hop, start_frame = self.codec.hop_length, self.next_frame
        first_frame = max(0, start_frame - self.plan.context_frames)
        window = self.buffer[
            :, first_frame * hop - self.buffer_start : end_sample - self.buffer_start
        ]
        latents = self.codec.encode(Audio(window, self.codec.sample_rate), **self.options)
        keep = latents.data[start_frame - first_frame : end_frame - first_frame]
        if keep.shape[0] != end_frame - start_frame:
            raise ConfigError(
                f"codec {self.codec.name!r} gave {latents.n_frames} frames for "
                f"{window.shape[1]} samples, too few for hop-aligned chunks; "
                "encode without chunking (--chunk-seconds 0)"
            )
        self.parts.append(keep)
        self.first_meta = self.first_meta or latents.meta
        self.next_frame = end_frame
        drop = max(0, (end_frame - self.plan.context_frames) * hop) - self.buffer_start
        if drop > 0:
            self.buffer = self.buffer[:, drop:]
            self.buffer_start += drop
        if self.progress is not None:
            self.progress(end_frame - start_frame)
