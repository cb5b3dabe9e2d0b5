"""Chunked vs whole-file encoding: max |difference| per codec and overlap (random-init models).

Example
-------
    .venv/bin/python benchmarks/chunk_agreement.py --codecs dac-44k,encodec-24k --seconds 4.3
"""

from __future__ import annotations

import argparse

import numpy as np


def agreement(name: str, seconds: float, chunk_seconds: float, overlaps: list[float]) -> str:
    """One markdown row: shape, largest latent value, max difference for each overlap."""
    import torch

    from latentroom.audio.types import Audio
    from latentroom.codecs.chunking import encode_long
    from latentroom.codecs.registry import get_codec

    torch.set_num_threads(1)
    codec = get_codec(name, random_init=True)
    rng = np.random.default_rng(0)
    n_samples = round(seconds * codec.sample_rate)
    audio = Audio(0.1 * rng.standard_normal((codec.channels, n_samples)), codec.sample_rate)
    whole = codec.encode(audio).data
    cells = [f"{name}", f"{whole.shape[0]} x {whole.shape[1]}", f"{np.abs(whole).max():.3g}"]
    for overlap in overlaps:
        chunked = encode_long(codec, audio, chunk_seconds=chunk_seconds, overlap_seconds=overlap)
        cells.append(f"{np.abs(chunked.data - whole).max():.2g}")
    return "| " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default="dac-44k,acestep-vae,encodec-24k,mimi")
    parser.add_argument("--seconds", type=float, default=4.3, help="noise length")
    parser.add_argument("--chunk-seconds", type=float, default=1.5)
    parser.add_argument("--overlaps", default="0.25,1.0", help="comma-separated seconds")
    args = parser.parse_args()
    overlaps = [float(o) for o in args.overlaps.split(",")]
    print("| codec | frames x dims | largest latent value | "
          + " | ".join(f"{o:g} s overlap" for o in overlaps) + " |")  # fmt: skip
    print("|---" * (3 + len(overlaps)) + "|")
    for name in args.codecs.split(","):
        print(agreement(name, args.seconds, args.chunk_seconds, overlaps), flush=True)


if __name__ == "__main__":
    main()
