"""The errors rehabstats raises on purpose: each says what is wrong and what to do."""

from __future__ import annotations


class RehabstatsError(Exception):
    """Base of every error that rehabstats raises for a problem a user can fix."""


class ResourceError(RehabstatsError):
    """A file of the report's content (prose, glossary, edition, notebook) is missing."""
