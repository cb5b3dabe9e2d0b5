"""Perceptual measure speed: the full measure set (``measure_pair``, voice family) on N minutes.

The audio is espeak-ng speech in clips of ``--clip-seconds`` at 44.1 kHz (so the 16 kHz
resampling is timed too); each clip is compared with a degraded copy (band-limited to 5.5 kHz
and white noise at 20 dB SNR), as ``codec eval --perceptual`` compares a decoded clip with its
original. Model loading is done on a 2 s clip first and reported apart. The time of each measure
family is taken by wrapping the functions ``suite`` calls.

Target (issue 16): 10 minutes in <= 60 s on 2 CPU cores.

CREPE runs with the library's defaults (tiny model, 10 ms frames) unless ``--pitch-model`` /
``--pitch-hop-ms`` say otherwise; ``--device cuda`` puts CREPE and the speaker encoder on a GPU.

Examples
--------
    python benchmarks/perceptual_speed.py --minutes 1 --note "smoke run"
    python benchmarks/perceptual_speed.py --minutes 10 --threads 2 --markdown
    python benchmarks/perceptual_speed.py --minutes 10 --pitch-hop-ms 20 --device cuda
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RATE = 44_100
SENTENCES = (
    "the river carries light across the stone bridge every morning",
    "seven green windows open slowly under the winter shadow",
    "every evening the old tower listens to the water and waits",
    "small paper boats return again because the summer wind turns",
)
FAMILIES = (
    "track_pitch",
    "pitch_errors",
    "speech_share",
    "speaker_similarity",
    "pesq_wb",
    "stoi",
    "dnsmos",
)


def speech_clip(seconds: float, index: int) -> np.ndarray:
    """``seconds`` of espeak-ng sentences [shape=(1, N)] at 44.1 kHz, one voice per clip."""
    import soxr

    from latentroom.datasets.speech import VOICES, speak

    voice = VOICES[index % len(VOICES)]
    pieces, total = [], 0
    while total < seconds * RATE:
        samples, rate = speak(
            SENTENCES[(index + len(pieces)) % len(SENTENCES)],
            voice=voice,
            pitch=40 + 5 * (index % 8),
            speed=160,
        )
        piece = np.concatenate([soxr.resample(samples, rate, RATE), np.zeros(RATE // 4)])
        pieces.append(piece)
        total += piece.size
    x = np.concatenate(pieces)[: round(seconds * RATE)]
    return (0.5 * x / np.abs(x).max())[None]


def degrade(x: np.ndarray, seed: int) -> np.ndarray:
    """Band-limit to 5.5 kHz and add white noise 20 dB below the signal."""
    import soxr

    low = soxr.resample(soxr.resample(x[0], RATE, 11_025), 11_025, RATE)[: x.shape[1]]
    noise = np.random.default_rng(seed).standard_normal(low.size)
    noise *= np.sqrt(np.mean(low**2) / np.mean(noise**2) / 100.0)
    return (low + noise)[None]


def timed(
    table: dict[str, float], cpu_table: dict[str, float], name: str, fn: Callable[..., Any]
) -> Callable[..., Any]:
    """``fn`` that adds its wall time to ``table[name]`` and its process CPU time to
    ``cpu_table[name]`` (on a shared machine the CPU time is the steadier of the two)."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start, cpu = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            table[name] += time.perf_counter() - start
            cpu_table[name] += time.process_time() - cpu

    return wrapper


def run(
    minutes: float, clip_seconds: float, threads: int, options: dict[str, Any]
) -> dict[str, Any]:
    """Build the clips, load the models, then time ``measure_pair(**options)`` over every clip."""
    import functools

    import torch

    from latentroom.evaluation.perceptual import suite

    measure_pair = functools.partial(suite.measure_pair, voice=True, **options)

    torch.set_num_threads(threads)
    load_average = os.getloadavg()[0]  # before this run adds to it
    n_clips = max(1, round(minutes * 60 / clip_seconds))
    clips = [speech_clip(clip_seconds, i) for i in range(n_clips)]
    degraded = [degrade(x, i) for i, x in enumerate(clips)]
    start = time.perf_counter()
    measure_pair(clips[0][:, : 2 * RATE], degraded[0][:, : 2 * RATE], RATE)
    load = time.perf_counter() - start
    stages: dict[str, float] = defaultdict(float)
    cpu_stages: dict[str, float] = defaultdict(float)
    for name in FAMILIES:
        setattr(suite, name, timed(stages, cpu_stages, name, getattr(suite, name)))
    start, cpu = time.perf_counter(), time.process_time()
    results = [measure_pair(x, y, RATE) for x, y in zip(clips, degraded, strict=True)]
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    not_applicable = sum(m.value is None for r in results for m in r.values())
    return {
        "minutes": n_clips * clip_seconds / 60,
        "clips": n_clips,
        "threads": threads,
        "options": options,
        "load_average_at_start": load_average,
        "load_s": load,
        "wall_s": wall,
        "cpu_s": cpu,
        "stages_s": {**stages, "rest": wall - sum(stages.values())},
        "stages_cpu_s": {**cpu_stages, "rest": cpu - sum(cpu_stages.values())},
        "not_applicable": not_applicable,
        "means": {
            k: float(np.mean([r[k].value for r in results if r[k].value is not None]))
            for k in results[0]
            if any(r[k].value is not None for r in results)
        },
    }


def machine() -> str:
    """CPU count and model, Python, numpy and torch versions."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"numpy {np.__version__}, torch {torch.__version__}"
    )


def report(args: argparse.Namespace, row: dict[str, Any]) -> str:
    """A RESULTS.md section: title, command, date, machine, settings, table."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## perceptual speed, {stamp}" + (f" ({args.note})" if args.note else "")
    command = shlex.join(["python", "benchmarks/perceptual_speed.py", *sys.argv[1:]])
    stages = ", ".join(f"{k} {v:.0f} s" for k, v in row["stages_s"].items())
    cpu_stages = ", ".join(f"{k} {v:.1f} s" for k, v in row["stages_cpu_s"].items())
    return "\n".join(
        [
            title,
            "",
            f"- command: `{command}`",
            f"- machine: {machine()}; load average at start {row['load_average_at_start']:.1f}",
            f"- {row['clips']} espeak-ng clips of {args.clip_seconds:g} s at 44.1 kHz against a "
            "band-limited (5.5 kHz) copy with noise at 20 dB SNR; all measures, voice family; "
            f"measure_pair options {row['options']}",
            "",
            "| minutes | threads | model load (s) | wall (s) | CPU (s) | stages (wall) "
            "| stages (CPU) |",
            "|---|---|---|---|---|---|---|",
            f"| {row['minutes']:g} | {row['threads']} | {row['load_s']:.1f} | {row['wall_s']:.1f} "
            f"| {row['cpu_s']:.1f} | {stages} | {cpu_stages} |",
            "",
        ]
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="audio to measure")
    parser.add_argument("--clip-seconds", type=float, default=30.0, help="length of each clip")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--device", default="cpu", help="torch device of CREPE and the speaker")
    parser.add_argument("--pitch-model", choices=("tiny", "full"), default="tiny")
    parser.add_argument("--pitch-hop-ms", type=float, default=None, help="CREPE step (default 10)")
    parser.add_argument("--markdown", action="store_true", help=f"append the result to {RESULTS}")
    parser.add_argument("--note", default="", help="remark for the RESULTS.md title")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    options: dict[str, Any] = {"device": args.device, "pitch_model": args.pitch_model}
    if args.pitch_hop_ms is not None:
        options["pitch_hop_seconds"] = args.pitch_hop_ms / 1000
    row = run(args.minutes, args.clip_seconds, args.threads, options)
    print(json.dumps(row, indent=2))
    if args.markdown:
        with RESULTS.open("a", encoding="utf-8") as handle:
            handle.write("\n" + report(args, row))


if __name__ == "__main__":
    main()
