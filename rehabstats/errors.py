"""The errors rehabstats raises on purpose: each says what is wrong and what to do.

Every one of them derives from :class:`RehabstatsError`, so a script (and the
``rehabstats`` command) can catch all problems a user can fix in one ``except``, while
a bug in rehabstats still shows as a traceback::

    RehabstatsError
    ├── ContractError       the data break the contract (rehabstats.data.contract)
    │   └── EmptyGroupsError    a study group has no cases (rehabstats.data.population)
    ├── DataFileError       the file cannot be read as a table at all
    ├── OptionError         an unknown language, format, engine, column, scenario …
    ├── RenderError         a notebook could not be executed or turned into a report
    └── ResourceError       a file of the report's content is missing
        ├── EditionError        the edition file cannot be used (rehabstats.reporting.edition)
        └── StudySettingsError  a project's study settings cannot be used (study.yaml)

The two contract errors live beside the report they carry; the rest live here, so that
catching them imports nothing heavy.
"""

from __future__ import annotations

from pathlib import Path


class RehabstatsError(Exception):
    """Base of every error that rehabstats raises for a problem a user can fix."""


class ResourceError(RehabstatsError):
    """A file of the report's content (prose, glossary, edition, notebook) is missing."""


class EditionError(ResourceError):
    """The edition file cannot be used: every problem at once, each with its key and the
    form expected. ``problems`` holds them, one line each."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "".join(f"\n  {path}: {problem}" for problem in problems)
        super().__init__(
            f"the edition file cannot be used ({len(problems)} problem(s)); "
            f"nothing was rendered:{lines}"
        )


class StudySettingsError(ResourceError):
    """A report project's study settings (``study.yaml``) cannot be used: every problem
    at once, each naming its key and the rule it breaks. ``problems`` holds them."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "".join(f"\n  {path}: {problem}" for problem in problems)
        super().__init__(
            f"the study settings cannot be used ({len(problems)} problem(s)); "
            f"nothing was done:{lines}"
        )


class DataFileError(RehabstatsError):
    """The file cannot be read as a table at all (missing, empty, binary, unknown format)."""


class OptionError(RehabstatsError, ValueError):
    """An option names something rehabstats does not have, or a value it cannot use.

    Also a :class:`ValueError`, as the refusal of an unknown language by
    :mod:`rehabstats.reporting.formatting` is, so code that caught ``ValueError`` still does.
    """


class RenderError(RehabstatsError):
    """A notebook could not be executed or converted into a report.

    ``notebook`` is the partly executed notebook when execution failed, so a caller
    that moves it can say where it went.
    """

    def __init__(self, message: str, notebook: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.notebook = notebook

    def __str__(self) -> str:
        where = f"; partly executed notebook: {self.notebook}" if self.notebook else ""
        return self.message + where
