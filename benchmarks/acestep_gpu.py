"""``latentroom loop --backend acestep`` beside ACE-Step's own ``generate_music``, same input.

Checkpoints are built with random weights from ACE-Step's own config classes
(``acestep_checkpoints.py``): full size by default (DiT ~2.4 B params, saved in bf16), tiny with
``--tiny`` (CPU smoke run). Three measurements:

1. start-up, each in a fresh process, alternating which goes first: ACE-Step's imports +
   ``AceStepHandler().initialize_service`` against latentroom's imports + ``get_backend``;
2. the loop: ``start_run`` for ``--passes`` passes, per pass wall seconds (the manifest's
   ``pass_seconds``), the part spent inside ``generate_music``, and peak GPU memory;
3. ACE-Step direct: ``generate_music`` on each pass's own input file with the same params and
   seed (``task_type="cover"``, ``torch.manual_seed(seed)``), in the same process and on the
   same loaded models, after one untimed warm-up call.

Needs ACE-Step 1.5's source (>= a993293) importable. Where torchaudio cannot load beside torch
(torch 2.13 CPU), ``--stub-torchaudio`` stands a stub in for it (the cover path never calls it for
48 kHz input).

Examples
--------
    python benchmarks/acestep_gpu.py --markdown                      # full size, on the GPU
    python benchmarks/acestep_gpu.py --tiny --device cpu --seconds 2 --steps 4 \\
        --stub-torchaudio --markdown --note "CPU, tiny models"
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from acestep_checkpoints import build_checkpoints, torchaudio_stub
from codec_speed import machine

STARTUP: dict[str, str] = {
    "acestep": """
t0 = time.perf_counter()
import acestep.handler, acestep.inference
t1 = time.perf_counter()
h = acestep.handler.AceStepHandler()
status, ok = h.initialize_service(project_root=ROOT, config_path=MODEL, device=DEVICE)
assert ok, status
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1}))
""",
    "latentroom": """
t0 = time.perf_counter()
from latentroom.feedback import get_backend
t1 = time.perf_counter()
get_backend("acestep", model=MODEL, checkpoints=ROOT + "/checkpoints", device=DEVICE)
t2 = time.perf_counter()
print(json.dumps({"imports": t1 - t0, "load": t2 - t1}))
""",
    # everything both need imported first: what is left is loading the models
    "warm": """
import acestep.handler, acestep.inference
from transformers import AutoModel, AutoTokenizer
from diffusers.models import AutoencoderOobleck
from latentroom.feedback import get_backend
import latentroom.feedback.backends.acestep
times = {"acestep": [], "latentroom": []}
for _ in range(2):
    t0 = time.perf_counter()
    status, ok = acestep.handler.AceStepHandler().initialize_service(
        project_root=ROOT, config_path=MODEL, device=DEVICE)
    assert ok, status
    t1 = time.perf_counter()
    get_backend("acestep", model=MODEL, checkpoints=ROOT + "/checkpoints", device=DEVICE)
    t2 = time.perf_counter()
    times["acestep"].append(t1 - t0)
    times["latentroom"].append(t2 - t1)
print(json.dumps(times))
""",
}


def startup(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Fresh-process start-up times, ``--startup-repeats`` each, alternating the order; and
    both loads in one process where every import is already done (``warm``)."""
    prelude = "import json, sys, time\n"
    if args.stub_torchaudio:
        here = str(Path(__file__).parent)
        prelude += (
            f"sys.path.insert(0, {here!r})\nfrom acestep_checkpoints import torchaudio_stub\n"
            "sys.modules['torchaudio'] = torchaudio_stub()\n"
        )
    names = {"ROOT": str(root), "MODEL": args.model, "DEVICE": args.device}
    prelude += "".join(f"{key} = {value!r}\n" for key, value in names.items())
    times: dict[str, Any] = {"acestep": [], "latentroom": []}
    for repeat in range(args.startup_repeats):
        order = ["acestep", "latentroom"] if repeat % 2 == 0 else ["latentroom", "acestep"]
        for who in order:
            times[who].append(run_python(prelude + STARTUP[who]))
    times["warm"] = run_python(prelude + STARTUP["warm"])
    return times


def run_python(code: str) -> Any:
    """Run ``code`` in a fresh interpreter; the JSON it prints last."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"start-up run failed: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def timed(function: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    """``function``, appending the wall seconds of every call to ``spent``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    return wrapper


def peak_gib(torch: Any) -> float | None:
    if not torch.cuda.is_available():
        return None
    return float(torch.cuda.max_memory_allocated()) / 2**30


def loop_and_direct(args: argparse.Namespace, root: Path, work: Path) -> list[dict[str, Any]]:
    """Per pass: latentroom's loop pass, its generate_music share, ACE-Step direct, peak GPU."""
    import torch

    from latentroom.feedback import LoopSettings, default_schedule, engine, get_backend, seed_input

    options = {"model": args.model, "checkpoints": str(root / "checkpoints")}
    backend: Any = get_backend("acestep", **options, device=args.device)
    api = backend.api
    inside: list[float] = []
    backend.api = types.SimpleNamespace(
        GenerationParams=api.GenerationParams,
        GenerationConfig=api.GenerationConfig,
        generate_music=timed(api.generate_music, inside),
    )
    plan = default_schedule().with_passes(args.passes).with_overrides([f"steps={args.steps}"])
    settings = LoopSettings(plan, "acestep", options, seed=0)
    loop_peaks: list[float | None] = []

    def progress(*_: Any) -> None:
        loop_peaks.append(peak_gib(torch))
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()

    source = seed_input({"seconds": args.seconds})
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    manifest = engine.start_run(work / "run", source, settings, backend=backend, progress=progress)
    rows = []
    direct = make_direct(backend.handler, api, work)
    direct(manifest["passes"][1], work / "run" / "iter_00.wav")  # warm-up, untimed
    for index, record in enumerate(manifest["passes"][1:], start=1):
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        seconds = direct(record, work / "run" / f"iter_{index - 1:02d}.wav")
        rows.append(
            {
                "pass": index,
                "loop_s": manifest["timings"]["pass_seconds"][index],  # [0] records the input
                "generate_music_s": inside[index - 1],
                "direct_s": seconds,
                "loop_peak_gib": loop_peaks[index],  # [0]: before the first pass
                "direct_peak_gib": peak_gib(torch),
                "used_steps": record["used"]["steps"],
            }
        )
    return rows


def make_direct(handler: Any, api: Any, work: Path) -> Callable[[dict[str, Any], Path], float]:
    """ACE-Step's own cover call on ``source`` with a pass record's params and seed."""
    import torch

    def run(record: dict[str, Any], source: Path) -> float:
        used = record["used"]
        start = time.perf_counter()
        torch.manual_seed(record["seed"])
        result = api.generate_music(
            handler,
            None,
            api.GenerationParams(
                task_type="cover",
                src_audio=str(source),
                caption=str(used["prompt"]),
                lyrics="[Instrumental]",
                cover_noise_strength=float(used["strength"]),
                guidance_scale=float(record["params"].get("guidance", 15.0)),
                inference_steps=int(used["steps"]),
            ),
            api.GenerationConfig(
                batch_size=1, use_random_seed=False, seeds=[record["seed"]], audio_format="wav32"
            ),
            save_dir=str(work / "direct"),
        )
        if not result.success:
            raise RuntimeError(f"generate_music failed: {result.error}")
        return time.perf_counter() - start

    return run


def report(args: argparse.Namespace, counts: dict[str, int], times: Any, rows: Any) -> str:
    """A RESULTS.md section."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    size = "tiny random-init models" if args.tiny else "full-size random-init models (bf16 files)"
    command = shlex.join(["python", "benchmarks/acestep_gpu.py", *sys.argv[1:]])
    params = ", ".join(f"{name} {count:,}" for name, count in counts.items())
    lines = [
        f"## ACE-Step loop vs generate_music, {now}" + (f" ({args.note})" if args.note else ""),
        "",
        f"- command: `{command}`",
        f"- machine: {machine()}; device {args.device}",
        f"- {size}: {params} params; model {args.model}; {args.seconds} s Koenig seed, "
        f"{args.passes} passes, steps={args.steps}",
        "",
    ]
    if times:
        lines += ["| start-up (fresh process, median) | imports (s) | load (s) | total (s) |"]
        lines += ["|---|---|---|---|"]
        for who, label in [("acestep", "ACE-Step initialize_service"),
                           ("latentroom", "latentroom get_backend")]:  # fmt: skip
            imports = statistics.median(t["imports"] for t in times[who])
            load = statistics.median(t["load"] for t in times[who])
            total = statistics.median(t["imports"] + t["load"] for t in times[who])
            lines.append(f"| {label} | {imports:.2f} | {load:.2f} | {total:.2f} |")
        warm = times["warm"]
        lines += [
            "",
            "Loads in one process after every import (both, twice, alternating): ACE-Step "
            f"initialize_service {', '.join(f'{t:.2f}' for t in warm['acestep'])} s; "
            f"latentroom get_backend {', '.join(f'{t:.2f}' for t in warm['latentroom'])} s.",
            "",
        ]
    lines += [
        "| pass | used steps | loop pass (s) | of which generate_music (s) | ACE-Step direct (s) "
        "| peak GPU loop (GiB) | peak GPU direct (GiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        loop_gib, direct_gib = (
            "n/a" if row[key] is None else f"{row[key]:.2f}"
            for key in ("loop_peak_gib", "direct_peak_gib")
        )
        lines.append(
            f"| {row['pass']} | {row['used_steps']} | {row['loop_s']:.2f} "
            f"| {row['generate_music_s']:.2f} | {row['direct_s']:.2f} | {loop_gib} "
            f"| {direct_gib} |"
        )
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny configs (CPU smoke run)")
    parser.add_argument("--model", default="acestep-v15-base")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--seconds", type=float, default=10.0, help="input length")
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--startup-repeats", type=int, default=2, help="0 skips start-up")
    parser.add_argument("--workdir", type=Path, default=None, help="keep checkpoints here")
    parser.add_argument("--stub-torchaudio", action="store_true")
    parser.add_argument("--markdown", action="store_true", help="print a RESULTS.md section")
    parser.add_argument("--note", default="")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    if args.stub_torchaudio:
        sys.modules["torchaudio"] = torchaudio_stub()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="latentroom-acestep-bench-") as scratch:
        root = args.workdir or Path(scratch)
        dtype = "float32" if args.tiny else "bfloat16"
        counts = build_checkpoints(
            root / "checkpoints", models=(args.model,), tiny=args.tiny, dtype=dtype
        )
        times = startup(args, root) if args.startup_repeats else None
        rows = loop_and_direct(args, root, Path(scratch))
        text = report(args, counts, times, rows)
    print(text if args.markdown else json.dumps({"startup": times, "passes": rows}, indent=2))


if __name__ == "__main__":
    main()
