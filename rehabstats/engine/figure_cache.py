"""Figures kept between the renders of ``rehabstats preview``: drawn again only when what
they are drawn from changed.

A prose edit in the preview runs the whole notebook again on the kernel it keeps, and
drawing and saving the report's eight figures was a third of that although none of
them changed (benchmarks/README.md, "Edit and see"). Once :func:`keep` has been called in
a process (the preview's kernel calls it before each notebook), :func:`save` keeps each
figure's SVG under a key made of everything it is drawn from: the drawing function and
its arguments (the curves or dates, the labels from the glossary, the language),
matplotlib's settings, and rehabstats' own source as the results cache keys it
(:mod:`rehabstats.engine.cache`; the libraries cannot change under a running process).
The same key again writes the kept SVG instead of drawing it; any change gives another
key, so a figure is never served stale. The SVGs are kept in the process's memory, the
:data:`KEPT` used last, and never written anywhere but where the figure goes.

Off, as in ``rehabstats render``, :func:`save` draws every figure: the documents a
render writes are the same whether this module exists or not.
"""

from __future__ import annotations

import hashlib
import pickle
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

from rehabstats.engine.cache import code_digest
from rehabstats.reporting.figures import save_figure

KEPT = 64  # SVGs kept; the one used longest ago goes first (a preview shows eight)
Drawing = Callable[[], Figure]  # a figure function with its arguments (functools.partial)


class FigureCache:
    """The SVGs kept in this process, by key (see the module doc); off until :meth:`keep`."""

    def __init__(self) -> None:
        self.code: str | None = None  # the source digest the kept SVGs were drawn by
        self.svgs: OrderedDict[str, bytes] = OrderedDict()

    def keep(self) -> None:
        """Keep figures from now on; those drawn while rehabstats' source was another
        are dropped."""
        code = code_digest()
        if code != self.code:
            self.code, self.svgs = code, OrderedDict()

    def save(self, drawing: Drawing, directory: Path, stem: str) -> Path:
        """``directory/stem.svg`` of the figure ``drawing`` makes (:func:`save_figure`):
        drawn, or, kept on and drawn before from the same things, the kept SVG (the file
        left as it is when it already holds it)."""
        if self.code is None:
            return save_figure(drawing(), directory, stem)
        key = self._key(drawing)
        svg = Path(directory) / f"{stem}.svg"
        kept = self.svgs.get(key)
        if kept is None:
            self.svgs[key] = save_figure(drawing(), directory, stem).read_bytes()
            while len(self.svgs) > KEPT:
                self.svgs.popitem(last=False)
            return svg
        self.svgs.move_to_end(key)
        if not (svg.is_file() and svg.read_bytes() == kept):
            svg.parent.mkdir(parents=True, exist_ok=True)
            svg.write_bytes(kept)
        return svg

    def _key(self, drawing: Drawing) -> str:
        """What the figure is drawn from, hashed: the function and its arguments, pickled
        (by reference for the function, by value for the data and labels), matplotlib's
        settings now, and the source digest."""
        digest = hashlib.sha256(self.code.encode())
        digest.update(pickle.dumps(drawing, protocol=pickle.HIGHEST_PROTOCOL))
        digest.update(pickle.dumps(sorted(dict.items(matplotlib.rcParams))))
        return digest.hexdigest()


FIGURES = FigureCache()
keep = FIGURES.keep
save = FIGURES.save
