"""A finished Phase 3 run as its users (Phase 4) see it: identity checks and the z_dyn sequences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from latentroom.analysis.data import ItemSource
from latentroom.analysis.factorize.config import FactorizeConfig
from latentroom.analysis.factorize.fingerprint import check_fingerprint
from latentroom.errors import CheckpointError

if TYPE_CHECKING:
    from latentroom.analysis.factorize.model import Factorizer

#: The checkpoint of a Phase 3 run (written after every epoch; complete after the last one).
STATE_FILE = "factorize_state.pt"
STATE_FORMAT_VERSION = 1


@dataclass
class FactorizedRun:
    """A trained dual latent, with the identity of the corpus and codec it was trained on.

    Attributes
    ----------
    run_dir : Path
    config : FactorizeConfig
    fingerprint : dict
        Codec name, weights hash, latent dim, frame rate, item count and content hash.
    codec_frame_rate : float
        Frames per second of the codec latents.
    model : Factorizer
        In evaluation mode, on the CPU.
    """

    run_dir: Path
    config: FactorizeConfig
    fingerprint: dict[str, Any]
    codec_frame_rate: float
    model: Factorizer

    @property
    def dim_dyn(self) -> int:
        return self.config.dim_dyn

    @property
    def frame_rate(self) -> float:
        """States per second of the z_dyn sequences (the codec rate over ``rate``)."""
        return self.codec_frame_rate / self.config.rate

    def check_corpus(self, corpus: ItemSource | str | Path) -> None:
        """Raise ``InvalidLatentError`` (one line) unless ``corpus`` is the one trained on."""
        check_fingerprint(self.fingerprint, corpus, run_dir=self.run_dir)

    def dyn_states(self, sequences: list[np.ndarray], device: str = "cpu") -> list[np.ndarray]:
        """The z_dyn sequence of each raw-latent sequence.

        Parameters
        ----------
        sequences : list of np.ndarray [shape=(T_i, D)]
            Codec latents of the corpus trained on.
        device : str
            Where the encoder runs: ``auto``, ``cpu``, ``cuda[:N]``, ``mps``.

        Returns
        -------
        list of np.ndarray [shape=(ceil((T_i - L + 1) / r), dim_dyn), dtype=float32]
            State ``j`` summarises frames ``j·r .. j·r + L - 1`` (the causal encoder's output,
            deterministic); empty for items shorter than the context L.
        """
        from latentroom.devices import resolve_device

        model = self.model.to(resolve_device(device))
        try:
            return [model.dyn_states(np.asarray(x, dtype=np.float32)) for x in sequences]
        finally:
            self.model.to("cpu")


def read_state(path: Path) -> dict[str, Any]:
    """A Phase 3 checkpoint (tensors and plain data only).

    Raises
    ------
    CheckpointError
        Missing, unreadable or from another format version; the message names the fix.
    """
    from latentroom.train.checkpoint import read_torch_state

    if not path.is_file():
        raise CheckpointError(
            f"{path.parent} holds no Phase 3 run ({path.name} is missing); run "
            f"`latentroom analyze factorize CORPUS -o {path.parent}` first"
        )
    state = read_torch_state(
        path, what="Phase 3 checkpoint", fix="rerun `latentroom analyze factorize` with --force"
    )
    if not isinstance(state, dict) or state.get("format_version") != STATE_FORMAT_VERSION:
        raise CheckpointError(
            f"{path} is not a version-{STATE_FORMAT_VERSION} Phase 3 checkpoint; rerun "
            "`latentroom analyze factorize` with --force"
        )
    return state


def load_run(run_dir: Path) -> FactorizedRun:
    """The finished Phase 3 run in ``run_dir``.

    Raises
    ------
    CheckpointError
        No run there, a corrupt checkpoint, or a run that has not finished its epochs.
    """
    from latentroom.analysis.factorize.model import Factorizer

    run_dir = Path(run_dir)
    state = read_state(run_dir / STATE_FILE)
    try:
        config = FactorizeConfig.from_dict(state["config"])
        model = Factorizer(int(state["latent_dim"]), config)
        model.load_state_dict(state["model"], strict=True)
        epoch, fingerprint = int(state["epoch"]), dict(state["fingerprint"])
        rate = float(state["codec_frame_rate"])
    except (KeyError, RuntimeError, ValueError, TypeError) as err:
        raise CheckpointError(
            f"{run_dir / STATE_FILE} is corrupt ({str(err)[:120]}); rerun "
            "`latentroom analyze factorize` with --force"
        ) from err
    if epoch < config.epochs:
        raise CheckpointError(
            f"the Phase 3 run in {run_dir} stopped after epoch {epoch} of {config.epochs}; "
            "finish it with `latentroom analyze factorize ... --resume`"
        )
    model.eval()
    return FactorizedRun(run_dir, config, fingerprint, rate, model)
