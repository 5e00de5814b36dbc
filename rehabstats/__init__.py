"""rehabstats: a literate report generator for Swedish social-insurance evaluations."""

from rehabstats.loading import DataFileError, load
from rehabstats.population import Cohort, derive_cohort
from rehabstats.validation import ContractError, ValidationReport, read_dataset, validate

__version__ = "0.1.0"

__all__ = [
    "Cohort",
    "ContractError",
    "DataFileError",
    "ValidationReport",
    "__version__",
    "derive_cohort",
    "load",
    "read_dataset",
    "validate",
]
