"""The glossary: every label of the report in one language, looked up by key.

A glossary is a YAML file per language (``reports/glossary/sv.yaml``, ``en.yaml``) with
the same keys; code asks for ``glossary["tables.T4"]`` and never holds the words itself.
Category labels come from the data dictionary, so they are not repeated here. A report
project's glossary (:meth:`Glossary.of`) is the package's with the project's entries
over it, key by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from rehabstats._yamlfile import read_yaml
from rehabstats.data.dictionary import load_dictionary
from rehabstats.errors import ResourceError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.project import PACKAGE_CONTENT, Project


def _read(path: Path) -> dict[str, Any]:
    """A glossary file's entries; a file that is not a YAML mapping (half-saved, say)
    is a ResourceError naming it and the place the parser stopped."""
    try:
        entries = read_yaml(path) or {}  # an empty file: no entries of its own
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise ResourceError(f"{path}: not a glossary in YAML: {error}") from error
    if not isinstance(entries, dict):
        raise ResourceError(f"{path}: not a mapping of keys to labels, as a glossary is")
    return entries


@dataclass(frozen=True)
class Glossary:
    """The labels of one language."""

    lang: str
    entries: dict[str, Any]

    @classmethod
    def load(cls, directory: Path, lang: str) -> Glossary:
        """Read ``directory/<lang>.yaml``; a missing file names itself, not the language."""
        path = Path(directory) / f"{lang}.yaml"
        if not path.is_file():
            raise ResourceError(
                f"{path}: the {lang!r} glossary is missing; restore the file, or reinstall "
                "rehabstats if it is the package's own"
            )
        return cls(lang, _read(path))

    @classmethod
    def of(cls, project: Project, lang: str) -> Glossary:
        """A report project's glossary: the package's, with each entry the project's own
        ``glossary/<lang>.yaml`` gives in its place (a label the package adds later is
        there without an edit of the project's copy)."""
        package = cls.load(PACKAGE_CONTENT / "glossary", lang)
        own = project.own(f"glossary/{lang}.yaml")
        if own is None:
            return package
        return cls(lang, _overlaid(package.entries, _read(own)))

    def __getitem__(self, key: str) -> str:
        node: Any = self.entries
        for part in key.split("."):
            node = node[part]
        return node

    def fill(self, key: str, **values: object) -> str:
        """The label ``key`` with its ``{placeholders}`` filled in."""
        return self[key].format(**values)

    def fill_count(self, key: str, n: str, **values: object) -> str:
        """The label ``key`` in the plural form of the printed count ``n``, filled in.

        ``key`` has one entry per CLDR plural category of the language (``one``,
        ``other``): "1 ärende saknar …", "43 ärenden saknar …".
        """
        form = fmt.plural_category(n, self.lang)
        return self.fill(f"{key}.{form}", n=n, **values)

    def category(self, column: str, code: str) -> str:
        """The label of a category code, from the data dictionary."""
        dictionary = load_dictionary()
        if column == "age_group":
            return next(getattr(b, self.lang) for b in dictionary.age_bins if b.code == code)
        return dictionary[column].label(code, self.lang)

    def column(self, column: str) -> str:
        """The label of a data column (or the age group), from the data dictionary."""
        if column == "age_group":
            return self["balance.age"]
        return getattr(load_dictionary()[column], self.lang)

    def covariates(self, names: list[str]) -> str:
        """The covariates a model controls for, as running text: "kön, ålder … och län"."""
        return fmt.listing([self[f"cox_covariates.{name}"] for name in names], self.lang)

    def window(self, code: str) -> str:
        """A timing window of Tabell 7 in words: ``"0-30"`` is "dag 0–30", ``"91+"`` is
        "dag 91 eller senare"."""
        if code.endswith("+"):
            return self.fill("window_open", first=code.removesuffix("+"))
        first, last = code.split("-")
        return self.fill("window_closed", first=first, last=last)

    def dataset(self, name: str, part: tuple[str, str] | None = None) -> str:
        """A data file's name, with the part of it a report covers (``--by``) if any."""
        if part is None:
            return name
        column, code = part
        value = self.category(column, code)
        return self.fill("dataset_part", name=name, column=self.column(column).lower(), value=value)


def _overlaid(base: dict, own: dict) -> dict:
    """``base`` with ``own``'s entries in place of its own, mapping by mapping."""
    merged = dict(base)
    for key, value in own.items():
        both = isinstance(value, dict) and isinstance(base.get(key), dict)
        merged[key] = _overlaid(base[key], value) if both else value
    return merged
