"""RAVE TorchScript exports (``rave:/path/model.ts``) as a ``Codec``, described by their own params.

Everything is read from the file, nothing is assumed: channels, latent dims and the compression
ratio come from the ``encode_params`` / ``decode_params`` buffers that nn~ reads
(``[in_ch, 1, dims, ratio]`` and ``[dims, ratio, out_ch, 1]``), the sample rate from the ``sr``
attribute (RAVE v2) or the ``sampling_rate`` buffer (v1). RAVE's exported ``encode`` samples the
posterior and ``decode`` pads the PCA-cropped dims with noise, both from the *global* torch RNG;
every call therefore runs inside ``torch.random.fork_rng`` with a seed drawn from the caller's
generator (or ``DEFAULT_SEED``), so results are reproducible and the caller's RNG is untouched.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from latentroom.codecs.base import Codec
from latentroom.errors import ConfigError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

DEFAULT_SEED = 0  # seeds encode/decode when no generator is given, so the default is reproducible
# Module classes that cached_conv substitutes when a model is exported with ``--streaming``.
STREAMING_MODULES = frozenset({"CachedPadding1d", "CachedConv1d", "CachedConvTranspose1d"})


@dataclass(frozen=True)
class RaveSpec:
    """What a RAVE export says about itself.

    Attributes
    ----------
    in_channels, out_channels : int
        Channels ``encode`` takes and ``decode`` returns (``encode_params[0]``,
        ``decode_params[2]``).
    latent_dim : int
        Latent dims after the export's PCA crop (``encode_params[2]``).
    ratio : int
        Samples per latent frame (``encode_params[3]``).
    sample_rate : int
        From ``sr`` (v2), ``sampling_rate`` (v1) or the ``sample_rate`` option.
    streaming : str
        Why the file looks like a streaming (cached-conv) export; "" when it does not.
    """

    in_channels: int
    out_channels: int
    latent_dim: int
    ratio: int
    sample_rate: int
    streaming: str


def load_rave(
    path: str,
    *,
    sample_rate: int | None = None,
    random_init: bool = False,
    device: str = "cpu",
    **unknown: Any,
) -> RaveCodec:
    """Load a RAVE TorchScript export as a codec (registry factory for ``rave:PATH``).

    Parameters
    ----------
    path : str
        A ``.ts`` file written by ``rave export`` (any RAVE version, any ratio and rate).
    sample_rate : int or None
        Needed only when the file stores no rate (``sr``/``sampling_rate``); must match it
        otherwise.
    random_init : bool
        Not supported: an export carries its own architecture and weights, so there is no
        published config to re-initialise. ``True`` raises ``ConfigError``.
    device : str
        Where the module runs (``auto``, ``cpu``, ``cuda[:N]``, ``mps``); exports run in float32.

    Raises
    ------
    ConfigError
        Missing file, not TorchScript, no ``encode``/``decode`` methods or params, inconsistent
        params, unknown rate, ``random_init=True`` or an unknown option.
    """
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(sorted(unknown))} for codec rave:; "
            "allowed: sample_rate, random_init, device"
        )
    if random_init:
        raise ConfigError(
            "random_init does not apply to rave: a TorchScript export carries its own "
            "architecture and weights; pass the path of an exported .ts file instead"
        )
    file = Path(path).expanduser()  # the shell leaves "~" after "rave:" unexpanded
    module = load_script(file)
    spec = read_spec(module, file, sample_rate=sample_rate)
    codec = RaveCodec(module, spec, name=f"rave:{path}", device=device)
    if spec.streaming:
        codec.warn_streaming(spec.streaming)
    return codec


def load_script(path: Path) -> torch.jit.ScriptModule:
    """``torch.jit.load`` on CPU, turning every way the file can be wrong into one-line errors."""
    import torch

    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise ConfigError(f"RAVE model {path} {what}; give the path of an exported .ts file")
    try:
        with warnings.catch_warnings():
            # recent torch deprecates TorchScript, but it is the format RAVE and nn~ use
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as exc:
        # torch's reader appends paragraphs of advice; its first sentence names the problem
        reason = str(exc).strip().split("\n")[0].split(". ")[0] or type(exc).__name__
        raise ConfigError(
            f"RAVE model {path} is not a TorchScript file ({reason}); "
            "export it with `rave export --run RUN`"
        ) from exc
    missing = [name for name in ("encode", "decode") if not callable(getattr(module, name, None))]
    if missing:
        raise ConfigError(
            f"RAVE model {path} has no {' or '.join(missing)} method; "
            "it is not a RAVE export (export it with `rave export --run RUN`)"
        )
    return module.eval()


def read_spec(
    module: torch.jit.ScriptModule, path: Path, *, sample_rate: int | None = None
) -> RaveSpec:
    """Read channels, dims, ratio, rate and streaming hints from a loaded export."""
    in_ch, in_ratio, dims, ratio = read_params(module, path, "encode_params")
    dec_dims, dec_ratio, out_ch, out_ratio = read_params(module, path, "decode_params")
    if (in_ratio, out_ratio) != (1, 1) or (dec_dims, dec_ratio) != (dims, ratio):
        raise ConfigError(
            f"RAVE model {path} has inconsistent params: encode_params "
            f"{[in_ch, in_ratio, dims, ratio]}, decode_params "
            f"{[dec_dims, dec_ratio, out_ch, out_ratio]}; expected [C, 1, D, R] and "
            "[D, R, C_out, 1] (re-export the model)"
        )
    rate = read_sample_rate(module, path, sample_rate)
    return RaveSpec(in_ch, out_ch, dims, ratio, rate, streaming_hint(module, path))


def read_params(module: torch.jit.ScriptModule, path: Path, name: str) -> list[int]:
    """One of the four-entry nn~ method params buffers, as positive ints."""
    import torch

    params = getattr(module, name, None)
    if not isinstance(params, torch.Tensor) or params.numel() != 4:
        raise ConfigError(
            f"RAVE model {path} has no {name} buffer of 4 entries "
            "(nn~ method params); it is not a RAVE export or predates nn~"
        )
    values = [int(v) for v in params.flatten().tolist()]
    if min(values) < 1:
        raise ConfigError(f"RAVE model {path} has {name} {values}; every entry must be >= 1")
    return values


def read_sample_rate(module: torch.jit.ScriptModule, path: Path, override: int | None) -> int:
    """``sr`` (v2), else ``sampling_rate`` (v1), else ``override``; they must agree."""
    import torch

    stored = getattr(module, "sr", None)
    if stored is None:
        stored = getattr(module, "sampling_rate", None)
    if isinstance(stored, torch.Tensor):
        stored = int(stored.item())
    if stored is None and override is None:
        raise ConfigError(
            f"RAVE model {path} stores no sample rate (sr or sampling_rate); "
            "pass sample_rate=RATE with the rate it was trained at"
        )
    if stored is not None and override is not None and int(stored) != override:
        raise ConfigError(
            f"sample_rate={override} contradicts the {stored} Hz stored in RAVE model {path}; "
            "drop the sample_rate option"
        )
    rate = int(stored if stored is not None else override)  # type: ignore[arg-type]
    if rate < 1:
        raise ConfigError(f"RAVE model {path} has sample rate {rate}; it must be >= 1 Hz")
    return rate


def streaming_hint(module: torch.jit.ScriptModule, path: Path) -> str:
    """Why ``module`` looks like a streaming (cached-conv) export, or "" when it does not."""
    cached = sorted(
        {
            sub.original_name
            for _, sub in module.named_modules()
            if getattr(sub, "original_name", "") in STREAMING_MODULES
        }
    )
    if cached:
        return f"it contains cached_conv modules {', '.join(cached)}"
    if "_streaming" in path.stem:
        return "its name carries RAVE's _streaming suffix"
    return ""


class RaveCodec(Codec):
    """A loaded RAVE export.

    RAVE's exported ``encode`` always samples its posterior (there is no mean method), so the
    default encode (no generator, ``sample=False``, recorded as ``sampled=False``) is that sample
    with torch seeded to ``DEFAULT_SEED``: deterministic, but not the posterior mean, hence
    ``latent_kind = "rave-pca-sample"``. ``sample=True`` without a generator draws a fresh seed.

    ``channels`` is what ``encode`` takes (input is remixed to it); ``output_channels`` is what
    ``decode`` returns (RAVE v2.3 ``--channels`` exports may differ). Input is zero-padded at
    the end to a multiple of the ratio, so ``T = ceil(N / ratio)`` and decoding gives
    ``T * ratio`` samples.
    """

    latent_kind = "rave-pca-sample"
    stochastic = True

    def __init__(
        self, module: torch.jit.ScriptModule, spec: RaveSpec, *, name: str, device: str = "cpu"
    ) -> None:
        from latentroom.devices import resolve_device

        self.name = name
        self.device = resolve_device(device)
        self.module = module.to(self.device)
        self.spec = spec
        self.sample_rate = spec.sample_rate
        self.channels = spec.in_channels
        self.output_channels = spec.out_channels
        self.hop_length = spec.ratio
        self.latent_dim = spec.latent_dim
        self._state_checked: set[str] = set()  # methods whose first call was watched
        self._warned_streaming = False

    def modules_for_count(self) -> torch.nn.Module:
        return self.module

    def _encode(
        self, x: torch.Tensor, *, sample: bool, generator: torch.Generator | None
    ) -> torch.Tensor:
        import torch

        n_samples = x.shape[-1]
        padded = math.ceil(n_samples / self.hop_length) * self.hop_length
        x = torch.nn.functional.pad(x, (0, padded - n_samples))
        if sample and generator is None:
            generator = torch.Generator()
            generator.seed()  # a fresh draw was asked for: seed from OS entropy
        z = self._call("encode", x, generator)
        self._check_shape("encode", z, (x.shape[0], self.latent_dim, padded // self.hop_length))
        return z

    def _decode(self, z: torch.Tensor, *, generator: torch.Generator | None) -> torch.Tensor:
        y = self._call("decode", z.contiguous(), generator)
        n_samples = z.shape[-1] * self.hop_length
        if y.ndim == 3 and y.shape[-1] > n_samples:
            y = y[..., :n_samples]  # v2.3 exports crop the same way when padding overshoots
        self._check_shape("decode", y, (z.shape[0], self.output_channels, n_samples))
        return y

    def _call(
        self, method: str, tensor: torch.Tensor, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Run a module method under a private, seeded global RNG; watch for carried state."""
        import torch

        if generator is None:
            seed = DEFAULT_SEED
        else:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator).item())
        before = None if method in self._state_checked else self._buffer_snapshot()
        # The module draws from the global RNG of the device it runs on: fork that one too.
        devices = [torch.device(self.device).index or 0] if self.device.startswith("cuda") else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            out: torch.Tensor = getattr(self.module, method)(self.place(tensor))
        if before is not None:
            self._state_checked.add(method)
            changed = [
                k for k, v in self._buffer_snapshot().items() if not torch.equal(v, before[k])
            ]
            if changed:
                self.warn_streaming(f"its buffers {', '.join(changed[:3])} changed during {method}")
        return out

    def _buffer_snapshot(self) -> dict[str, torch.Tensor]:
        return {name: b.detach().clone() for name, b in self.module.named_buffers()}

    def _check_shape(self, method: str, y: torch.Tensor, expected: tuple[int, int, int]) -> None:
        if tuple(y.shape) != expected:
            raise ConfigError(
                f"RAVE model {self.name.removeprefix('rave:')} {method} returned shape "
                f"{tuple(y.shape)}; its params promise {expected}; re-export the model"
            )

    def warn_streaming(self, reason: str) -> None:
        """Log, once per loaded model, that a streaming export carries state between calls."""
        if self._warned_streaming:
            return
        self._warned_streaming = True
        logger.warning(
            "%s looks like a streaming (cached-conv) RAVE export (%s): its padding state "
            "carries over between calls, so results depend on what ran before; for offline "
            "work use a non-streaming export (rave export without --streaming)",
            self.name,
            reason,
        )

    def describe(self) -> dict[str, Any]:
        """Base facts plus ``output_channels`` and the streaming hint."""
        return {
            **super().describe(),
            "output_channels": self.output_channels,
            "streaming": bool(self.spec.streaming) or self._warned_streaming,
        }
