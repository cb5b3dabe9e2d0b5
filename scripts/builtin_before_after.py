"""Before/after figure of a builtin-codec retraining: log-mel L1 per family, beside the baseline.

    python scripts/builtin_before_after.py BEFORE/metrics.json AFTER/metrics.json [...] -o FIG.png

Each argument is a `codec eval` metrics.json; pairs are (before, after) on the same corpus, so
several corpora (real and synthetic) fill one figure. The baseline shown is the "after" run's,
else the "before" run's (both fit it the same way, on the same train/ clips), so one of each pair
needs `--baseline`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    """Draw the figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from latentroom.palette import codec_colour

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", nargs="+", type=Path, help="before/after metrics.json pairs")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--label", default="builtin, retrained (candidate)", help="after series")
    parser.add_argument(
        "--title", default="Builtin codec before and after retraining on real + synthetic sound"
    )
    args = parser.parse_args()
    if len(args.metrics) % 2:
        parser.error("give metrics.json files in (before, after) pairs")
    families, before, after, baseline = [], [], [], []
    for old_path, new_path in zip(args.metrics[::2], args.metrics[1::2], strict=True):
        old, new = (json.loads(p.read_text())["families"] for p in (old_path, new_path))
        for family, row in new.items():
            families.append(family)
            before.append(old[family]["codec"]["log_mel_l1"])
            after.append(row["codec"]["log_mel_l1"])
            baseline.append((row["baseline"] or old[family]["baseline"])["log_mel_l1"])
    x = np.arange(len(families))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(families) + 2), 3.6), layout="constrained")
    series = (
        ("builtin, before", before, codec_colour("builtin (before)")),
        (args.label, after, codec_colour("builtin")),
        ("PCA + Griffin-Lim baseline", baseline, codec_colour("baseline")),
    )
    for i, (label, values, colour) in enumerate(series):
        ax.bar(x + (i - 1) * 0.27, values, 0.27, label=label, color=colour)
        for xi, value in zip(x + (i - 1) * 0.27, values, strict=True):
            ax.text(xi, value, f"{value:.2f}", ha="center", va="bottom", fontsize=6, rotation=90)
    ax.set_xticks(x, families, rotation=30, ha="right")
    ax.set_xlabel("held-out family")
    ax.set_ylabel("log-mel L1 (lower is better)")
    ax.set_ylim(0, 1.18 * max(max(before), max(after), max(baseline)))
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title(args.title)
    fig.savefig(args.output, dpi=120)


if __name__ == "__main__":
    main()
