"""Writing corpus stores: layout constants, store checks and the batch-commit writer.

Commit protocol: a batch of items is (1) written into ``frames`` past the committed end, (2) its
offsets written, and (3) committed by rewriting the group attributes (``n_items``, ``items``),
which zarr's local store replaces atomically (temporary file, then rename). Readers look only at
the first ``n_items`` items, so rows or offsets past the commit (an interrupted batch) are
invisible, and ``CorpusWriter.resume`` cuts them off before encoding continues. A new store is
built in a temporary folder and renamed into place, so it is never seen half-created.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from latentroom.errors import ConfigError, InvalidLatentError, OutputExistsError

if TYPE_CHECKING:
    import zarr

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
STORE_KIND = "latentroom-corpus"
_CHUNK_BYTES = 1 << 20  # about 1 MiB of float32 per frames chunk


def check_store(path: Path) -> dict[str, Any]:
    """Return the attributes of a latentroom corpus store at ``path``.

    Raises
    ------
    InvalidLatentError
        Not a zarr group written by latentroom, or from a newer format version.
    """
    meta_file = path / "zarr.json"
    try:
        attrs = json.loads(meta_file.read_text(encoding="utf-8")).get("attributes", {})
    except (OSError, ValueError, AttributeError) as err:
        raise InvalidLatentError(
            f"{path}: not a corpus store (no readable zarr.json); encode one first"
        ) from err
    if attrs.get("kind") != STORE_KIND:
        raise InvalidLatentError(f"{path}: zarr group is not a latentroom corpus store")
    version = attrs.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= FORMAT_VERSION:
        raise InvalidLatentError(
            f"{path}: corpus format_version {version!r} is not supported (this latentroom reads "
            f"1..{FORMAT_VERSION}); upgrade latentroom or re-encode"
        )
    return dict(attrs)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def store_attrs(
    codec: str, frame_rate: float, latent_dim: int, facts: dict[str, Any]
) -> dict[str, Any]:
    from latentroom import __version__

    return {
        "kind": STORE_KIND,
        "format_version": FORMAT_VERSION,
        "codec": codec,
        "frame_rate": float(frame_rate),
        "latent_dim": int(latent_dim),
        "hop_length": facts.get("hop_length"),
        "sample_rate": facts.get("sample_rate"),
        "latent_kind": facts.get("latent_kind"),
        "latentroom_version": __version__,
    }


def store_array(group: zarr.Group, name: str) -> zarr.Array:
    """The array ``name`` of a corpus store."""
    import zarr

    array = group[name]
    if not isinstance(array, zarr.Array):
        raise InvalidLatentError(f"corpus store member {name!r} is not an array; re-encode")
    return array


class CorpusWriter:
    """Appends committed batches to a store; see the module docstring for the protocol."""

    def __init__(self, group: zarr.Group) -> None:
        self.group = group
        self.items = [dict(item) for item in cast(list[dict[str, Any]], group.attrs["items"])]
        self.end = int(sum(item["n_frames"] for item in self.items))

    @property
    def n_items(self) -> int:
        return len(self.items)

    @classmethod
    def create(cls, path: Path, attrs: dict[str, Any], *, force: bool) -> CorpusWriter:
        """Build an empty store in a temporary folder, then move it into place."""
        import zarr

        if path.exists():
            if not force:
                raise OutputExistsError(f"{path} already exists; pass --force to overwrite it")
            check_store(path)  # refuse to delete anything that is not a corpus store
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        try:
            group = zarr.open_group(str(tmp), mode="w")
            dim = attrs["latent_dim"]
            rows = max(256, _CHUNK_BYTES // (4 * dim))
            group.create_array("frames", shape=(0, dim), chunks=(rows, dim), dtype="float32")
            group.create_array("offsets", shape=(1,), chunks=(65536,), dtype="int64", fill_value=0)
            group.attrs.update({**attrs, "n_items": 0, "items": [], "complete": False})
            os.replace(tmp, path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return cls(zarr.open_group(str(path), mode="r+"))

    @classmethod
    def resume(cls, path: Path, attrs: dict[str, Any], sources: list[str]) -> CorpusWriter:
        import zarr

        check_store(path)
        group = zarr.open_group(str(path), mode="r+")
        stored = dict(group.attrs)
        for key in ("codec", "frame_rate", "latent_dim", "group_regex"):
            if stored.get(key) != attrs[key]:
                raise ConfigError(
                    f"{path}: store was made with {key}={stored.get(key)!r}, this run has "
                    f"{attrs[key]!r}; pass --force to start over"
                )
        if "weights_sha256" in attrs and stored.get("weights_sha256") != attrs["weights_sha256"]:
            made = str(stored.get("weights_sha256") or "not recorded")[:12]
            raise ConfigError(
                f"{path}: store holds latents of other weights (fingerprint {made}, this codec "
                f"{attrs['weights_sha256'][:12]}); re-encode: pass --force, or delete the store"
            )
        writer = cls(group)
        writer.check_prefix(path, sources)
        writer.truncate()
        logger.info("%s: resuming after %d committed items", path, writer.n_items)
        return writer

    def check_prefix(self, path: Path, sources: list[str]) -> None:
        """Committed items must be the first sources, with unchanged file content."""
        done = [item["source"] for item in self.items]
        if done != sources[: len(done)]:
            raise ConfigError(
                f"{path}: holds {len(done)} items from another file list; pass --force to start "
                "over, or give the same inputs to resume"
            )
        for item in self.items:
            if file_sha256(item["source"]) != item["sha256"]:
                raise ConfigError(
                    f"{item['source']}: file changed since it was encoded into {path}; "
                    "pass --force to start over"
                )

    def truncate(self) -> None:
        """Cut rows and offsets an interrupted batch left past the commit."""
        frames, offsets = store_array(self.group, "frames"), store_array(self.group, "offsets")
        frames.resize((self.end, frames.shape[1]))
        offsets.resize((self.n_items + 1,))
        ends = np.cumsum([0] + [item["n_frames"] for item in self.items], dtype=np.int64)
        offsets[:] = ends
        self.group.attrs["complete"] = False

    def commit(self, batch: list[tuple[np.ndarray, dict[str, Any]]]) -> None:
        """Write a batch's frames, then offsets, then the attributes that make it visible."""
        frames, offsets = store_array(self.group, "frames"), store_array(self.group, "offsets")
        data = np.concatenate([np.asarray(rows, dtype=np.float32) for rows, _ in batch], axis=0)
        frames.resize((self.end + data.shape[0], frames.shape[1]))
        frames[self.end :] = data
        new_ends = self.end + np.cumsum([rows.shape[0] for rows, _ in batch], dtype=np.int64)
        offsets.resize((self.n_items + 1 + len(batch),))
        offsets[self.n_items + 1 :] = new_ends
        self.items.extend(item for _, item in batch)
        self.end = int(new_ends[-1])
        self.group.attrs.update({"n_items": self.n_items, "items": self.items})

    def finish(self) -> None:
        self.group.attrs["complete"] = True
