"""Random-init ACE-Step 1.5 checkpoints, built from ACE-Step's own model and config classes.

No weights can be downloaded here; random weights run the same code at the same cost. The
folder this writes is what ACE-Step's ``initialize_service`` reads from ``<root>/checkpoints``:

- ``acestep-v15-base`` / ``-sft`` / ``-turbo``: the DiT (``acestep/models/{base,sft,turbo}``,
  ``AceStepConditionGenerationModel``), its ``config.json`` with the ``auto_map`` that
  ``AutoModel.from_pretrained(trust_remote_code=True)`` follows, and ``silence_latent.pt``;
- ``vae``: diffusers' ``AutoencoderOobleck`` (the published config at full size);
- ``Qwen3-Embedding-0.6B``: a transformers ``Qwen3Model`` and a small word-level tokenizer;
- ``acestep-5Hz-lm-1.7B``: a stub weight file (ACE-Step demands the folder even without its LM).

DiT folders not in ``models`` but demanded by ACE-Step (the turbo one) get a stub weight file too.
``torchaudio_stub`` stands in for a torchaudio that cannot load beside torch (torch 2.13 CPU):
ACE-Step imports it at module level for code the cover path never reaches with 48 kHz input.
Used by ``tests/test_feedback_acestep_real.py`` (``tiny=True``, CPU) and
``benchmarks/acestep_gpu.py`` (full size). Needs ACE-Step 1.5 >= c019bee importable (it has
``acestep/models/``), transformers 4.51-4.57 and diffusers.
"""

from __future__ import annotations

import importlib.machinery
import json
import re
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: DiT folder -> (``acestep/models`` variant, modeling module, ``is_turbo``).
DITS: dict[str, tuple[str, str, bool]] = {
    "acestep-v15-base": ("base", "modeling_acestep_v15_base", False),
    "acestep-v15-sft": ("sft", "modeling_acestep_v15_base", False),
    "acestep-v15-turbo": ("turbo", "modeling_acestep_v15_turbo", True),
}
#: Folders ACE-Step's ``initialize_service`` demands whatever the model (``model_downloader``).
REQUIRED = ("acestep-v15-turbo", "vae", "Qwen3-Embedding-0.6B", "acestep-5Hz-lm-1.7B")
TEXT_ENCODER = "Qwen3-Embedding-0.6B"
LM = "acestep-5Hz-lm-1.7B"
SILENCE_FRAMES = 750  # ACE-Step slices 750 frames of it for the timbre condition

#: Overrides of ``AceStepConfig``'s defaults (its defaults are the published full size).
TINY_DIT: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "num_lyric_encoder_hidden_layers": 1,
    "num_timbre_encoder_hidden_layers": 1,
    "num_attention_pooler_hidden_layers": 1,
    "num_audio_decoder_hidden_layers": 2,
    "text_hidden_dim": 32,
    "fsq_dim": 32,
    "timbre_hidden_dim": 64,
}
#: Qwen3-Embedding-0.6B's published config, and a tiny one.
FULL_TEXT: dict[str, Any] = {
    "vocab_size": 151_669,
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "max_position_embeddings": 32_768,
    "rope_theta": 1_000_000,
    "tie_word_embeddings": True,
}
TINY_TEXT: dict[str, Any] = {
    **FULL_TEXT,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 16,
    "vocab_size": 2000,
}
#: The VAE encoder's last layer is split into 64 means and 64 scales: it stays 128 wide.
TINY_VAE: dict[str, Any] = {"decoder_channels": 16, "channel_multiples": [1, 1, 1, 1, 1]}
WORDS = 2000  # tokenizer vocabulary: special tokens, then the most common words it is given


def build_checkpoints(
    folder: str | Path,
    *,
    models: Sequence[str] = ("acestep-v15-base",),
    tiny: bool = True,
    dtype: str = "float32",
    seed: int = 0,
) -> dict[str, int]:
    """Write random-init checkpoints for ``models`` into ``folder`` (the ``checkpoints`` dir).

    Parameters
    ----------
    folder : path
        The checkpoints folder to create (its parent is ACE-Step's ``project_root``).
    models : sequence of str
        DiT folders to build with real (random) weights, keys of ``DITS``.
    tiny : bool
        Tiny configs (CPU tests) instead of the published sizes.
    dtype : str
        Saved weight dtype (``"bfloat16"`` halves the full-size files).
    seed : int
        Torch seed for the random init.

    Returns
    -------
    dict
        Parameter count per built folder.
    """
    import torch

    unknown = [m for m in models if m not in DITS]
    if unknown:
        raise ValueError(f"unknown DiT folder {unknown[0]!r}; choose from {', '.join(DITS)}")
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    weight_dtype = getattr(torch, dtype)
    counts = {m: _build_dit(root / m, m, tiny=tiny, dtype=weight_dtype) for m in models}
    counts["vae"] = _build_vae(root / "vae", tiny=tiny, dtype=weight_dtype)
    counts[TEXT_ENCODER] = _build_text_encoder(root / TEXT_ENCODER, tiny=tiny, dtype=weight_dtype)
    for name in REQUIRED:
        if not (root / name).exists():
            _write_stub(root / name)
    return counts


def torchaudio_stub() -> types.ModuleType:
    """A ``torchaudio`` whose every attribute is missing (for ACE-Step's module-level import)."""
    stub = types.ModuleType("torchaudio")
    stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)  # find_spec reads it

    def missing(name: str) -> Any:
        raise AttributeError(f"torchaudio stub: {name} is not available")

    stub.__getattr__ = missing  # type: ignore[method-assign]
    return stub


def _build_dit(folder: Path, name: str, *, tiny: bool, dtype: Any) -> int:
    import importlib

    import torch

    variant, modeling, turbo = DITS[name]
    module = importlib.import_module(f"acestep.models.{variant}.{modeling}")
    config_class = module.AceStepConfig
    overrides = {**(TINY_DIT if tiny else {}), "model_version": variant, "is_turbo": turbo}
    model = module.AceStepConditionGenerationModel(config_class(**overrides)).to(dtype)
    model.save_pretrained(folder)
    config_path = folder / "config.json"
    config = json.loads(config_path.read_text())
    config["auto_map"] = {
        "AutoConfig": "configuration_acestep_v15.AceStepConfig",
        "AutoModel": f"{modeling}.AceStepConditionGenerationModel",
    }
    config_path.write_text(json.dumps(config, indent=2))
    channels = int(model.config.audio_acoustic_hidden_dim)
    torch.save(torch.randn(1, channels, SILENCE_FRAMES) * 0.01, folder / "silence_latent.pt")
    return sum(p.numel() for p in model.parameters())


def _build_vae(folder: Path, *, tiny: bool, dtype: Any) -> int:
    from diffusers.models import AutoencoderOobleck

    from latentroom.codecs.acestep_vae import PUBLISHED_CONFIG

    model = AutoencoderOobleck(**{**PUBLISHED_CONFIG, **(TINY_VAE if tiny else {})}).to(dtype)
    model.save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def _build_text_encoder(folder: Path, *, tiny: bool, dtype: Any) -> int:
    from transformers import Qwen3Config, Qwen3Model

    config = Qwen3Config(**(TINY_TEXT if tiny else FULL_TEXT))
    model = Qwen3Model(config).to(dtype)
    model.save_pretrained(folder)
    _tokenizer(min(WORDS, config.vocab_size)).save_pretrained(folder)
    return sum(p.numel() for p in model.parameters())


def _tokenizer(size: int) -> Any:
    """A word-level tokenizer (ACE-Step only needs ids, a pad id and plain ``__call__``)."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<unk>"]
    text = Path(__file__).read_text()  # any English-ish text gives the common words ids
    counts: dict[str, int] = {}
    for word in re.findall(r"\w+|[^\w\s]", text):
        counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))[: size - len(specials)]
    vocab = {w: i for i, w in enumerate([*specials, *words])}
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        pad_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<unk>",
    )


def _write_stub(folder: Path) -> None:
    """A folder ACE-Step checks for a weight file but never loads here."""
    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({"stub": torch.zeros(1)}, str(folder / "model.safetensors"))
    (folder / "STUB.txt").write_text("random-init stand-in: ACE-Step demands this folder\n")
