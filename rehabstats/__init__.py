"""rehabstats: a literate report generator for Swedish social-insurance evaluations.

What a script uses is here, at the top level::

    from pathlib import Path

    import rehabstats as rs

    results = rs.protect(rs.analyse("data/register.csv"))  # every number, disclosure-safe
    rs.write_exports(results, Path("out"))                  # tables.json, tables.xlsx
    rs.render_report("data/register.csv", "report")        # HTML and PDF, sv and en

``load`` and ``validate`` are the first two steps on their own. Every error rehabstats
raises for a problem the user can fix is a :class:`RehabstatsError` (see
:mod:`rehabstats.errors`); anything else is a bug.

The names are imported from their modules on first use, so that importing one module
of the package (as the report's kernels do) does not import the file readers and
pandera as well.
"""

from importlib import import_module

__version__ = "0.1.0"

_HOMES = {
    # the steps of a report
    "load": "rehabstats.data.loading",
    "validate": "rehabstats.data.validation",
    "read_dataset": "rehabstats.data.validation",
    "derive_cohort": "rehabstats.data.population",
    "analyse": "rehabstats.reporting.results",
    "protect": "rehabstats.stats.disclosure",
    "write_exports": "rehabstats.reporting.export",
    "render_report": "rehabstats.engine.pipeline",
    # what they return
    "ValidationReport": "rehabstats.data.contract",
    "Cohort": "rehabstats.data.population",
    "Results": "rehabstats.reporting.results",
    # what they raise
    "RehabstatsError": "rehabstats.errors",
    "ContractError": "rehabstats.data.contract",
    "EmptyGroupsError": "rehabstats.data.population",
    "DataFileError": "rehabstats.errors",
    "EditionError": "rehabstats.errors",
    "OptionError": "rehabstats.errors",
    "RenderError": "rehabstats.errors",
    "ResourceError": "rehabstats.errors",
    "StudySettingsError": "rehabstats.errors",
}

__all__ = ["__version__", *_HOMES]


def __getattr__(name: str) -> object:
    """A top-level name, imported from its module the first time it is asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'rehabstats' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)


def __dir__() -> list[str]:
    """The public names too, though not yet imported (for completion in an editor)."""
    return sorted({*globals(), *__all__})
