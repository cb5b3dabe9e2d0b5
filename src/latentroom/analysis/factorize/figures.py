"""PNG figures of a Phase 3 run (matplotlib, imported inside each function)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from latentroom.plots import save_figure

#: The IG compared: beyond the full-covariance marginal, so correlations between dims (which a
#: state of fewer dims has fewer of) do not count as predictability.
IG_KEY = "ig_beyond_full_nats_per_dim"


def _figure(width: float = 7.0, height: float = 4.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def epochs_figure(section: dict[str, Any]) -> Any:
    """Validation KL, reconstruction MSE and dynamics gain per epoch (three panels)."""
    history = section["epochs"]
    epochs = [h["epoch"] for h in history]

    def series(name: str) -> np.ndarray:
        return np.array([np.nan if h["val"][name] is None else h["val"][name] for h in history])

    figure = _figure(10.0, 3.5)
    kl, mse, dyn = figure.subplots(1, 3)
    kl.plot(epochs, series("kl_nats_per_frame"), "o-")
    kl.axhline(section["settings"]["kl_target"], color="grey", ls=":", label="free nats")
    kl.set_ylabel("KL(q ‖ p) (nats/frame)")
    kl.legend(fontsize="small")
    mse.plot(epochs, series("mse_posterior"), "o-", label="posterior z_rec")
    mse.plot(epochs, series("mse_prior"), "s--", label="prior-sampled z_rec")
    mse.set_ylabel("reconstruction MSE (standardised units²)")
    mse.legend(fontsize="small")
    dyn.plot(epochs, series("dyn_ig_nats_per_dim"), "o-")
    dyn.axhline(0.0, color="black", lw=0.5)
    dyn.set_ylabel("dynamics gain over marginal (nats/dim/step)")
    for ax in (kl, mse, dyn):
        ax.set_xlabel("epoch")
    return figure


def ig_figure(ig: dict[str, Any]) -> Any:
    """Phase 1 IG per dim (``IG_KEY``) vs horizon in seconds, z_dyn and raw latents, 95 % CIs."""
    figure = _figure()
    ax = figure.add_subplot()
    for name, style in (("z_dyn", "o-"), ("raw", "s--")):
        entry = ig.get(name, {})
        ks = sorted((k for k in entry if k.isdigit()), key=int)
        if not ks:
            continue
        seconds = np.array([int(k) / entry["frame_rate"] for k in ks])
        value = np.array([np.nan if entry[k][IG_KEY] is None else entry[k][IG_KEY] for k in ks])
        ci = np.array([[np.nan if v is None else v for v in entry[k]["ci95"][IG_KEY]] for k in ks])
        ax.errorbar(
            seconds, value, yerr=np.abs(ci.T - value), fmt=style, capsize=3,
            label=f"{name} ({entry['dims']} dims)",
        )  # fmt: skip
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xlabel("horizon (s)")
    ax.set_ylabel("IG beyond the full-covariance marginal (nats/dim)")
    ax.legend(fontsize="small")
    return figure


def rollout_figure(rollout: dict[str, Any]) -> Any:
    """Reconstruction MSE after s free-running dynamics steps vs from the encoder's own state."""
    figure = _figure()
    ax = figure.add_subplot()
    steps = [s for s, e in rollout.items() if e["mse_free"] is not None]
    x = np.array([int(s) for s in steps])
    for name, style in (("mse_free", "o-"), ("mse_teacher", "s--")):
        ax.plot(x, [rollout[s][name] for s in steps], style, label=name.removeprefix("mse_"))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rollout steps (states on the z_dyn grid)")
    ax.set_ylabel("reconstruction MSE (standardised units²)")
    ax.legend(fontsize="small")
    return figure


def write_figures(out: Path, section: dict[str, Any]) -> None:
    """``factorize_epochs.png``, ``factorize_ig.png`` and ``factorize_rollout.png``."""
    save_figure(epochs_figure(section), out / "factorize_epochs.png")
    save_figure(ig_figure(section["ig"]), out / "factorize_ig.png")
    save_figure(rollout_figure(section["eval"]["rollout"]), out / "factorize_rollout.png")
