"""Phase 3 speed: wall and CPU seconds of one training epoch of ``analyze factorize`` on N x D.

Frames are an AR(1)-velocity process (``--item-frames`` per item) generated in memory; the model
has the default settings (dim(z_dyn) 8, dim(z_rec) 8, hidden 64, context 8, rollout 8, batch 64),
and one epoch visits every frame once as a reconstruction target. Only the epoch is timed (not
the data generation, the normalisation fit or the evaluation). On a shared machine the CPU
seconds (user + system, all threads) are the steadier number.

Target (issue 17): 10^6 frames x 512 dims, one epoch <= 10 min on 2 CPU cores, <= 30 s on one GPU.

Examples
--------
    .venv/bin/python benchmarks/phase3_speed.py --frames 20000 --dim 512 --note "reduced size"
    python benchmarks/phase3_speed.py --frames 1000000 --dim 512 --device cuda --markdown
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

from results_io import emit


def one_epoch(n_frames: int, dim: int, item_frames: int, device: str, seed: int) -> dict:
    """Generate the frames, build the model, time one epoch; return the row."""
    import numpy as np
    import torch

    from latentroom.analysis.factorize.config import FactorizeConfig
    from latentroom.analysis.factorize.model import Factorizer
    from latentroom.analysis.factorize.segments import Frames
    from latentroom.analysis.factorize.training import fit_normalisation, train_epoch
    from latentroom.analysis.synthetic import ar1_velocity
    from latentroom.devices import resolve_device

    device = resolve_device(device)
    rng = np.random.default_rng(seed)
    n_items = max(1, n_frames // item_frames)
    arrays = []
    for start in range(0, n_items, 64):  # in batches: the generator's float64 copy stays small
        arrays += ar1_velocity(min(64, n_items - start), item_frames, dim, a=0.9, rng=rng)
    offsets = np.concatenate([[0], np.cumsum([a.shape[0] for a in arrays])]).astype(np.int64)
    frames = Frames(np.concatenate(arrays), offsets, np.arange(n_items))
    del arrays
    config = FactorizeConfig(seed=seed)
    torch.manual_seed(seed)
    model = Factorizer(dim, config)
    fit_normalisation(model, frames)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    cpu = time.process_time()
    start = time.perf_counter()
    logged = train_epoch(model, optimizer, frames, config, 0, device)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return {
        "frames": int(offsets[-1]),
        "dim": dim,
        "device": device,
        "threads": torch.get_num_threads(),
        "epoch_wall_s": round(time.perf_counter() - start, 2),
        "epoch_cpu_s": round(time.process_time() - cpu, 2),
        "loss": round(logged["loss"], 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--item-frames", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help="Append to RESULTS.md.")
    args = parser.parse_args()
    row = one_epoch(args.frames, args.dim, args.item_frames, args.device, args.seed)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"## Phase 3 speed ({stamp}, {platform.machine()}, {os.cpu_count()} CPUs"
        f"{', ' + args.note if args.note else ''})\n\n"
        "| frames | dim | device | threads | epoch wall s | epoch CPU s | loss |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| {row['frames']} | {row['dim']} | {row['device']} | {row['threads']} | "
        f"{row['epoch_wall_s']} | {row['epoch_cpu_s']} | {row['loss']} |\n"
    )
    emit(section, [row], json_path=args.json, markdown=args.markdown)


if __name__ == "__main__":
    main()
