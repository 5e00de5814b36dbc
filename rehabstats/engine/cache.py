"""Results kept between runs: a data file is analysed once for the same code and settings.

``rehabstats render`` and ``rehabstats preview`` ask :func:`cached_analyse` for the
results of a data file. They are looked up by a key made of everything that decides
them: the file's SHA-256, every source file of the installed rehabstats, the study
settings file, the name and version of every package in the environment, and the
Python version. Any change of these gives another key, so a number is never served
from a stale computation; what is stored is what :func:`rehabstats.analyse` returned
(disclosure control is applied afterwards, for each run's rule).

The cache is a private folder (``$XDG_CACHE_HOME/rehabstats``, else
``~/.cache/rehabstats``; ``REHABSTATS_CACHE`` names another, or ``off`` switches it
off). It holds aggregate results, never rows of the data, and keeps the most recent
:data:`KEPT` of them.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import platform
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import rehabstats
from rehabstats.reporting.results import Results, analyse, file_sha256

CACHE_ENV = "REHABSTATS_CACHE"
KEPT = 16  # results files kept; the oldest go first
SOURCE_SUFFIXES = (".py", ".yaml", ".yml", ".csv", ".json")  # what decides the results


def cache_folder() -> Path | None:
    """Where results are kept, or None when the cache is off (``REHABSTATS_CACHE=off``)."""
    named = os.environ.get(CACHE_ENV, "")
    if named.lower() == "off":
        return None
    if named:
        return Path(named)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "rehabstats"


def code_digest() -> str:
    """The installed rehabstats' source files, each by its path and content."""
    package = Path(rehabstats.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in SOURCE_SUFFIXES and "__pycache__" not in path.parts:
            digest.update(path.relative_to(package).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _environment_digest() -> str:
    """Every installed package by name and version, and the Python version."""
    packages = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in metadata.distributions()
    )
    return hashlib.sha256("\n".join([platform.python_version(), *packages]).encode()).hexdigest()


def _specification_digest() -> str:
    """The report's tables and diagrams, and the source of each function that computes
    figures of its own (it may live outside the package, as a test's does)."""
    from rehabstats.reporting import specification  # read when called: it may be extended

    digest = hashlib.sha256()
    for exhibit in specification.REPORT:
        digest.update(exhibit.key.encode() + b"\0")
        if exhibit.compute is not None:
            name = f"{exhibit.compute.__module__}.{exhibit.compute.__qualname__}"
            digest.update(name.encode() + b"\0")
            digest.update(Path(inspect.getsourcefile(exhibit.compute)).read_bytes())
    return digest.hexdigest()


def results_key(data_sha256: str, settings: Path | None) -> str:
    """The key of a data file's results: what decides them, hashed (see the module doc)."""
    digest = hashlib.sha256()
    parts = (data_sha256, code_digest(), _specification_digest(), _environment_digest())
    for part in parts:
        digest.update(part.encode() + b"\0")
    if settings is not None:
        digest.update(Path(settings).read_bytes())
    return digest.hexdigest()


def cached_analyse(
    data: str | Path,
    settings: Path | None = None,
    analyse_file: Callable[[Path], Results] = analyse,
) -> Results:
    """The results of ``data`` (:func:`rehabstats.analyse`), from the cache when the same
    file was analysed by the same code, settings and libraries; computed and kept
    otherwise. ``settings`` is the project's study settings file, which the caller has
    applied."""
    data = Path(data)
    folder = cache_folder()
    if folder is None:
        return analyse_file(data)
    stored = folder / f"{results_key(file_sha256(data), settings)}.pickle"
    if stored.is_file():
        return Results.open(stored)
    results = analyse_file(data)
    _keep(results, folder, stored)
    return results


def _keep(results: Results, folder: Path, stored: Path) -> None:
    """Store ``results`` whole or not at all (a new file moved into place), private to
    the user, and drop the oldest beyond :data:`KEPT`."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=folder, suffix=".partial")
    os.close(handle)
    try:
        results.save(Path(partial))
        os.replace(partial, stored)
    finally:
        Path(partial).unlink(missing_ok=True)
    kept = sorted(folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[KEPT:]:
        old.unlink(missing_ok=True)
