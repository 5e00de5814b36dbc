"""The default report's content: notebook, prose, glossaries and edition.

This folder is where the content is edited; the wheel ships it as the package
``rehabstats.reports``, which the renderer finds with ``importlib.resources``.
"""
