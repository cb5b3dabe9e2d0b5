"""Write a builtin model folder from a training run's checkpoint (``train_state.pt``).

For a run stopped before its last step: `train codec` writes ``model.safetensors`` and
``model.json`` only when it finishes, and ``--resume`` refuses a step count it has already
reached. The weights are the checkpoint's, exactly.

    python scripts/builtin_from_checkpoint.py RUN_DIR -o MODEL_DIR
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from latentroom.codecs.builtin import write_weights
from latentroom.codecs.builtin_model import BuiltinConfig, build_model
from latentroom.train.checkpoint import load_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a `train codec` output folder")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the model folder")
    args = parser.parse_args()

    train_config = json.loads((args.run / "train_config.json").read_text(encoding="utf-8"))
    config = BuiltinConfig.from_dict(train_config["model"])
    state = load_state(args.run / "train_state.pt")
    model = build_model(config, seed=0)
    model.load_state_dict(state["model"], strict=True)
    args.output.mkdir(parents=True, exist_ok=True)
    info = {"checkpoint_of": args.run.name, "step": int(state["step"])}
    write_weights(args.output, model.eval(), config, info=info)
    print(f"wrote {args.output} (step {state['step']})")


if __name__ == "__main__":
    main()
