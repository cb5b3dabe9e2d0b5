"""The identity of a corpus and its codec, recorded by a Phase 3 run and checked by its users."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from latentroom.analysis.data import ItemSource, open_source
from latentroom.errors import InvalidLatentError

#: The fields compared by ``check_fingerprint``, in the order a mismatch is reported.
FIELDS = ("codec", "weights_sha256", "latent_dim", "frame_rate", "n_items", "content_sha256")


def corpus_fingerprint(source: ItemSource) -> dict[str, Any]:
    """Codec name and weights hash (as the corpus store recorded them) and a hash of the frames.

    The content hash covers every item's shape and float32 bytes in order, so two corpora agree
    only if they hold the same latents: the same audio through the same codec, weights and
    encoding options.
    """
    digest = hashlib.sha256()
    dims = 0
    for i in range(source.n_items):
        x = np.ascontiguousarray(source.item(i), dtype=np.float32)
        dims = int(x.shape[1]) if x.ndim == 2 else dims
        digest.update(np.asarray(x.shape, dtype=np.int64).tobytes())
        digest.update(x.tobytes())
    attrs = getattr(source, "attrs", None) or {}
    weights = attrs.get("weights_sha256") if hasattr(attrs, "get") else None
    return {
        "codec": str(getattr(source, "codec", "") or ""),
        "weights_sha256": str(weights) if weights else None,
        "latent_dim": dims,
        "frame_rate": float(source.frame_rate),
        "n_items": int(source.n_items),
        "content_sha256": digest.hexdigest(),
    }


def check_fingerprint(
    recorded: dict[str, Any], corpus: ItemSource | str | Path, *, run_dir: Path
) -> None:
    """Refuse ``corpus`` unless it is the corpus (and codec) the run in ``run_dir`` was trained on.

    Raises
    ------
    InvalidLatentError
        One line naming the first field that differs.
    """
    source = open_source(corpus) if isinstance(corpus, str | Path) else corpus
    found = corpus_fingerprint(source)
    for name in FIELDS:
        if recorded.get(name) != found[name]:
            raise InvalidLatentError(
                f"the factorized run {run_dir} was trained on another corpus or codec ({name}: "
                f"{_short(recorded.get(name))} there, {_short(found[name])} here); pass the "
                "corpus it was trained on, or factorize this one first"
            )


def _short(value: Any) -> str:
    text = str(value)
    return text[:12] if len(text) == 64 else text
