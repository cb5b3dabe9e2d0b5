"""Detect truncated WAV and AIFF files, which libsndfile reads silently as shorter audio."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# Streaming writers put these in the data-size field when the length is not known yet.
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)


def missing_data_bytes(path: Path) -> int:
    """Bytes of sample data a WAV or AIFF header promises but the file does not hold.

    Parameters
    ----------
    path : Path
        An existing file; formats other than RIFF/WAVE and FORM/AIFF(C) report 0.

    Returns
    -------
    int >= 0
        0 for complete files, other formats and headers that do not state a length.
    """
    with path.open("rb") as handle:
        chunk = _find_format_chunk(handle, wav_id=b"data", aiff_id=b"SSND")
    if chunk is None:
        return 0
    body_start, declared = chunk
    if declared in _UNKNOWN_SIZES:
        return 0
    return max(0, declared - (path.stat().st_size - body_start))


def _find_format_chunk(
    handle: BinaryIO, *, wav_id: bytes, aiff_id: bytes
) -> tuple[int, int] | None:
    """In a WAV (little-endian sizes) or AIFF (big-endian) file, find chunk ``wav_id``/``aiff_id``.

    Returns (offset of the chunk body, declared body size), or None for other formats and files
    without that chunk. ``handle`` must be at the start of the file.
    """
    head = handle.read(12)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _find_chunk(handle, wav_id, "<I")
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return _find_chunk(handle, aiff_id, ">I")
    return None


def _find_chunk(handle: BinaryIO, chunk_id: bytes, size_format: str) -> tuple[int, int] | None:
    """Walk the chunk list; return (offset of the chunk body, declared body size) or None."""
    while True:
        header = handle.read(8)
        if len(header) < 8:
            return None
        (size,) = struct.unpack(size_format, header[4:])
        if header[:4] == chunk_id:
            return handle.tell(), size
        handle.seek(size + (size & 1), 1)  # chunks are padded to an even length


def clear_peak_timestamp(path: Path) -> None:
    """Zero the wall-clock timestamp libsndfile writes into the PEAK chunk of float WAV/AIFF files.

    Without this, writing the same samples twice gives files that differ in four bytes, which
    breaks byte-identical reruns and resumes. Files without a PEAK chunk are left untouched.
    """
    with path.open("r+b") as handle:
        chunk = _find_format_chunk(handle, wav_id=b"PEAK", aiff_id=b"PEAK")
        if chunk is None or chunk[1] < 8:
            return
        # PEAK body: version (4 bytes), timestamp (4 bytes), then one (value, position) per channel.
        handle.seek(chunk[0] + 4)
        handle.write(b"\0\0\0\0")
