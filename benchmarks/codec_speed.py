"""Codec speed: encode/decode real-time factors, parameter counts and peak memory per codec.

Each (codec, dtype, thread count) runs in its own subprocess so that its peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) and peak GPU memory
(``torch.cuda.max_memory_allocated``) belong to that model alone. The hub models are built with
``get_codec(name, random_init=True)`` (no weights needed; speed does not depend on the weight
values); ``builtin`` loads its shipped weights (and runs only in float32: a bfloat16 row says so).

``--device`` places every model (``cpu``, ``cuda``, ``cuda:N``, ``mps``); ``--dtypes`` lists the
precisions to time. Real-time factor (RTF) = wall-clock seconds of compute / seconds of audio
(below 1 is faster than real time), the median over ``--repeats`` runs after one warm-up run on
2 s of audio; on CUDA every timed call ends with the latents / audio back in host memory, which
synchronises the device. "x real time" = 1 / (encode RTF + decode RTF).

``--long-minutes M`` also writes an M-minute noise file and encodes it through the same code as
``latentroom encode`` (streamed, chunked), recording wall time and peak RSS.

Examples
--------
    .venv/bin/python benchmarks/codec_speed.py                      # the full table
    .venv/bin/python benchmarks/codec_speed.py --seconds 5 --repeats 1 --codecs encodec-24k \\
        --threads 1 --markdown --note "smoke run"
    .venv/bin/python benchmarks/codec_speed.py --codecs encodec-24k --long-minutes 60 --markdown
    python benchmarks/codec_speed.py --device cuda --dtypes float32,bfloat16 --threads 1 \
        --seconds 60 --markdown
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from results_io import RESULTS, emit

DEFAULT_CODECS = "builtin,mimi,encodec-24k,encodec-48k,dac-16k,dac-24k,dac-44k,acestep-vae"
WARMUP_SECONDS = 2.0


def build_codec(name: str, device: str = "cpu", dtype: str = "float32") -> Any:
    """The codec to time: shipped or trained weights for ``builtin`` / ``builtin:MODEL_DIR``,
    random init for the hub models."""
    from latentroom.codecs.registry import get_codec

    placed = {"device": device, "dtype": dtype}
    if name == "builtin" or name.startswith("builtin:"):
        return get_codec(name, **placed)
    return get_codec(name, random_init=True, **placed)


def noise(codec: Any, seconds: float, seed: int = 0) -> Any:
    """Seeded white noise at the codec's rate and channel count (no conversion is timed)."""
    import numpy as np

    from latentroom.audio.types import Audio

    rng = np.random.default_rng(seed)
    n_samples = round(seconds * codec.sample_rate)
    return Audio(0.1 * rng.standard_normal((codec.channels, n_samples)), codec.sample_rate)


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_gpu_mb(device: str) -> float | None:
    """Peak GPU memory allocated by torch in this process, in MiB (None off CUDA)."""
    import torch

    if not device.startswith("cuda"):
        return None
    return torch.cuda.max_memory_allocated(device) / 2**20


def time_codec(
    name: str, threads: int, seconds: float, repeats: int, device: str, dtype: str
) -> dict[str, Any]:
    """Worker: build, warm up, then time encode and decode of ``seconds`` of audio."""
    import torch

    torch.set_num_threads(threads)
    codec = build_codec(name, device, dtype)
    codec.decode(codec.encode(noise(codec, WARMUP_SECONDS)))
    audio = noise(codec, seconds, seed=1)
    encode_times, decode_times = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        latents = codec.encode(audio)
        encode_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        codec.decode(latents)
        decode_times.append(time.perf_counter() - start)
    return {
        "codec": name,
        "threads": threads,
        "device": codec.device,
        "dtype": dtype,
        "parameters": codec.parameter_count,
        "latent": f"{codec.latent_dim}-d @ {codec.frame_rate:g} Hz",
        "encode_rtf": statistics.median(encode_times) / seconds,
        "decode_rtf": statistics.median(decode_times) / seconds,
        "peak_rss_mb": peak_rss_mb(),
        "peak_gpu_mb": peak_gpu_mb(codec.device),
    }


def encode_long_file(
    name: str, threads: int, minutes: float, folder: Path, device: str, dtype: str
) -> dict[str, Any]:
    """Worker: write ``minutes`` of noise, encode it with ``latentroom encode`` in-process."""
    import torch

    from latentroom.cli.main import main

    torch.set_num_threads(threads)
    path = write_noise_file(folder / "long.wav", build_codec(name), minutes)
    before = peak_rss_mb()
    start = time.perf_counter()
    args = ["encode", str(path), "--codec", name, "-o", str(folder / "long.npy"), "-q"]
    args += ["--device", device, "--dtype", dtype]
    if name != "builtin":
        args.append("--random-init")
    try:
        main(args)
    except SystemExit as exit_:
        if exit_.code:
            raise RuntimeError(f"latentroom encode exited with {exit_.code}") from None
    return {
        "codec": name,
        "threads": threads,
        "minutes": minutes,
        "wall_seconds": time.perf_counter() - start,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_encode_mb": before,
    }


def write_noise_file(path: Path, codec: Any, minutes: float) -> Path:
    """Write 16-bit noise at the codec's rate, one minute at a time (never whole in memory)."""
    import numpy as np
    import soundfile as sf

    rng = np.random.default_rng(0)
    with sf.SoundFile(
        str(path), "w", codec.sample_rate, codec.channels, subtype="PCM_16", format="WAV"
    ) as handle:
        for _ in range(int(np.ceil(minutes))):
            block = 0.1 * rng.standard_normal((60 * codec.sample_rate, codec.channels))
            handle.write(block.astype(np.float32))
    return path


def run_worker(args: argparse.Namespace) -> dict[str, Any]:
    """Run the job a parent asked for; failures become a row with a note."""
    try:
        if args.long_minutes:
            with tempfile.TemporaryDirectory(prefix="latentroom-bench-") as folder:
                return encode_long_file(
                    args.codecs, args.threads[0], args.long_minutes, Path(folder),
                    args.device, args.dtypes,
                )  # fmt: skip
        return time_codec(
            args.codecs, args.threads[0], args.seconds, args.repeats, args.device, args.dtypes
        )
    except Exception as err:  # a benchmark row, not a crash: say what failed
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return {
            "codec": args.codecs,
            "threads": args.threads[0],
            "dtype": args.dtypes,
            "note": f"{type(err).__name__}: {first}",
        }


def spawn(args: argparse.Namespace, codec: str, threads: int, dtype: str) -> dict[str, Any]:
    """Run one worker subprocess and parse the JSON line it prints last."""
    command = [
        sys.executable, __file__, "--worker", "--codecs", codec, "--threads", str(threads),
        "--seconds", str(args.seconds), "--repeats", str(args.repeats),
        "--long-minutes", str(args.long_minutes), "--device", args.device, "--dtypes", dtype,
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {
            "codec": codec,
            "threads": threads,
            "dtype": dtype,
            "note": f"worker failed: {tail}",
        }
    row: dict[str, Any] = json.loads(lines[-1])
    return row


def machine(device: str = "cpu") -> str:
    """nproc, CPU model, the GPU for a CUDA device, Python and torch versions."""
    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = ""
    if device.startswith("cuda") and torch.cuda.is_available():
        gpu = f", GPU {torch.cuda.get_device_name(torch.device(device))}"
    return (
        f"{os.cpu_count()} CPUs ({cpu}){gpu}, Python {platform.python_version()}, "
        f"torch {torch.__version__}"
    )


def speed_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| codec | latent | params (M) | device | dtype | threads | encode RTF | decode RTF "
        "| x real time | peak RSS (MiB) | peak GPU (MiB) | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        dtype = row.get("dtype", "float32")
        if "note" in row:
            lines.append(
                f"| {row['codec']} | | | | {dtype} | {row['threads']} | | | | | | {row['note']} |"
            )
            continue
        gpu = "" if row.get("peak_gpu_mb") is None else f"{row['peak_gpu_mb']:.0f}"
        speed = 1.0 / (row["encode_rtf"] + row["decode_rtf"])
        shown = f"{speed:,.0f}" if speed >= 100 else f"{speed:.2f}"
        lines.append(
            f"| {row['codec']} | {row['latent']} | {row['parameters'] / 1e6:.1f} | "
            f"{row['device']} | {dtype} | {row['threads']} | {row['encode_rtf']:.4f} | "
            f"{row['decode_rtf']:.4f} | {shown} | {row['peak_rss_mb']:.0f} | {gpu} | |"
        )
    return lines


def long_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| codec | minutes | threads | wall (s) | RTF | peak RSS (MiB) | note |"]
    lines.append("|---|---|---|---|---|---|---|")
    for row in rows:
        if "note" in row:
            lines.append(f"| {row['codec']} | | {row['threads']} | | | | {row['note']} |")
            continue
        rtf = row["wall_seconds"] / (60 * row["minutes"])
        lines.append(
            f"| {row['codec']} | {row['minutes']:g} | {row['threads']} | "
            f"{row['wall_seconds']:.0f} | {rtf:.3f} | {row['peak_rss_mb']:.0f} | |"
        )
    return lines


def report(args: argparse.Namespace, rows: list[dict[str, Any]]) -> str:
    """A RESULTS.md section: title, command, date, machine, settings, table."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    kind = f"{args.long_minutes:g}-minute file encode" if args.long_minutes else "codec speed"
    title = f"## {kind}, {stamp}" + (f" ({args.note})" if args.note else "")
    command = shlex.join(["python", "benchmarks/codec_speed.py", *sys.argv[1:]])
    settings = (
        f"{args.long_minutes:g} min of noise through `latentroom encode` (streamed, chunked)"
        if args.long_minutes
        else f"{args.seconds:g} s of noise, median of {args.repeats} after a warm-up; "
        "shipped weights for builtin, random init for the hub codecs"
    )
    table = long_table(rows) if args.long_minutes else speed_table(rows)
    body = [title, "", f"- command: `{command}`", f"- machine: {machine(args.device)}"]
    body += [f"- {settings}", ""]
    return "\n".join([*body, *table, ""])


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codecs", default=DEFAULT_CODECS, help="comma-separated codec names")
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    parser.add_argument("--seconds", type=float, default=30.0, help="audio length to time")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs (median is reported)")
    parser.add_argument(
        "--long-minutes", type=float, default=0.0, help="encode a file this long instead (0: off)"
    )
    parser.add_argument("--device", default="cpu", help="where the models run: cpu, cuda[:N], mps")
    parser.add_argument(
        "--dtypes", default="float32", help="comma-separated precisions (float32,bfloat16,float16)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    parser.add_argument("--markdown", action="store_true", help=f"append the table to {RESULTS}")
    parser.add_argument("--note", default="", help="words for the section title (smoke run, ...)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.threads = [int(t) for t in str(args.threads).split(",")]
    if args.seconds <= 0 or args.repeats < 1 or min(args.threads) < 1:
        parser.error("--seconds must be > 0, --repeats and --threads >= 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return
    rows = []
    for codec in args.codecs.split(","):
        for dtype in args.dtypes.split(","):
            for threads in args.threads:
                rows.append(spawn(args, codec, threads, dtype))
                print(json.dumps(rows[-1]), file=sys.stderr)
    emit(report(args, rows), rows, json_path=args.json, markdown=args.markdown)


if __name__ == "__main__":
    main()
