"""Analysis speed: wall time and peak RSS of Phase 0 and Phase 1 on synthetic corpora of N frames.

A corpus store of ``N`` frames x ``D`` dims (AR(1)-velocity items of ``--item-frames`` frames,
written in batches so the generator never holds the whole corpus) is built once per size in
``--workdir``; then each phase runs in its own subprocess so its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) belongs to that phase alone. CPU seconds (user +
system, all threads) are reported beside wall seconds: on a shared machine they are the steadier
number. Phase 0 uses the
default keys (mean-vq64, pca8-vq256), lags 1, 2, 4; Phase 1 fits marginal_diag, marginal_full,
linear and mdn at horizons 1, 2, 4, 8 with the default training budget.

Targets (issue 7): Phase 0 on 10^6 x 512 in <= 60 s with peak RSS <= 2 GB; Phase 1 (linear + MDN,
4 horizons) on 10^6 x 512 in <= 10 min; record the growth 10^5 -> 10^6 -> 10^7. Issue 13: Phase 1
on 10^7 x 512 on one GPU (``--device cuda``) in <= 120 s. ``--device`` is where the mixture
density network trains and predicts; the marginals and the ridge run in NumPy on the CPU.

Examples
--------
    .venv/bin/python benchmarks/analysis_speed.py --frames 100000 --markdown --note "smoke run"
    .venv/bin/python benchmarks/analysis_speed.py --frames 100000,1000000,10000000 --markdown
    python benchmarks/analysis_speed.py --frames 10000000 --phases 1 --device cuda --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results_io import RESULTS, emit


def build_corpus(path: Path, n_frames: int, dim: int, item_frames: int, seed: int = 0) -> Path:
    """Write an AR(1)-velocity corpus store batch by batch (a = 0.9, unit velocity variance)."""
    import numpy as np

    from latentroom.analysis.synthetic import ar1_velocity
    from latentroom.latents.corpus_writer import CorpusWriter, store_attrs

    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    writer = CorpusWriter.create(path, store_attrs("synthetic", 12.5, dim, {}), force=False)
    n_items = max(1, n_frames // item_frames)
    per_batch = max(1, (64 << 20) // (4 * dim * item_frames))  # ~64 MiB of frames per commit
    for start in range(0, n_items, per_batch):
        count = min(per_batch, n_items - start)
        arrays = ar1_velocity(count, item_frames, dim, a=0.9, rng=rng)
        metas = [
            {"source": f"item{start + j}", "group": None, "n_frames": item_frames}
            for j in range(count)
        ]
        writer.commit(list(zip(arrays, metas, strict=True)))
    writer.finish()
    return path


def run_phase(phase: int, corpus: Path, device: str = "cpu") -> dict[str, Any]:
    """Worker: open the corpus, run one phase with the benchmark settings, time it."""
    import torch

    from latentroom.analysis.data import open_source

    source = open_source(corpus)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    stages: dict[str, float] = {}
    if phase == 0:
        from latentroom.analysis.clusters import ClusterConfig, run_phase0

        run_phase0(source, ClusterConfig())
    else:
        from latentroom.analysis.predict import PredictConfig, run_phase1

        config = PredictConfig(predictors=("linear", "mdn"))
        _, info, _ = run_phase1(source, config, device=device)
        stages = info["seconds"]
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    return {
        "phase": phase,
        "wall_seconds": wall,
        "cpu_seconds": cpu,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_gpu_mb": (
            torch.cuda.max_memory_allocated() / 2**20 if device.startswith("cuda") else None
        ),
        "device": device,
        "stages": stages,
    }


def spawn(phase: int, corpus: Path, n_frames: int, dim: int, device: str) -> dict[str, Any]:
    """Run one worker subprocess and parse the JSON line it prints last."""
    command = [sys.executable, __file__, "--worker", str(phase), "--corpus", str(corpus)]
    command += ["--device", device]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    row: dict[str, Any] = {"frames": n_frames, "dim": dim, "phase": phase}
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {**row, "note": f"worker failed: {tail}"}
    return {**row, **json.loads(lines[-1])}


def machine(device: str = "cpu") -> str:
    """nproc, CPU model, the GPU for a CUDA device, Python, numpy and torch versions."""
    import numpy
    import torch

    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        models = [ln for ln in cpuinfo.read_text().splitlines() if ln.startswith("model name")]
        cpu = models[0].split(":", 1)[1].strip() if models else cpu
    if device.startswith("cuda") and torch.cuda.is_available():
        cpu += f"), GPU {torch.cuda.get_device_name(torch.device(device))} ("
        cpu += f"--device {device}"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"numpy {numpy.__version__}, torch {torch.__version__}"
    )


def report(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    """A RESULTS.md section: title, command, machine, settings, table."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## analysis speed, {stamp}" + (f" ({args.note})" if args.note else "")
    command = shlex.join(["python", "benchmarks/analysis_speed.py", *sys.argv[1:]])
    settings = (
        f"AR(1)-velocity corpus store, D = {args.dim}, items of {args.item_frames} frames; "
        "Phase 0: mean-vq64 + pca8-vq256, lags 1,2,4, L = 8; Phase 1: marginals + linear + mdn, "
        "horizons 1,2,4,8, rollout 8, default training budget"
    )
    lines = [title, "", f"- command: `{command}`", f"- machine: {machine(args.device)}"]
    lines += [f"- {settings}", ""]
    lines += [
        "| frames | dims | phase | device | wall (s) | CPU (s) | peak RSS (MiB) | peak GPU (MiB) "
        "| stages (wall) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        head = f"| {row['frames']} | {row['dim']} | {row['phase']} | {args.device} |"
        if "note" in row:
            lines.append(f"{head} | | | | {row['note']} |")
            continue
        stages = ", ".join(f"{k} {v:.0f} s" for k, v in row.get("stages", {}).items())
        gpu = "" if row.get("peak_gpu_mb") is None else f"{row['peak_gpu_mb']:.0f}"
        lines.append(
            f"{head} {row['wall_seconds']:.1f} | {row['cpu_seconds']:.1f} | "
            f"{row['peak_rss_mb']:.0f} | {gpu} | {stages} |"
        )
    return "\n".join([*lines, ""])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--frames", default="100000,1000000", help="comma-separated corpus sizes")
    parser.add_argument("--dim", type=int, default=512, help="latent dims D")
    parser.add_argument("--item-frames", type=int, default=1000, help="frames per item")
    parser.add_argument("--phases", default="0,1", help="which phases to time")
    parser.add_argument("--workdir", type=Path, default=None, help="where corpora are kept")
    parser.add_argument("--device", default="cpu", help="where the MDN runs: cpu, cuda[:N], mps")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--markdown", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--note", default="", help="words for the section title (smoke run, ...)")
    parser.add_argument("--worker", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker is not None:
        print(json.dumps(run_phase(args.worker, args.corpus, args.device)))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="latentroom-bench-"))
    rows = []
    for n_frames in (int(v) for v in args.frames.split(",")):
        corpus = build_corpus(
            workdir / f"ar1_{n_frames}x{args.dim}.zarr", n_frames, args.dim, args.item_frames
        )
        for phase in (int(p) for p in args.phases.split(",")):
            rows.append(spawn(phase, corpus, n_frames, args.dim, args.device))
            print(json.dumps(rows[-1]), file=sys.stderr)
    emit(report(args, rows), rows, json_path=args.json, markdown=args.markdown)


if __name__ == "__main__":
    main()
