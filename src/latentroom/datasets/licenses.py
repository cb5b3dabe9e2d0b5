"""Which Debian package a file came from, and the license its ``copyright`` file gives it.

Debian's machine-readable copyright format (DEP-5) lists ``Files:`` stanzas of glob patterns,
each with a ``License:`` field; the last stanza whose pattern matches a file wins. The patterns
are paths in the *source* package, not where the file is installed, so a pattern matches when it
matches any tail of the installed path (``data/music/*.ogg`` matches
``/usr/share/games/x/data/music/a.ogg``). A copyright file that is not DEP-5 (free text) gives no
license: the caller must pass one (``--license``) after reading it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

DOC_ROOT = Path("/usr/share/doc")
DEP5_MARKER = "copyright-format"  # the Format: URL of every DEP-5 file contains this
ARCHIVE_SUFFIXES = (".h2drumkit", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".zip")
DPKG_BATCH = 200  # paths per ``dpkg-query -S`` call: one call per file would take minutes


@dataclass(frozen=True)
class Stanza:
    """One paragraph of a DEP-5 file: its ``Files`` patterns (empty for the header) and license."""

    files: tuple[str, ...]
    license: str | None


def parse_paragraphs(text: str) -> list[dict[str, str]]:
    """Split RFC 822-style text into paragraphs of ``{field (lower case): first line}``.

    Continuation lines (starting with white space) are joined onto ``files`` (a pattern list may
    run over several lines) and dropped for every other field, whose first line is its value
    (the license's short name; the license text follows on continuation lines).
    """
    paragraphs: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if current:
                paragraphs.append(current)
            current, last = {}, ""
        elif line[0] in " \t":
            if last == "files":
                current["files"] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            last = key.strip().lower()
            current[last] = value.strip()
    if current:
        paragraphs.append(current)
    return paragraphs


def parse_dep5(text: str) -> list[Stanza] | None:
    """The header and ``Files`` stanzas of a DEP-5 file, in order; ``None`` if it is not DEP-5."""
    paragraphs = parse_paragraphs(text)
    if not paragraphs or DEP5_MARKER not in paragraphs[0].get("format", ""):
        return None
    stanzas = [Stanza((), paragraphs[0].get("license") or None)]
    for para in paragraphs[1:]:
        if "files" in para:
            stanzas.append(Stanza(tuple(para["files"].split()), para.get("license") or None))
    return stanzas


def glob_regex(pattern: str) -> re.Pattern[str]:
    """DEP-5 globs: ``*`` matches any run of characters *including* ``/``, ``?`` one character."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("".join(parts) + r"\Z")


def matches(pattern: str, path: Path) -> bool:
    """Whether ``pattern`` matches ``path`` or any of its tails (see the module docstring).

    A pattern naming a packed archive (``drumkits/Kit.h2drumkit``) also matches the files
    unpacked from it into a folder of its name (``.../drumkits/Kit/snare.wav``): packages such
    as hydrogen-drumkits license the archives of their source and install them unpacked.
    """
    pattern = pattern.removeprefix("./")
    regexes = [glob_regex(pattern)]
    for suffix in ARCHIVE_SUFFIXES:
        if pattern.endswith(suffix):
            regexes.append(glob_regex(pattern.removesuffix(suffix) + "/*"))
    parts = path.parts
    tails = ["/".join(parts[i:]) for i in range(1, len(parts))]
    return any(regex.match(tail) for regex in regexes for tail in tails)


def license_from_copyright(text: str, path: Path) -> str | None:
    """The license DEP-5 ``text`` gives ``path``: the last matching ``Files`` stanza's, else
    the header's; ``None`` when the text is not DEP-5 or names no license for it."""
    stanzas = parse_dep5(text)
    if stanzas is None:
        return None
    found = stanzas[0].license
    for stanza in stanzas[1:]:
        if stanza.license and any(matches(p, path) for p in stanza.files):
            found = stanza.license
    return found


def owning_packages(paths: Iterable[Path]) -> dict[Path, str]:
    """``{path: package}`` for the paths an installed Debian package owns (``dpkg-query -S``).

    Paths no package owns are left out; without dpkg the answer is empty.
    """
    if shutil.which("dpkg-query") is None:
        return {}
    paths = [Path(p) for p in paths]
    owners: dict[Path, str] = {}
    for start in range(0, len(paths), DPKG_BATCH):
        batch = paths[start : start + DPKG_BATCH]
        # Exit status 1 only says some path is unowned; the owned ones are still printed.
        out = subprocess.run(
            ["dpkg-query", "-S", *map(str, batch)], capture_output=True, text=True, check=False
        ).stdout
        for line in out.splitlines():
            packages, _, owned = line.partition(": ")
            if owned and not packages.startswith("diversion"):
                # "pkg:arch" or "pkg1, pkg2" for shared paths: the first owner's docs are read.
                owners[Path(owned)] = packages.split(",")[0].strip().split(":")[0]
    return owners


def package_version(package: str) -> str | None:
    """The installed version of ``package`` (``dpkg-query -W``), or ``None``."""
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def package_license(package: str, path: Path, *, doc_root: Path | None = None) -> str | None:
    """The license ``doc_root/package/copyright`` gives ``path`` (``doc_root`` defaults to
    ``DOC_ROOT``), or ``None`` if unreadable."""
    doc_root = DOC_ROOT if doc_root is None else doc_root
    try:
        text = (doc_root / package / "copyright").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return license_from_copyright(text, path)
