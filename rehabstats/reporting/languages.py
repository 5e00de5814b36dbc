"""The report's languages, and the locale each prints its numbers and dates in.

Kept free of imports so that the command line can offer the languages (``--lang``)
without loading Babel, which :mod:`rehabstats.reporting.formatting` needs.
"""

LOCALES = {"sv": "sv_SE", "en": "en_GB"}
LANGUAGES = tuple(LOCALES)
