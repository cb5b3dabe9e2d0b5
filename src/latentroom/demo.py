"""``python -m latentroom.demo OUT_DIR``: the job of ``make demo`` (Koenig seed + feedback loop)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_OUT_DIR = "runs/demo"
DEMO_BACKEND = "room:builtin"


def main(
    out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR,
    *,
    loop: bool = True,
    backend: str = DEMO_BACKEND,
) -> list[Path]:
    """Render the protocol's Koenig seed and run the default protocol on it (overwriting).

    Writes ``koenig_seed.{wav,json,png}`` and, with ``loop``, the feedback-loop run files
    (``iter_00.wav`` ... ``iter_05.wav``, ``manifest.json``, ``metrics.csv|json``,
    ``report.md``, ``spectrograms.png``, ``horizon.png``, ``metrics.png``) made on ``backend``.

    Returns
    -------
    list of Path
        The written files.
    """
    from latentroom.feedback import LoopSettings, default_schedule, seed_input, start_run
    from latentroom.feedback.manifest import run_paths
    from latentroom.seeds import render_seed, write_seed

    out = Path(out_dir)
    written = write_seed(render_seed(), out / "koenig_seed.wav", plot=True)
    if not loop:
        return written
    start_run(out, seed_input(), LoopSettings(default_schedule(), backend), force=True)
    return written + run_paths(out)


if __name__ == "__main__":
    for written in main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT_DIR):
        print(f"wrote {written}")
