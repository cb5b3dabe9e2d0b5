"""Numbers that mean nothing, said so: quantities without data behind them and failed fits.

A quantity computed on no data is ``None`` in the JSON with its reason beside it, under
``"unavailable": {name: reason}`` in the same entry (Phase 0 cells, learned keys). A Phase 1
predictor whose fit failed is listed in ``phase1_info["flagged"]`` with its reason and left out
of headlines. ``problems`` collects both from any analysis or comparison, so every command can
warn about them and ``--strict`` can refuse them.
"""

from __future__ import annotations

from typing import Any

#: A predictor scoring worse than the context-free marginal by this many nats per dim is
#: flagged: the marginal is inside its reach (ignore the context), so such a gap means the fit
#: diverged or is confidently wrong on eval (an MDN once scored −7.2·10⁵ nats/frame, R² −21.6).
FLAG_NATS_PER_DIM = 1.0


def flag_predictors(phase1: dict[str, Any], diverged: list[str], latent_dim: int) -> dict[str, str]:
    """Predictors to leave out of headlines, with the reason.

    Parameters
    ----------
    phase1 : dict
        The ``phase1`` section: predictor -> horizon -> headline numbers.
    diverged : list of str
        Predictors whose training hit a non-finite loss.
    latent_dim : int
        D, to scale ``FLAG_NATS_PER_DIM``.
    """
    flagged = {
        name: "training diverged (non-finite loss); the best earlier epoch was kept"
        for name in diverged
    }
    limit = -FLAG_NATS_PER_DIM * latent_dim
    for name, by_k in phase1.items():
        if name.startswith("marginal") or name in flagged:
            continue
        worst = [(k, e["ig_nats_per_frame"]) for k, e in by_k.items()]
        bad = [(k, ig) for k, ig in worst if ig is not None and ig < limit]
        if bad:
            k, ig = min(bad, key=lambda pair: pair[1])
            flagged[name] = (
                f"IG {ig:.4g} nats/frame at k={k}, worse than the context-free marginal by more "
                f"than {FLAG_NATS_PER_DIM:g} nat/dim: the fit diverged or is confidently wrong"
            )
    return flagged


def problems(tree: Any, path: tuple[str, ...] = ()) -> list[str]:
    """One line per unavailable quantity and flagged predictor anywhere in ``tree``."""
    if not isinstance(tree, dict):
        return []
    where = "/".join(path) or "analysis"
    lines = []
    if "unavailable" in tree and "lags" not in tree:  # a Phase 0 head repeats its lag-1 cell
        lines += [
            f"{where} {name}: not available ({why})" for name, why in tree["unavailable"].items()
        ]
    for name, why in tree.get("flagged", {}).items():
        lines.append(f"{where} {name}: left out of headlines ({why})")
    for key, value in tree.items():
        if key not in ("unavailable", "flagged"):
            lines += problems(value, (*path, str(key)))
    return lines


def has_partial_intervals(tree: Any) -> bool:
    """Whether any interval in ``tree`` covers only some resamples (``ci95_undefined_share``)."""
    if not isinstance(tree, dict):
        return False
    return "ci95_undefined_share" in tree or any(map(has_partial_intervals, tree.values()))
