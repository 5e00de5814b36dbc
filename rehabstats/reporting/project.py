"""A report project of one's own: a folder of report content that falls back to the package's.

``rehabstats new DIR`` copies the package's content into a folder a team keeps in its own
repository: the notebook, the prose and glossary per language, the edition, the study
settings (``study.yaml``), ``_quarto.yml``, a README, Word's styles (``reference.docx``)
and a ``.gitignore`` for what renders write. ``rehabstats render`` pointed
at such a folder (``--project DIR``), or run inside one (a folder with ``study.yaml``),
uses every file the project has and the package's for anything it lacks, file by file;
a glossary, key by key, so that a label the package gains later needs no edit of a
project's copy. Its ``edition.yaml`` is the report's edition unless ``--edition`` names
another, and its ``study.yaml`` may add codes to the data contract's categories
(:mod:`rehabstats.data.dictionary`).

:class:`Project` is the one home of that lookup: the render job, the prose, the
glossaries and the edition ask it where a file is.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rehabstats.errors import OptionError, ResourceError

# The package's report content: reports/ in a checkout, package data in a wheel.
PACKAGE_CONTENT = Path(str(resources.files("rehabstats.reports")))
SETTINGS_FILE = "study.yaml"
EDITION_FILE = "edition.yaml"
# What the package's content holds that is not report content: Python files, and the
# figures the notebook writes when it is run in place (papermill in reports/).
NOT_CONTENT = ("__init__.py", "__pycache__", "figures")
# What a new project's repository should not track: renders' outputs, as above.
PROJECT_GITIGNORE = "_output/\nfigures/\n.ipynb_checkpoints/\n"


@dataclass(frozen=True)
class Project:
    """A report project's folder (``root``), or none (the package's content alone)."""

    root: Path | None = None

    @classmethod
    def detect(cls, folder: Path) -> Project | None:
        """The project ``folder`` is, if it has study settings; None otherwise."""
        return cls(folder.resolve()) if (folder / SETTINGS_FILE).is_file() else None

    @property
    def content_dir(self) -> Path:
        """The folder the report notebook is told of (it opens it as a Project again),
        absolute: the notebook runs in a folder of its own."""
        return (self.root or PACKAGE_CONTENT).resolve()

    def own(self, relative: str) -> Path | None:
        """The project's own file at ``relative`` (``text/sv/summary.md``), or None; the
        package's content named as a project has none of its own."""
        if self.root is None or self.root.resolve() == PACKAGE_CONTENT.resolve():
            return None
        path = self.root / relative
        return path if path.is_file() else None

    def find(self, relative: str) -> Path:
        """The file the report uses: the project's own, else the package's.

        Neither having it is a ResourceError naming both places.
        """
        path = self.own(relative) or PACKAGE_CONTENT / relative
        if not path.is_file():
            project = f"{self.root / relative} nor " if self.root else ""
            raise ResourceError(
                f"{relative}: the report's content has no such file (neither {project}"
                f"{PACKAGE_CONTENT / relative}); restore it, or reinstall rehabstats"
            )
        return path

    def search_path(self, folder: str) -> tuple[Path, ...]:
        """Where a file of ``folder`` (``text/sv``) is looked for, in order: the project's
        folder, then the package's; those that exist."""
        folders = [] if self.root is None else [self.root / folder]
        folders.append(PACKAGE_CONTENT / folder)
        return tuple(dict.fromkeys(path for path in folders if path.is_dir()))

    @property
    def settings(self) -> Path | None:
        """The project's study settings file, if it has one (the package's add nothing)."""
        return self.own(SETTINGS_FILE)

    def edition(self, named: Path | None = None) -> Path | None:
        """The edition file a render uses: the one named (``--edition``), else the
        project's own; None for the package's default edition."""
        return named or self.own(EDITION_FILE)


def content_files() -> list[Path]:
    """The package's report content, relative to its folder, in a stable order."""
    return sorted(
        path.relative_to(PACKAGE_CONTENT)
        for path in PACKAGE_CONTENT.rglob("*")
        if path.is_file() and not set(path.relative_to(PACKAGE_CONTENT).parts) & set(NOT_CONTENT)
    )


def new_project(folder: Path) -> list[Path]:
    """Copy the package's report content and Word's styles into ``folder``, a new or
    empty folder, with a ``.gitignore`` for renders' outputs; the files written.

    A folder that holds anything, or a file of that name, is refused (OptionError) and
    left as it is: a project is never written over a team's files.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"{folder}: a file of that name exists; name a new or empty folder")
    if folder.is_dir() and any(folder.iterdir()):
        raise OptionError(
            f"{folder}: the folder is not empty; 'rehabstats new' writes a project only into"
            " a new or empty folder, so that no file of yours is replaced"
        )
    from rehabstats.engine.render import REFERENCE_DOCX  # the styles' one home

    written = []
    for relative in content_files():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copyfile(PACKAGE_CONTENT / relative, target)))
    written.append(Path(shutil.copyfile(REFERENCE_DOCX, folder / REFERENCE_DOCX.name)))
    (folder / ".gitignore").write_text(PROJECT_GITIGNORE, encoding="utf-8")
    return [*written, folder / ".gitignore"]
