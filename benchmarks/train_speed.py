"""Builtin-codec training speed: optimiser steps per second on each device.

Times ``latentroom.train.loop.train_step`` (batch drawing on the CPU, the copy to the device,
forward, multi-resolution STFT + mel loss, backward, AdamW) for the default ``TrainConfig`` model
on seeded noise, after ``--warmup`` untimed steps; CUDA is synchronised before the clock is read.

Examples
--------
    .venv/bin/python benchmarks/train_speed.py --devices cpu --steps 3 --warmup 1 --note "smoke"
    python benchmarks/train_speed.py --devices cpu,cuda --steps 50 --markdown
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results_io import RESULTS, emit


def write_clips(folder: Path, sample_rate: int, seconds: float = 10.0, n_clips: int = 3) -> Path:
    """Seeded noise clips to train on (content does not change the speed)."""
    import numpy as np

    from latentroom.audio.io import save_audio
    from latentroom.audio.types import Audio

    rng = np.random.default_rng(0)
    for i in range(n_clips):
        samples = 0.1 * rng.standard_normal((1, round(seconds * sample_rate)))
        save_audio(folder / f"noise{i}.wav", Audio(samples.astype(np.float32), sample_rate))
    return folder


def time_training(device: str, args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Build the default model on ``device``, run warm-up steps, time ``args.steps`` more."""
    import torch

    from latentroom.codecs.builtin_model import build_model
    from latentroom.devices import device_name, resolve_device
    from latentroom.train.config import TrainConfig
    from latentroom.train.data import load_training_data
    from latentroom.train.loop import train_step
    from latentroom.train.losses import ReconstructionLoss

    where = resolve_device(device)
    config = TrainConfig(
        batch_size=args.batch_size, segment_seconds=args.segment_seconds, warmup_steps=0
    )
    data = load_training_data(
        folder, sample_rate=config.model.sample_rate, n_samples=config.segment_samples(),
        val_fraction=config.val_fraction, n_val_segments=1,
    )  # fmt: skip
    model = build_model(config.model, config.seed).to(where)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate)
    loss_fn = ReconstructionLoss(config.model.sample_rate).to(where)
    cuda = where.startswith("cuda")
    for step in range(args.warmup):
        train_step(model, optimizer, loss_fn, data, config, step)
    if cuda:
        torch.cuda.synchronize(where)
        torch.cuda.reset_peak_memory_stats(where)
    start = time.perf_counter()
    for step in range(args.warmup, args.warmup + args.steps):
        train_step(model, optimizer, loss_fn, data, config, step)
    if cuda:
        torch.cuda.synchronize(where)
    seconds = time.perf_counter() - start
    return {
        "device": where,
        "device_name": device_name(where),
        "steps": args.steps,
        "steps_per_second": args.steps / seconds,
        "audio_seconds_per_second": args.steps * args.batch_size * args.segment_seconds / seconds,
        "peak_gpu_mib": torch.cuda.max_memory_allocated(where) / 2**20 if cuda else None,
        "threads": torch.get_num_threads(),
    }


def report(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    """A RESULTS.md section: title, command, settings, table."""
    import torch

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## builtin-codec training speed, {stamp}" + (f" ({args.note})" if args.note else "")
    command = shlex.join(["python", "benchmarks/train_speed.py", *sys.argv[1:]])
    settings = (
        f"default TrainConfig model, batch {args.batch_size} x {args.segment_seconds:g} s at "
        f"48 kHz, {args.warmup} warm-up steps, {args.steps} timed; torch {torch.__version__}"
    )
    lines = [title, "", f"- command: `{command}`", f"- {settings}", ""]
    lines += [
        "| device | name | threads | steps/s | audio s/s | peak GPU (MiB) | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        if "note" in row:
            lines.append(f"| {row['device']} | | | | | | {row['note']} |")
            continue
        gpu = "" if row["peak_gpu_mib"] is None else f"{row['peak_gpu_mib']:.0f}"
        lines.append(
            f"| {row['device']} | {row['device_name']} | {row['threads']} | "
            f"{row['steps_per_second']:.2f} | {row['audio_seconds_per_second']:.1f} | {gpu} | |"
        )
    return "\n".join([*lines, ""])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--devices", default="cpu", help="comma-separated devices (cpu, cuda)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, default=8, help="segments per step")
    parser.add_argument("--segment-seconds", type=float, default=1.0, help="segment length")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--markdown", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--note", default="", help="words for the section title (smoke run, ...)")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.warmup < 0 or args.batch_size < 1 or args.segment_seconds <= 0:
        parser.error("--steps and --batch-size must be >= 1, --warmup >= 0, --segment-seconds > 0")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="latentroom-train-bench-") as folder:
        clips = write_clips(Path(folder), 48_000)
        for device in args.devices.split(","):
            try:
                rows.append(time_training(device, args, clips))
            except Exception as err:  # a benchmark row, not a crash: say what failed
                first = (str(err).strip().splitlines() or [""])[0]
                rows.append({"device": device, "note": f"{type(err).__name__}: {first}"})
            print(json.dumps(rows[-1]), file=sys.stderr)
    emit(report(args, rows), rows, json_path=args.json, markdown=args.markdown)


if __name__ == "__main__":
    main()
