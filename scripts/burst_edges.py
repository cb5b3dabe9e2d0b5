"""Does a codec keep a hand clap's second burst? Onsets kept and the burst's edge, per clip.

A clap is two or three bursts a few tens of ms apart. Per clip this prints the onsets the
reference has and how many each model keeps (within one latent frame, as `codec eval` scores
them), and for the burst that follows the first onset: where the envelope dips before it (ms
after the first onset), how deep the dip is (dB from dip to the burst's peak) and how long the
burst takes to rise from 10 % to 90 % of that span (ms). The envelope is the RMS over 1 ms,
every 0.25 ms. Used for docs/builtin-codec.md ("A 512-point main head: the clap check").

    python scripts/burst_edges.py CLIP_DIR MODEL_DIR... [--dip-ms 10 45]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from latentroom.audio.io import load_audio
from latentroom.codecs.registry import get_codec
from latentroom.evaluation.onsets import detect_onsets, match_onsets

ENVELOPE_SECONDS = 0.001
ENVELOPE_HOP_SECONDS = 0.00025
RISE_SEARCH_SECONDS = 0.015  # the burst's peak is looked for this long after the dip


def envelope(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """RMS [shape=(F,)] over 1 ms windows of ``x`` [shape=(N,)], one every 0.25 ms."""
    window = int(ENVELOPE_SECONDS * sample_rate)
    hop = int(ENVELOPE_HOP_SECONDS * sample_rate)
    frames = np.lib.stride_tricks.sliding_window_view(x, window)[::hop]
    return np.sqrt(np.square(frames).mean(axis=1) + 1e-12)


def second_burst(
    x: np.ndarray, sample_rate: int, first_onset: float, dip_window: tuple[float, float]
) -> tuple[float, float, float]:
    """``(dip ms after the first onset, dip depth dB, 10-90 % rise ms)`` of the next burst."""
    env = envelope(x, sample_rate)
    step = ENVELOPE_HOP_SECONDS
    start = int(first_onset / step)
    low, high = start + int(dip_window[0] / 1000 / step), start + int(dip_window[1] / 1000 / step)
    dip = low + int(np.argmin(env[low:high]))
    peak = dip + int(np.argmax(env[dip : dip + int(RISE_SEARCH_SECONDS / step)]))
    floor, top = env[dip], env[peak]
    rising = env[dip : peak + 1]
    t10 = int(np.argmax(rising >= floor + 0.1 * (top - floor)))
    t90 = int(np.argmax(rising >= floor + 0.9 * (top - floor)))
    return (dip - start) * step * 1000, 20 * np.log10(top / floor), (t90 - t10) * step * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", type=Path, help="folder of clap clips (searched recursively)")
    parser.add_argument("models", nargs="+", help="builtin model folders")
    parser.add_argument(
        "--dip-ms", nargs=2, type=float, default=(10.0, 45.0), help="where to look for the dip"
    )
    args = parser.parse_args()
    codecs = {name: get_codec(f"builtin:{name}") for name in args.models}
    names = ["reference", *codecs]
    print(
        "| clip | onsets | "
        + " | ".join(f"{n}: kept (extra), dip ms / dB, rise ms" for n in names)
        + " |"
    )
    print("|---" * (len(names) + 2) + "|")
    for path in sorted(args.clips.rglob("*.wav")):
        audio = load_audio(path, sample_rate=48_000, channels=1)
        x, rate = audio.samples[0], audio.sample_rate
        reference = detect_onsets(x, rate)
        cells = [path.stem, str(reference.size)]
        dip, depth, rise = second_burst(x, rate, reference[0], args.dip_ms)
        cells.append(f"{dip:.1f} / {depth:.1f}, {rise:.1f}")
        for codec in codecs.values():
            y = codec.decode(codec.encode(audio)).samples[0][: x.size]
            found = detect_onsets(y, rate)
            kept = match_onsets(reference, found, codec.hop_length / codec.sample_rate)
            dip, depth, rise = second_burst(y, rate, reference[0], args.dip_ms)
            cells.append(f"{kept} ({found.size - kept}), {dip:.1f} / {depth:.1f}, {rise:.1f}")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
