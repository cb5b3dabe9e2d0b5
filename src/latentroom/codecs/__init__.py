"""Codecs: the abstract interface, the registry and the backends."""

from __future__ import annotations

from latentroom.codecs.base import Codec
from latentroom.codecs.registry import codec_names, get_codec, register_codec

__all__ = ["Codec", "codec_names", "get_codec", "register_codec"]
