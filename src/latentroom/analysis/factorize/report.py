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
        "Phase 1 IG (linear predictor of Δ at horizon k, nats per dim), z_dyn vs raw latents:",
        "",
        "| k | z_dyn | raw |",
        "|---|---|---|",
    ]
    ig = section["ig"]
    for k in ("1", "2", "4", "8"):
        cells = []
        for name in ("z_dyn", "raw"):
            entry = ig.get(name, {}).get(k)
            if entry is None:
                reason = ig.get(name, {}).get("unavailable", {}).get("ig_nats_per_frame", "")
                cells.append(f"n/a ({reason})" if reason else "n/a")
                continue
            low, high = entry["ci95"]["ig_nats_per_dim"]
            cells.append(f"{fmt(entry['ig_nats_per_dim'])} [{fmt(low)}, {fmt(high)}]")
        lines.append(f"| {k} | {cells[0]} | {cells[1]} |")
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
