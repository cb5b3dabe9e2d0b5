"""Coverage of Phase 1's 95 % intervals on Gaussian AR(1) velocity, whose IG is known.

Each replicate draws a fresh AR(1)-velocity corpus (``synthetic.ar1_velocity``), runs Phase 1
(marginals + ``linear``) once, and checks whether the interval of ``linear``'s IG beyond
``marginal_full`` contains the analytic value ``−(D/2) ln(1 − a^{2k})``, for both interval
methods: ``items`` (eval items resampled; the default) and ``refit`` (``--ci refit``: refits on
resampled train items as well). The corpus is small on purpose (few train windows per ridge
coefficient), where the fitted predictor's out-of-sample loss lies visibly below the best
predictor's; docs/analysis.md records the numbers.

Examples
--------
    PYTHONPATH=src .venv/bin/python benchmarks/ci_coverage.py --replicates 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from latentroom.analysis import synthetic
from latentroom.analysis.data import ArraySource
from latentroom.analysis.predict import PredictConfig, run_phase1

METRIC = "ig_beyond_full_nats_per_frame"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--refits", type=int, default=20)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--context", type=int, default=4)
    parser.add_argument("--a", type=float, default=0.9)
    parser.add_argument("--horizons", default="1,4")
    args = parser.parse_args()
    horizons = tuple(int(k) for k in args.horizons.split(","))
    truth = {k: synthetic.ar1_information_gain(args.a, k, args.dim) for k in horizons}
    hits = {(m, k): 0 for m in ("items", "refit") for k in horizons}
    misses_low = dict.fromkeys(hits, 0)
    errors: dict[int, list[float]] = {k: [] for k in horizons}
    corrected: dict[int, list[float]] = {k: [] for k in horizons}
    start = time.process_time()
    for rep in range(args.replicates):
        rng = np.random.default_rng(1000 + rep)
        arrays = synthetic.ar1_velocity(args.items, args.frames, args.dim, a=args.a, rng=rng)
        settings = {
            "context": args.context, "horizons": horizons, "predictors": ("linear",),
            "rollout_steps": 0, "n_boot": 1000, "ci": "refit", "n_refits": args.refits,
            "seed": rep,
        }  # fmt: skip
        source = ArraySource(arrays, 12.5)
        refit, _, _ = run_phase1(source, PredictConfig.from_dict(settings))
        items, _, _ = run_phase1(source, PredictConfig.from_dict({**settings, "ci": "items"}))
        for k in horizons:
            for method, phase1 in (("items", items), ("refit", refit)):
                lo, hi = phase1["linear"][str(k)]["ci95"][METRIC]
                hits[method, k] += lo <= truth[k] <= hi
                misses_low[method, k] += hi < truth[k]
            cell = refit["linear"][str(k)]
            errors[k].append(cell[METRIC] - truth[k])
            corrected[k].append(cell[METRIC] - cell["refit_bias"][METRIC] - truth[k])
    cpu = time.process_time() - start
    print(
        f"AR(1) a = {args.a}, D = {args.dim}, L = {args.context}, {args.items} items x "
        f"{args.frames} frames, {args.replicates} replicates, {args.refits} refits "
        f"({cpu:.0f} s CPU)"
    )
    print("| k | analytic IG | mean error (plain) | mean error (bias-corrected) | "
          "items: covered (missed low) | refit: covered (missed low) |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for k in horizons:
        print(
            f"| {k} | {truth[k]:.4f} | {np.mean(errors[k]):+.4f} | {np.mean(corrected[k]):+.4f} | "
            f"{hits['items', k]}/{args.replicates} ({misses_low['items', k]}) | "
            f"{hits['refit', k]}/{args.replicates} ({misses_low['refit', k]}) |"
        )


if __name__ == "__main__":
    main()
