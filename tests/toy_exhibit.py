"""A table the report does not have, added the way a new table is (tests/test_specification.py).

Its functions live in a module of their own, not in the test, because the report's
kernels read the results (and with them the specification) back: they import this
module by name, from the repository's root on their path.
"""

from __future__ import annotations

import pandas as pd

from rehabstats.data.population import GROUPS, Cohort
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.results import Results
from rehabstats.reporting.specification import Exhibit, computed
from rehabstats.reporting.tables import Table, source_line

OLDEST = 67  # the youngest age the toy table counts: few enough to hide a group


def oldest_by_group(cohort: Cohort) -> pd.DataFrame:
    """The cases aged ``OLDEST`` or more, by group."""
    old = cohort.cases.loc[cohort.cases["age"] >= OLDEST, "group"].astype(str)
    return pd.DataFrame({"group": list(GROUPS), "n": [int((old == g).sum()) for g in GROUPS]})


def hide_small(frame: pd.DataFrame, min_count: int) -> pd.DataFrame:
    """The toy's disclosure control: a count below the limit is not shown."""
    return frame.assign(n=frame["n"].where(frame["n"] >= min_count))


def oldest_table(results: Results, glossary: Glossary, exhibit: Exhibit) -> Table:
    """The toy table: a row per group, its count of the oldest cases."""
    frame = exhibit.figures(results)
    return Table(
        label=f"{glossary['table_word']} {exhibit.number}",
        title=glossary[f"tables.{exhibit.key}"],
        header=(glossary["columns.group"], glossary["columns.cases"]),
        rows=tuple(
            (glossary[f"groups.{r.group}"], fmt.integer(r.n, glossary.lang))
            for r in frame.itertuples(index=False)
        ),
        notes=(),
        source=source_line(results, glossary),
    )


TOY = Exhibit(
    "OLDEST",
    "appendix1",
    "table",
    "B1a",
    data=computed,
    build=oldest_table,
    compute=oldest_by_group,
    protect=hide_small,
)
