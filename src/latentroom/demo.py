"""``python -m latentroom.demo OUT_DIR``: the job of ``make demo`` (the default Koenig seed)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_OUT_DIR = "runs/demo"


def main(out_dir: str | os.PathLike[str] = DEFAULT_OUT_DIR) -> list[Path]:
    """Render the protocol's Koenig seed with its plot into ``out_dir`` (overwriting).

    Writes ``koenig_seed.wav``, ``koenig_seed.json`` and ``koenig_seed.png``.

    Returns
    -------
    list of Path
        The written files.
    """
    from latentroom.seeds import render_seed, write_seed

    return write_seed(render_seed(), Path(out_dir) / "koenig_seed.wav", plot=True)


if __name__ == "__main__":
    for written in main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT_DIR):
        print(f"wrote {written}")
