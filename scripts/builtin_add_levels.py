"""Give a trained builtin model the level channels (and optionally decoder frame blocks).

Writes a model folder that `latentroom train codec --init` can start from: every tensor of the
source model is kept, the decoder's input conv gets zero weights for the two level channels
(so before fine-tuning it decodes exactly as the source, then rescales to the carried levels),
and any added decoder frame block starts with a zero residual scale (an identity).

    python scripts/builtin_add_levels.py SOURCE_MODEL_DIR -o INIT_DIR [--frame-blocks N]
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import torch

from latentroom.codecs.builtin import read_weights, write_weights
from latentroom.codecs.builtin_model import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a trained builtin model folder")
    parser.add_argument("-o", "--output", required=True, help="the new model folder")
    parser.add_argument("--frame-blocks", type=int, default=None, help="decoder frame blocks")
    args = parser.parse_args()

    source, config = read_weights(args.source)
    blocks = config.n_decoder_frame_blocks if args.frame_blocks is None else args.frame_blocks
    new_config = replace(config, level_channels=2, n_decoder_frame_blocks=blocks)
    model = build_model(new_config, seed=0)
    state = model.state_dict()
    with torch.no_grad():
        for key, value in source.state_dict().items():
            if key == "decoder.input.weight":  # (channels, code_dim, kernel): new dims read 0
                state[key].zero_()
                state[key][:, : value.shape[1]] = value
            else:
                state[key].copy_(value)
        added = set(state) - set(source.state_dict())
        for key in added:
            if key.startswith("decoder.frame_blocks.") and key.endswith(".scale"):
                state[key].zero_()
    model.load_state_dict(state)
    Path(args.output).mkdir(parents=True, exist_ok=True)
    write_weights(args.output, model, new_config, info={"init_from": "builtin + level channels"})


if __name__ == "__main__":
    main()
