"""The ``factorize`` section of ``analysis.json`` and its part of ``report.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from latentroom.analysis.report import fmt, load_analysis, render_report
from latentroom.fileio import write_text_atomic


def write_factorize(out: Path, facts: dict[str, Any], section: dict[str, Any]) -> dict[str, Any]:
    """Merge ``factorize`` into ``analysis.json``, then rewrite the figures and ``report.md``."""
    from latentroom.analysis.factorize.figures import write_figures

    analysis = {**load_analysis(out), **facts, "factorize": section}
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "analysis.json", json.dumps(analysis, indent=1) + "\n")
    write_figures(out, section)
    write_text_atomic(out / "report.md", render_report(analysis))
    return analysis


def _ci(entry: dict[str, Any], name: str) -> str:
    low, high = entry["ci95"][name]
    return f"{fmt(entry[name])} [{fmt(low)}, {fmt(high)}]"


def factorize_lines(section: dict[str, Any]) -> list[str]:
    """Markdown of a Phase 3 run: verdict and reasons, eval numbers, IG table, rollouts."""
    e, s = section["eval"], section["settings"]
    lines = [
        "## Phase 3: dual latent (z_dyn state, z_rec innovation)",
        "",
        f"dim(z_dyn) = {s['dim_dyn']}, dim(z_rec) = {s['dim_rec']}, free nats {s['kl_target']}, "
        f"context {s['context']} frames, rollout up to {s['rollout']}, rate {s['rate']} "
        f"(z_dyn at {fmt(section['state_frame_rate'])} states/s), {s['epochs']} epochs, "
        f"seed {s['seed']}. Intervals: 95 % bootstrap over eval items.",
        "",
        f"**Verdict: {section['verdict']}.**",
        "",
        *(f"- {reason}" for reason in section["reasons"]),
        "" if section["reasons"] else "No check failed (floors and tolerances: docs/phase3.md).",
        "",
        "| quantity | value [95 % CI] |",
        "|---|---|",
        f"| KL(q ‖ p) nats/frame | {_ci(e, 'kl_nats_per_frame')} |",
        f"| innovation rate nats/s | {_ci(e, 'kl_nats_per_second')} |",
        f"| MSE, posterior z_rec | {_ci(e, 'mse_posterior')} |",
        f"| MSE, prior-sampled z_rec | {_ci(e, 'mse_prior')} |",
        f"| MSE, mean only | {_ci(e, 'mse_marginal')} |",
        f"| prior / posterior MSE | {_ci(e, 'prior_posterior_ratio')} |",
        f"| dynamics NLL nats/state | {_ci(e, 'dyn_nll_per_state')} |",
        f"| best marginal NLL nats/state | {_ci(e, 'marginal_nll_per_state')} |",
        f"| dynamics gain nats/dim | {_ci(e, 'dyn_ig_nats_per_dim')} |",
        f"| z_dyn variance (mean over dims) | {fmt(e['z_dyn_variance_mean'])} |",
        f"| z_dyn effective rank | {fmt(e['z_dyn_effective_rank'])} of {s['dim_dyn']} |",
        "",
        "z_dyn variance per dim: " + ", ".join(fmt(v, 3) for v in e["z_dyn_variance_per_dim"]),
        "",
        "Phase 1 IG of a linear predictor of Δ at horizon k (steps of each sequence's own grid), "
        "nats per dim: over the diagonal marginal, and beyond the full-covariance marginal "
        "(correlations between dims removed; the comparison that counts):",
        "",
        "| k | z_dyn IG | raw IG | z_dyn IG beyond full | raw IG beyond full |",
        "|---|---|---|---|---|",
    ]
    ig = section["ig"]
    for k in ("1", "2", "4", "8"):
        cells = []
        for key in ("ig_nats_per_dim", "ig_beyond_full_nats_per_dim"):
            for name in ("z_dyn", "raw"):
                entry = ig.get(name, {}).get(k)
                if entry is None:
                    reason = ig.get(name, {}).get("unavailable", {}).get("ig_nats_per_frame", "")
                    cells.append(f"n/a ({reason})" if reason else "n/a")
                else:
                    cells.append(_ci(entry, key))
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    lines += ["", "Free-rollout reconstruction MSE (teacher: from the encoder's own state):", ""]
    for steps, entry in e["rollout"].items():
        if entry["mse_free"] is None:
            lines.append(f"- {steps} steps: n/a ({entry['unavailable']['mse_free']})")
        else:
            lines.append(
                f"- {steps} steps: free {_ci(entry, 'mse_free')}, teacher "
                f"{_ci(entry, 'mse_teacher')}"
            )
    figures = ("factorize_epochs", "factorize_ig", "factorize_rollout")
    return [*lines, "", *(f"![{f}]({f}.png)" for f in figures), ""]


SWEEP_COLUMNS = (
    ("cell", "cell"), ("verdict", "verdict"), ("KL nats/frame", "kl_nats_per_frame"),
    ("KL nats/s", "kl_nats_per_second"), ("MSE posterior", "mse_posterior"),
    ("MSE prior", "mse_prior"), ("z_dyn variance", "z_dyn_variance_mean"),
    ("effective rank", "z_dyn_effective_rank"), ("dynamics gain nats/dim", "dyn_ig_nats_per_dim"),
    ("z_dyn IG k=1", "z_dyn_ig_beyond_full_k1"), ("raw IG k=1", "raw_ig_beyond_full_k1"),
)  # fmt: skip


def write_sweep(out: Path, table: dict[str, Any]) -> None:
    """``sweep.json`` and ``sweep.md``: one row per (dim(z_dyn), KL target) cell."""
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "sweep.json", json.dumps(table, indent=1) + "\n")
    lines = [
        "# Phase 3 sweep: dim(z_dyn) × KL target",
        "",
        f"Corpus `{table['corpus']}`. Each cell is a full run in its own folder (report.md there). "
        "IG columns: Phase 1 linear IG beyond the full-covariance marginal at k = 1, nats/dim.",
        "",
        "| " + " | ".join(title for title, _ in SWEEP_COLUMNS) + " |",
        "|" + "---|" * len(SWEEP_COLUMNS),
    ]
    for row in table["cells"]:
        lines.append("| " + " | ".join(fmt(row[key]) for _, key in SWEEP_COLUMNS) + " |")
    write_text_atomic(out / "sweep.md", "\n".join(lines) + "\n")
