"""Phase 4 speed: wall and CPU seconds of ``analyze memory``'s stages on N frames x D.

Frames are an AR(1) process (``--item-frames`` per item) generated in memory; both models have
the default settings (context 8, orders 2,3, 2 heads, 4096-slot tables, 64 codes, hidden 64)
and train ``--epochs`` epochs of at most 5·10⁴ windows each. The stages are those
``memory_info.seconds`` records: prepare (split, statistics, marginals, k-means), the training
of each model, and eval (teacher-forced, free rollouts, table usage). On a shared machine the
CPU seconds (user + system, all threads) are the steadier number.

Examples
--------
    .venv/bin/python benchmarks/phase4_speed.py --frames 20000 --dim 64 --note "reduced size"
    python benchmarks/phase4_speed.py --frames 1000000 --dim 512 --device cuda --markdown
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from results_io import emit


def run(n_frames: int, dim: int, item_frames: int, epochs: int, device: str, seed: int) -> dict:
    """Generate the frames, run Phase 4 once; return the row."""
    import torch

    from latentroom.analysis.data import ArraySource
    from latentroom.analysis.memory.config import MemoryConfig
    from latentroom.analysis.memory.run import run_memory
    from latentroom.analysis.memory.synthetic import ar1_process
    from latentroom.devices import resolve_device

    device = resolve_device(device)
    n_items = max(3, n_frames // item_frames)
    items = ar1_process(n_items=n_items, length=item_frames, dim=dim, seed=seed)
    config = MemoryConfig(max_epochs=epochs, n_boot=200, seed=seed)
    cpu = time.process_time()
    start = time.perf_counter()
    section, info, _ = run_memory(ArraySource(items, 50.0), config, device=device)
    seconds = {name: round(value, 2) for name, value in info["seconds"].items()}
    return {
        "frames": n_items * item_frames,
        "dim": dim,
        "device": device,
        "threads": torch.get_num_threads(),
        "epochs": epochs,
        "wall_s": round(time.perf_counter() - start, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "stages_s": seconds,
        "parameters": section["parameters"]["memory"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--item-frames", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="Append to RESULTS.md.")
    args = parser.parse_args()
    row = run(args.frames, args.dim, args.item_frames, args.epochs, args.device, args.seed)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    stages = ", ".join(f"{name} {value}" for name, value in row["stages_s"].items())
    section = (
        f"## Phase 4 speed ({stamp}, {platform.machine()}, {os.cpu_count()} CPUs"
        f"{', ' + args.note if args.note else ''})\n\n"
        "| frames | dim | device | threads | epochs | wall s | CPU s | stages s | parameters |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
        f"| {row['frames']} | {row['dim']} | {row['device']} | {row['threads']} | "
        f"{row['epochs']} | {row['wall_s']} | {row['cpu_s']} | {stages} | {row['parameters']} |\n"
    )
    emit(section, [row], json_path=args.json, markdown=args.markdown)


if __name__ == "__main__":
    main()
