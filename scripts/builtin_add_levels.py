"""Give a trained builtin model the level channels (and optionally decoder frame blocks).

Writes a model folder that `latentroom train codec --init` can start from: every tensor of the
source model is kept, the decoder's input conv gets zero weights for the two level channels
(so before fine-tuning it decodes exactly as the source, then rescales to the carried levels),
and any added decoder frame block starts with a zero residual scale (an identity).

With `--decoder-fft N` the decoder's main head draws N-point frames at hop N / 2 (shorter than
the encoder's, for sharper transient edges). Its layers are mapped from the source's, not drawn
at random: each new frame repeats the upsampler's output for the old frame it falls in, and new
bin k reads old bin k * (old N / N), the same frequency.

With `--level-window N --level-blend` the decoder also gets the level gate (it starts at an even
blend of the per-frame and the N-frame level match).

    python scripts/builtin_add_levels.py SOURCE_MODEL_DIR -o INIT_DIR [--frame-blocks N]
        [--decoder-fft N] [--level-window N [--level-blend]]
"""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path

import torch

from latentroom.codecs.builtin import read_weights, write_weights
from latentroom.codecs.builtin_config import BuiltinConfig
from latentroom.codecs.builtin_model import build_model


def _map_main_head(
    state: dict[str, torch.Tensor], old: dict[str, torch.Tensor], config: BuiltinConfig
) -> None:
    """Fill the new main head's upsampler and output layer from the old ones (see the top)."""
    new_up, old_up = state["decoder.up.weight"], old["decoder.up.weight"]  # (C, C, stride)
    repeat = new_up.shape[2] // old_up.shape[2]
    state["decoder.up.weight"].copy_(old_up.repeat_interleave(repeat, dim=2))
    state["decoder.up.bias"].copy_(old["decoder.up.bias"])
    n_old = old["decoder.head.weight"].shape[0] // 2  # absolute phase: magnitudes, then phases
    n_new = config.main_n_fft // 2 + 1
    step = (n_old - 1) // (n_new - 1)
    rows = torch.arange(n_new) * step
    k = torch.arange(n_new, dtype=torch.float32)
    for key in ("weight", "bias"):
        old_head = old[f"decoder.head.{key}"]
        new_head = torch.cat([old_head[rows], old_head[n_old + rows]])
        if key == "bias":
            # A frame `step` times shorter needs sqrt(step) less magnitude for noise of the same
            # RMS; the level channels correct the rest.
            new_head[:n_new] -= 0.5 * math.log(step)
            # irfft puts phase 0 at the frame's first sample, not its centre: moving the centre
            # from old N / 2 to N / 2 turns bin k by pi * k * (step - 1).
            new_head[n_new:] += math.pi * k * (step - 1) % (2 * math.pi)
        state[f"decoder.head.{key}"].copy_(new_head)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a trained builtin model folder")
    parser.add_argument("-o", "--output", required=True, help="the new model folder")
    parser.add_argument("--frame-blocks", type=int, default=None, help="decoder frame blocks")
    parser.add_argument("--decoder-fft", type=int, default=0, help="decoder main-head frame size")
    parser.add_argument("--level-window", type=int, default=1, help="frames the level match spans")
    parser.add_argument("--level-blend", action="store_true", help="add the level gate")
    parser.add_argument(
        "--level-k-weighted", action="store_true", help="K-weighted RMS channel and match"
    )
    args = parser.parse_args()

    source, config = read_weights(args.source)
    blocks = config.n_decoder_frame_blocks if args.frame_blocks is None else args.frame_blocks
    new_config = replace(
        config,
        level_channels=2,
        n_decoder_frame_blocks=blocks,
        level_window=args.level_window,
        level_blend=args.level_blend,
        level_k_weighted=args.level_k_weighted,
    )
    if args.decoder_fft:
        new_config = replace(
            new_config, n_fft_decoder=args.decoder_fft, decoder_hop=args.decoder_fft // 2
        )
    model = build_model(new_config, seed=0)
    state = model.state_dict()
    old = source.state_dict()
    mapped = new_config.main_n_fft != config.main_n_fft
    with torch.no_grad():
        if mapped:
            _map_main_head(state, old, new_config)
        for key, value in old.items():
            if key == "decoder.input.weight":  # (channels, code_dim, kernel): new dims read 0
                state[key].zero_()
                state[key][:, : value.shape[1]] = value
            elif not (mapped and key.startswith(("decoder.up.", "decoder.head."))):
                state[key].copy_(value)
        added = set(state) - set(old)
        for key in added:
            if key.startswith("decoder.frame_blocks.") and key.endswith(".scale"):
                state[key].zero_()
    model.load_state_dict(state)
    Path(args.output).mkdir(parents=True, exist_ok=True)
    write_weights(args.output, model, new_config, info={"init_from": "builtin + level channels"})


if __name__ == "__main__":
    main()
