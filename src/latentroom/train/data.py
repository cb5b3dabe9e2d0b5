"""Training data for the codec: any folder of audio, split per file, sampled per step."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from latentroom.errors import InvalidAudioError

logger = logging.getLogger(__name__)

TRAIN_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def find_audio_files(root: Path) -> list[Path]:
    """Every WAV/FLAC/OGG/AIFF file under ``root`` (recursively), sorted by relative path.

    Raises
    ------
    InvalidAudioError
        ``root`` is missing or holds no audio files.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidAudioError(f"{root}: no such folder; --data takes a folder of audio files")
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in TRAIN_SUFFIXES)
    if not files:
        raise InvalidAudioError(
            f"{root}: no audio files found (looked for {', '.join(TRAIN_SUFFIXES)}, recursively)"
        )
    return files


@dataclass(frozen=True)
class TrainingData:
    """Mono clips at the model rate: training parts and fixed validation segments.

    Attributes
    ----------
    clips : list of np.ndarray [shape=(N,)]
        The training part (head) of every file: int16 (read as ``value / 32768``) where the
        file's samples are exactly 16-bit values, else float32. Hard links to one file share
        one array.
    validation : np.ndarray [shape=(V, 1, S)]
        Held-out segments of ``S`` samples cut from the file tails (zero-padded).
    n_files : int
        Files read.
    """

    clips: list[np.ndarray]
    validation: np.ndarray
    n_files: int

    @property
    def n_samples(self) -> int:
        """Training samples in total, over all clips."""
        return int(sum(c.size for c in self.clips))

    def batch(
        self,
        rng: np.random.Generator,
        batch_size: int,
        n_samples: int,
        gain_db: tuple[float, float],
    ) -> np.ndarray:
        """Random segments [shape=(batch_size, 1, n_samples)], files weighted by length."""
        lengths = np.array([c.size for c in self.clips], dtype=np.float64)
        picks = rng.choice(len(self.clips), size=batch_size, p=lengths / lengths.sum())
        out = np.zeros((batch_size, 1, n_samples), dtype=np.float32)
        for row, index in enumerate(picks):
            clip = self.clips[index]
            start = int(rng.integers(0, max(1, clip.size - n_samples + 1)))
            piece = clip[start : start + n_samples]
            if piece.dtype == np.int16:  # division by a power of two: the floats it was read as
                piece = piece.astype(np.float32) / np.float32(32768)
            out[row, 0, : piece.size] = piece * 10.0 ** (rng.uniform(*gain_db) / 20.0)
        return out


def load_training_data(
    root: Path, *, sample_rate: int, n_samples: int, val_fraction: float, n_val_segments: int
) -> TrainingData:
    """Read every audio file under ``root`` as mono at ``sample_rate`` and split it.

    The last ``val_fraction`` of every file is held out (so any folder, even one long file,
    gets a validation set); the held-out tails are cut into ``n_samples`` segments and
    ``n_val_segments`` of them, evenly spaced over the list, make the validation set.

    Memory: a 16-bit corpus is held as int16, and hard links (a folder repeated with
    ``cp -al`` to weight it) are read once. The real + synthetic mix of docs/builtin-codec.md
    (6.7 h of real clips, the synthetic hour three times) then holds 2.5 GB of audio and a
    trainer 4.3 GB resident, not 8.6 GB, so two trainers fit on one machine. The batches are the
    same floats either way.
    """
    from latentroom.audio.io import load_audio

    files = find_audio_files(root)
    clips, tails = [], []
    read: dict[tuple[int, int], tuple[np.ndarray, list[np.ndarray]]] = {}
    for path in files:
        stat = path.stat()
        key = (stat.st_dev, stat.st_ino)
        if key not in read:
            samples = load_audio(path, sample_rate=sample_rate, channels=1).samples[0]
            n_val = int(samples.size * val_fraction)
            head = _compact(np.ascontiguousarray(samples[: samples.size - n_val]))
            read[key] = (head, _cut(samples[samples.size - n_val :], n_samples))
        head, tail = read[key]
        clips.append(head)
        tails.extend(tail)
    total = sum(c.size for c in clips)
    if total < n_samples:  # every batch would be mostly zero padding: nothing to learn from
        raise InvalidAudioError(
            f"{root}: {total} samples of training audio ({total / sample_rate:.3f} s) is less "
            f"than one training segment of {n_samples} samples ({n_samples / sample_rate:.2f} s); "
            "give more or longer audio files"
        )
    if not tails:
        tails = [_cut(clips[0], n_samples)[0]]
    picks = np.unique(np.linspace(0, len(tails) - 1, min(n_val_segments, len(tails))).round())
    validation = np.stack([tails[int(i)] for i in picks])[:, None, :]
    logger.info("training data: %d files, %d validation segments", len(files), len(validation))
    return TrainingData(clips, validation.astype(np.float32), len(files))


def _compact(x: np.ndarray) -> np.ndarray:
    """``x`` as int16 when every sample is exactly ``k / 32768`` (a 16-bit file), else ``x``."""
    scaled = x * np.float32(32768)
    if scaled.size and scaled.min() >= -32768 and scaled.max() <= 32767:
        as_int = scaled.astype(np.int16)
        if np.array_equal(as_int, scaled):
            return as_int
    return x


def _cut(x: np.ndarray, n_samples: int) -> list[np.ndarray]:
    """``x`` cut into ``n_samples`` pieces; the last one zero-padded (none if ``x`` is empty)."""
    pieces = []
    for start in range(0, x.size, n_samples):
        piece = np.zeros(n_samples, dtype=np.float32)
        chunk = x[start : start + n_samples]
        piece[: chunk.size] = chunk
        pieces.append(piece)
    return pieces
