"""The run's time: the one moment a render's documents and workbook say they were made.

Unset, it is now. Where ``SOURCE_DATE_EPOCH`` is set (whole seconds since 1970-01-01
UTC, the convention of reproducible builds), it is that moment instead, so that two
renders of the same data, code and edition write the same bytes — the HTML, the PDF,
the Word file, ``tables.json`` and ``tables.xlsx`` — on any machine with the lock's
versions, and a reviewer who reruns a published report can compare files rather than
read them.

A render takes it once (:mod:`rehabstats.engine.pipeline`) and hands it on with its
results (``Results.run_time``), so that every language's documents and the workbook
say the same time: the provenance section prints it (saying so when it was set), Typst
dates the PDF by it and the workbook is stamped with it
(:mod:`rehabstats.reporting.export`); results that carry none (``rehabstats tables``, a
notebook run on its own) read the clock where they are written. pandoc reads the
variable itself for the Word file. The executed notebooks are the exception: papermill
records when each cell really ran.
"""

from __future__ import annotations

import datetime as dt
import os
import re

from rehabstats.errors import OptionError

SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"


def fixed() -> bool:
    """Whether the run's time is ``SOURCE_DATE_EPOCH``'s, not the moment of the run:
    the provenance section says so, for the reader of a report it dates."""
    return SOURCE_DATE_EPOCH in os.environ


def run_time() -> dt.datetime:
    """The run's time in UTC, to the second: ``SOURCE_DATE_EPOCH``'s when it is set,
    else now.

    A value that is not whole seconds (digits only) raises OptionError naming the
    variable and the value, as reproducible builds ask, rather than printing a time
    that no one chose.
    """
    value = os.environ.get(SOURCE_DATE_EPOCH)
    if value is None:
        return dt.datetime.now(dt.UTC).replace(microsecond=0)
    try:
        if not re.fullmatch(r"[0-9]+", value):
            raise ValueError(value)
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    except (ValueError, OverflowError, OSError):
        raise OptionError(
            f"{SOURCE_DATE_EPOCH}={value!r}: the run's time must be whole seconds since"
            " 1970-01-01 UTC (such as 1291161600 for 2010-12-01), or the variable unset"
        ) from None
