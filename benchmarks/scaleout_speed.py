"""Scale-out speed: corpus encoding and the Phase 0 pass, local vs a loopback Dask cluster.

Encode: ``--minutes`` of audio (files of ``--file-seconds`` of noise with a tone, at the codec's
rate) are encoded with the builtin codec into a corpus store, in this process (1 torch thread,
and torch's default thread count) and on LocalClusters of each ``--workers`` count (single-threaded
worker processes). The cluster's start-up (processes up, connected, the codec built on every
worker) is timed apart from the encode. CPU seconds (this process
plus every worker, user + system) are reported beside wall seconds: on a shared machine they are
the steadier number, and their ratio to the local run's is the engine's overhead. Phase 0: a
synthetic corpus of ``--phase0-frames`` frames x ``--dim`` dims (benchmarks/analysis_speed.py's
AR(1) corpus) is analysed with the default keys, locally and with the chunk passes on the cluster.

Targets (issue 18): >= 1.7x the single-process encode throughput with 2 workers on a 1-hour
corpus; Phase 0 at 10^7 frames no slower than local plus the engine's start-up.

Examples
--------
    .venv/bin/python benchmarks/scaleout_speed.py --minutes 4 --phase0-frames 200000 --markdown \
        --note "smoke run, shared machine"
    .venv/bin/python benchmarks/scaleout_speed.py --minutes 60 --phase0-frames 10000000 --markdown
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from analysis_speed import build_corpus, machine
from results_io import RESULTS, emit


def make_audio(folder: Path, minutes: float, file_seconds: float, rate: int) -> list[Path]:
    """Files of quiet noise plus a tone, ``minutes`` in all (the encode cost is content-blind)."""
    import numpy as np
    import soundfile as sf

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    n_files = max(1, round(minutes * 60 / file_seconds))
    t = np.arange(round(file_seconds * rate)) / rate
    paths = []
    for i in range(n_files):
        wave = 0.3 * np.sin(2 * np.pi * (110 + 10 * i) * t) + 0.05 * rng.standard_normal(t.size)
        path = folder / f"clip{i:04d}.wav"
        sf.write(str(path), wave.astype(np.float32), rate, subtype="FLOAT")
        paths.append(path)
    return paths


def time_encode(paths: list[Path], out: Path, workers: int | None, threads: int) -> dict[str, Any]:
    """Encode ``paths``: in this process (``workers`` None) or on a LocalCluster."""
    import torch

    from latentroom.codecs.registry import get_codec
    from latentroom.latents.corpus import encode_corpus
    from latentroom.scaleout.executor import ExecutorSpec, connect
    from latentroom.scaleout.worker import CodecRecipe, EncodeSettings, build_encoder

    shutil.rmtree(out, ignore_errors=True)
    torch.set_num_threads(threads)
    codec = get_codec("builtin", device="cpu")
    recipe = CodecRecipe("builtin", (("device", "cpu"),))
    start, cpu = time.perf_counter(), time.process_time()
    if workers is None:
        encode_corpus(paths, codec, out)
        wall = time.perf_counter() - start
        return {"startup_s": 0.0, "encode_s": wall, "cpu_s": time.process_time() - cpu}
    with connect(ExecutorSpec("dask"), n_workers=workers) as engine:
        engine.client.wait_for_workers(workers, timeout=300)
        engine.on_every_worker(build_encoder, recipe, EncodeSettings(None, None, False, 0))
        up, cpu = time.perf_counter(), time.process_time()
        before = engine.client.run(time.process_time)
        encode_corpus(paths, codec, out, executor=engine, recipe=recipe)
        done, client_cpu = time.perf_counter(), time.process_time() - cpu
        after = engine.client.run(time.process_time)
    worker_cpu = sum(after[w] - before[w] for w in before)
    return {"startup_s": up - start, "encode_s": done - up, "cpu_s": client_cpu + worker_cpu}


def time_phase0(corpus: Path, workers: int | None) -> dict[str, Any]:
    from latentroom.analysis.clusters import ClusterConfig, run_phase0
    from latentroom.latents.corpus import open_corpus
    from latentroom.scaleout.executor import ExecutorSpec, connect
    from latentroom.scaleout.passes import ScaleOut

    start = time.perf_counter()
    if workers is None:
        run_phase0(open_corpus(corpus), ClusterConfig())
        return {"startup_s": 0.0, "run_s": time.perf_counter() - start}
    with connect(ExecutorSpec("dask"), n_workers=workers) as engine:
        engine.client.wait_for_workers(workers, timeout=300)
        up = time.perf_counter()
        run_phase0(open_corpus(corpus), ClusterConfig(), passes=ScaleOut(engine))
        done = time.perf_counter()
    return {"startup_s": up - start, "run_s": done - up}


def report(args: argparse.Namespace, encode: list[dict[str, Any]], phase0: list[dict]) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"## scale-out speed, {stamp}" + (f" ({args.note})" if args.note else "")
    command = shlex.join(["python", "benchmarks/scaleout_speed.py", *sys.argv[1:]])
    lines = [title, "", f"- command: `{command}`", f"- machine: {machine()}"]
    lines += [
        f"- encode: builtin codec, {args.minutes:g} min of audio in files of "
        f"{args.file_seconds:g} s; workers are single-threaded LocalCluster processes (loopback)",
        "",
        "| run | start-up (s) | encode wall (s) | x real time (wall) | speed-up vs local 1 "
        "thread (wall) | CPU, all processes (s) | audio s per CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    base = next(r["encode_s"] for r in encode if r["run"] == "local, 1 thread")
    audio = args.minutes * 60
    for row in encode:
        lines.append(
            f"| {row['run']} | {row['startup_s']:.1f} | {row['encode_s']:.1f} | "
            f"{audio / row['encode_s']:.0f} | {base / row['encode_s']:.2f} | "
            f"{row['cpu_s']:.1f} | {audio / row['cpu_s']:.0f} |"
        )
    if phase0:
        lines += [
            "",
            f"- Phase 0: AR(1) corpus of {args.phase0_frames} frames x {args.dim} dims, default "
            "keys (mean-vq64, pca8-vq256), lags 1,2,4",
            "",
            "| run | start-up (s) | Phase 0 (s) |",
            "|---|---|---|",
        ]
        lines += [f"| {r['run']} | {r['startup_s']:.1f} | {r['run_s']:.1f} |" for r in phase0]
    return "\n".join([*lines, ""])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="audio to encode")
    parser.add_argument("--file-seconds", type=float, default=30.0, help="length of each file")
    parser.add_argument("--workers", default="1,2", help="cluster sizes to time")
    parser.add_argument("--phase0-frames", type=int, default=0, help="0: skip Phase 0")
    parser.add_argument("--dim", type=int, default=512, help="Phase 0 latent dims")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--markdown", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--note", default="")
    args = parser.parse_args(argv)
    import os

    from latentroom.codecs.registry import get_codec

    work = args.workdir or Path(tempfile.mkdtemp(prefix="latentroom-scaleout-"))
    rate = get_codec("builtin", device="cpu").sample_rate
    paths = make_audio(work / "audio", args.minutes, args.file_seconds, rate)
    sizes = [int(w) for w in args.workers.split(",")]
    encode = []
    for label, workers, threads in [
        ("local, 1 thread", None, 1),
        (f"local, {os.cpu_count()} threads", None, os.cpu_count() or 1),
        *[(f"dask, {n} worker{'s' * (n > 1)}", n, 1) for n in sizes],
    ]:
        encode.append({"run": label, **time_encode(paths, work / "c.zarr", workers, threads)})
        print(encode[-1], file=sys.stderr)
    phase0 = []
    if args.phase0_frames:
        corpus = build_corpus(
            work / f"ar1_{args.phase0_frames}x{args.dim}.zarr", args.phase0_frames, args.dim, 1000
        )
        for label, workers in [
            ("local", None),
            *[(f"dask, {n} worker{'s' * (n > 1)}", n) for n in sizes],
        ]:
            phase0.append({"run": label, **time_phase0(corpus, workers)})
            print(phase0[-1], file=sys.stderr)
    emit(report(args, encode, phase0), encode + phase0, json_path=None, markdown=args.markdown)


if __name__ == "__main__":
    main()
