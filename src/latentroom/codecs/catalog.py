"""Facts about every registered codec for ``latentroom codecs``: format, weights here, size.

The hub backends' facts come from their published configs (kept here, and checked against the
built models by the tests), so listing them imports neither torch nor transformers. Other codecs
(``builtin``, test codecs) are built to be described. Parameter counts of the hub backends need
``params=True``: the model is then built on torch's "meta" device (no memory, no weights), which
costs the transformers / diffusers import (~5-10 s) but no download.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any

from latentroom.codecs.registry import CodecEntry, codec_entries, get_codec
from latentroom.errors import LatentroomError


@dataclass(frozen=True)
class PublishedCodec:
    """What a hub backend's published checkpoint is, without loading it."""

    sample_rate: int  # Hz
    channels: int  # audio channels the model takes
    hop_length: int  # samples per latent frame
    latent_dim: int  # D
    repo_id: str  # Hugging Face hub id
    subfolder: str | None = None  # folder inside the repo holding the model


PUBLISHED: dict[str, PublishedCodec] = {
    "mimi": PublishedCodec(24_000, 1, 1920, 512, "kyutai/mimi"),
    "encodec-24k": PublishedCodec(24_000, 1, 320, 128, "facebook/encodec_24khz"),
    "encodec-48k": PublishedCodec(48_000, 2, 320, 128, "facebook/encodec_48khz"),
    "dac-16k": PublishedCodec(16_000, 1, 320, 1024, "descript/dac_16khz"),
    "dac-24k": PublishedCodec(24_000, 1, 320, 1024, "descript/dac_24khz"),
    "dac-44k": PublishedCodec(44_100, 1, 512, 1024, "descript/dac_44khz"),
    "acestep-vae": PublishedCodec(48_000, 2, 1920, 64, "ACE-Step/Ace-Step1.5", "vae"),
}

#: The package each pip extra stands for (enough to tell whether the extra is installed).
EXTRA_PACKAGES = {"transformers": "transformers", "vae": "diffusers"}


def codec_rows(*, params: bool = False) -> list[dict[str, Any]]:
    """One row per registered codec.

    Parameters
    ----------
    params : bool
        Also count the parameters of the hub backends (builds them on the meta device).

    Returns
    -------
    list of dict
        Keys ``name``, ``summary``, ``sample_rate``, ``channels``, ``hop_length``,
        ``frame_rate``, ``latent_dim``, ``parameters`` (None when not counted or unknown),
        ``weights`` ("yes", "no", "given by path", or "needs pip install 'latentroom[X]'").
    """
    return [_row(entry, params=params) for entry in codec_entries()]


def _row(entry: CodecEntry, *, params: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": f"{entry.name}PATH" if entry.name.endswith(":") else entry.name,
        "summary": entry.summary,
        **dict.fromkeys(("sample_rate", "channels", "hop_length", "frame_rate", "latent_dim")),
        "parameters": None,
        "weights": "given by path",
    }
    if entry.name.endswith(":"):
        return row
    published = PUBLISHED.get(entry.name)
    if published is None:
        return {**row, **_built_facts(entry.name)}
    row |= {
        "sample_rate": published.sample_rate,
        "channels": published.channels,
        "hop_length": published.hop_length,
        "frame_rate": published.sample_rate / published.hop_length,
        "latent_dim": published.latent_dim,
        "weights": _hub_weights(entry, published),
    }
    if params and not row["weights"].startswith("needs"):
        codec = get_codec(entry.name, random_init=True, device="meta")
        row["parameters"] = codec.parameter_count
    return row


def _hub_weights(entry: CodecEntry, published: PublishedCodec) -> str:
    """ "yes" / "no" from the local cache, or the install hint when the extra is missing."""
    package = EXTRA_PACKAGES.get(entry.extra)
    if package is not None and importlib.util.find_spec(package) is None:
        return f"needs pip install 'latentroom[{entry.extra}]'"
    from latentroom.codecs.hub import weights_cached

    return "yes" if weights_cached(published.repo_id, published.subfolder) else "no"


def _built_facts(name: str) -> dict[str, Any]:
    """Facts of a codec described by building it: with its weights, else with random ones."""
    weights = "yes"
    try:
        codec = get_codec(name)
    except ImportError:
        return {"weights": "backend not installed"}
    except LatentroomError:
        weights = "no"
        try:
            codec = get_codec(name, random_init=True)
        except LatentroomError:
            return {"weights": weights}
    facts = codec.describe()
    return {
        **{key: facts[key] for key in ("sample_rate", "channels", "hop_length", "frame_rate")},
        "latent_dim": facts["latent_dim"],
        "parameters": codec.parameter_count,
        "weights": weights,
    }
