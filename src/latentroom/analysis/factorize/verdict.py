"""The verdict of a Phase 3 run: healthy, or which collapse it met, with the numbers behind it.

The checks run in order and every one that fails is listed; the verdict is the first failure's.
A run passes only if none fails, so a collapse cannot pass silently. audioEngram's Phase 3 (KL
pinned at its target 2.0, z_dyn variance 0.009, dynamics NLL at the fixed-variance constant
0.5·ln(2π)·128, prior/posterior reconstruction ratio 1.0001) fails the variance floor, the
dynamics tolerance and the innovation tolerance here.
"""

from __future__ import annotations

from typing import Any

HEALTHY = "healthy"
STATE_COLLAPSE = "state collapse"
INNOVATION_IGNORED = "innovation ignored"
INNOVATION_EVERYTHING = "innovation carries everything"

#: Mean per-dim variance of z_dyn (tanh units, range (−1, 1)) below which the state is collapsed:
#: a spread of 0.1, 5 % of its range. audioEngram's state had 0.009.
VARIANCE_FLOOR = 0.01
#: Effective rank (exp of the eigenvalue entropy) below which the state is collapsed: one
#: direction holds ≥ 99 % of its variance.
RANK_FLOOR = 1.05
#: Dynamics gain over the best marginal (nats per state dim and step) below which the dynamics
#: model predicts nothing; a gain whose 95 % interval reaches 0 fails too.
DYN_IG_FLOOR = 0.05
#: Prior-sampled MSE over the marginal (mean-only) MSE above which the state explains less than
#: 5 % of a frame: the innovation carries everything.
PRIOR_MARGINAL_CEILING = 0.95
#: Prior- over posterior-sampled MSE below which z_rec adds nothing: the innovation is ignored.
PRIOR_POSTERIOR_FLOOR = 1.02
#: KL per frame below which z_rec carries nothing (nats).
KL_FLOOR = 0.05


def verdict(summary: dict[str, Any]) -> dict[str, Any]:
    """``{"verdict", "reasons": [...], "numbers": {...}}`` from ``summarise_eval``'s output."""
    ig = summary["dyn_ig_nats_per_dim"]
    ig_low = summary["ci95"]["dyn_ig_nats_per_dim"][0]
    numbers = {
        "z_dyn_variance_mean": summary["z_dyn_variance_mean"],
        "z_dyn_effective_rank": summary["z_dyn_effective_rank"],
        "dyn_ig_nats_per_dim": ig,
        "dyn_ig_nats_per_dim_ci95": summary["ci95"]["dyn_ig_nats_per_dim"],
        "dyn_nll_per_state": summary["dyn_nll_per_state"],
        "marginal_nll_per_state": summary["marginal_nll_per_state"],
        "prior_marginal_ratio": summary["prior_marginal_ratio"],
        "prior_posterior_ratio": summary["prior_posterior_ratio"],
        "kl_nats_per_frame": summary["kl_nats_per_frame"],
    }
    checks: list[tuple[str, bool, str]] = [
        (
            STATE_COLLAPSE,
            _below(summary["z_dyn_variance_mean"], VARIANCE_FLOOR),
            f"z_dyn variance {_g(summary['z_dyn_variance_mean'])} < floor {VARIANCE_FLOOR}",
        ),
        (
            STATE_COLLAPSE,
            _below(summary["z_dyn_effective_rank"], RANK_FLOOR),
            f"z_dyn effective rank {_g(summary['z_dyn_effective_rank'])} < floor {RANK_FLOOR}",
        ),
        (
            STATE_COLLAPSE,
            _below(ig, DYN_IG_FLOOR) or _below(ig_low, 0.0, inclusive=True),
            f"dynamics NLL {_g(summary['dyn_nll_per_state'])} within tolerance of the best "
            f"marginal {_g(summary['marginal_nll_per_state'])}: gain {_g(ig)} nats/dim "
            f"(95 % CI from {_g(ig_low)}) < {DYN_IG_FLOOR} or reaching 0",
        ),
        (
            INNOVATION_EVERYTHING,
            not _below(summary["prior_marginal_ratio"], PRIOR_MARGINAL_CEILING),
            f"prior-sampled MSE / mean-only MSE {_g(summary['prior_marginal_ratio'])} >= "
            f"{PRIOR_MARGINAL_CEILING}: the state explains almost none of the frame",
        ),
        (
            INNOVATION_IGNORED,
            _below(summary["prior_posterior_ratio"], PRIOR_POSTERIOR_FLOOR),
            f"prior- / posterior-sampled MSE {_g(summary['prior_posterior_ratio'])} < "
            f"{PRIOR_POSTERIOR_FLOOR}: z_rec adds nothing",
        ),
        (
            INNOVATION_IGNORED,
            _below(summary["kl_nats_per_frame"], KL_FLOOR),
            f"KL {_g(summary['kl_nats_per_frame'])} nats/frame < {KL_FLOOR}",
        ),
    ]
    failed = [(name, text) for name, bad, text in checks if bad]
    return {
        "verdict": failed[0][0] if failed else HEALTHY,
        "reasons": [f"{name}: {text}" for name, text in failed],
        "numbers": numbers,
    }


def _below(value: float | None, floor: float, *, inclusive: bool = False) -> bool:
    """``value < floor`` (``<=`` when inclusive); an undefined value counts as failing."""
    if value is None or value != value:
        return True
    return value <= floor if inclusive else value < floor


def _g(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
