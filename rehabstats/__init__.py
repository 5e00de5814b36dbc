"""rehabstats: a literate report generator for Swedish social-insurance evaluations.

The names below are imported from their modules on first use, so that importing one
module of the package (as the report's kernels do) does not import the file readers
and pandera as well.
"""

from importlib import import_module

__version__ = "0.1.0"

_HOMES = {
    "Cohort": "rehabstats.population",
    "ContractError": "rehabstats.contract",
    "DataFileError": "rehabstats.loading",
    "ValidationReport": "rehabstats.contract",
    "derive_cohort": "rehabstats.population",
    "load": "rehabstats.loading",
    "read_dataset": "rehabstats.validation",
    "validate": "rehabstats.validation",
}

__all__ = ["__version__", *_HOMES]


def __getattr__(name: str) -> object:
    """A top-level name, imported from its module the first time it is asked for."""
    if name not in _HOMES:
        raise AttributeError(f"module 'rehabstats' has no attribute {name!r}")
    return getattr(import_module(_HOMES[name]), name)
