"""The edition: what belongs to one issue of the report, not to the data or the code.

An edition file (``reports/edition.yaml``, a report project's own ``edition.yaml``, or
the one ``--edition`` names) gives the cover — series, number, title, subtitle,
publisher, date, authors — and the foreword's own lines: its statement about the data
(``data_note``) and its signature. Texts may be one per language (``sv:``, ``en:``).
The file is checked as a whole before any work,
and every problem is named at once, with its key and the form expected
(:class:`~rehabstats.errors.EditionError`). Its values are the user's text: every one
is read as written (``number: 2013:9`` is "2013:9", not a YAML number) and is never
interpreted.

``data_sha256`` ties an edition to the data file it reports on: its ``data_note`` is
printed only for that file, and ``rehabstats render`` warns when other data are rendered
under it (:func:`cover_warning`). The default edition is tied so to the shipped
``data/register.csv``, whose note says it is synthetic.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import yaml

from rehabstats.errors import EditionError, ResourceError
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import EDITION_FILE, PACKAGE_CONTENT
from rehabstats.reporting.results import file_sha256

DEFAULT_EDITION = PACKAGE_CONTENT / EDITION_FILE
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SHA256 = re.compile(r"[0-9a-f]{64}")
NULL = "tag:yaml.org,2002:null"


class _TextLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML that reads every scalar as the text written, and an empty one as null.

    The edition's values are text: plain YAML would read ``number: 2013:9`` as the
    number 120789, ``date: 2013-02-30`` as an error without a key, ``title: yes`` as true.
    """

    yaml_implicit_resolvers: ClassVar[dict] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag == NULL]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@dataclass(frozen=True)
class Key:
    """One key of an edition file: whether it is required, its kind, an example value.

    Kinds: ``text`` (a string, or one per language), ``date`` (ISO), ``names`` (a list
    of strings) and ``sha256`` (a file's hash in hexadecimal).
    """

    required: bool
    kind: str
    example: str


KEYS = {
    "series": Key(True, "text", "Socialförsäkringsrapport"),
    "number": Key(True, "text", '"2013:9"'),
    "title": Key(True, "text", "Utvärdering av …"),
    "subtitle": Key(True, "text", "En försöksverksamhet …"),
    "running-header": Key(False, "text", "Handläggningsprocessen …"),
    "publisher": Key(True, "text", "Inspektionen för socialförsäkringen (ISF)"),
    "author": Key(False, "names", "[Anna Andersson, Bo Berg]"),
    "contact": Key(False, "text", "Anna Andersson, 08-58 00 15 00"),
    "date": Key(True, "date", "2013-10-01"),
    "data_note": Key(False, "text", "Uppgifterna kommer från …"),
    "data_sha256": Key(False, "sha256", "01af4959…"),
    "signature": Key(False, "text", "Inspektionen för socialförsäkringen"),
}


def _expected(key: Key, langs: Sequence[str]) -> str:
    """The form a value of ``key`` must have, as an error message says it."""
    if key.kind == "date":
        return f"expected a date such as {key.example}"
    if key.kind == "names":
        return f"expected a list of names such as {key.example}"
    if key.kind == "sha256":
        return f"expected the 64 hexadecimal digits that `sha256sum DATA` prints: {key.example}"
    per_language = ", ".join(f"{lang}: …" for lang in langs)
    return f"expected text such as {key.example}, or one per language ({per_language})"


def _text_problems(name: str, value: object, key: Key, langs: Sequence[str]) -> list[str]:
    """What is wrong with a text value: not a string, or a per-language entry missing
    a rendered language, naming an unknown one, or not a string."""
    if isinstance(value, str):
        return []
    expected = _expected(key, langs)
    if not isinstance(value, dict):
        return [f"{name}: {value!r} is not text; {expected}"]
    problems = [
        f"{name}: unknown language {lang!r}; expected entries for {', '.join(fmt.LANGUAGES)}"
        for lang in value
        if lang not in fmt.LANGUAGES
    ]
    problems += [f"{name}: no {lang!r} entry; {expected}" for lang in langs if lang not in value]
    problems += [
        f"{name}.{lang}: {text!r} is not text; {expected}"
        for lang, text in value.items()
        if lang in fmt.LANGUAGES and not isinstance(text, str)
    ]
    return problems


def _is_iso_date(value: object) -> bool:
    """Whether ``value`` is YYYY-MM-DD text of a real day."""
    if not (isinstance(value, str) and ISO_DATE.fullmatch(value)):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_names(value: object) -> bool:
    """Whether ``value`` is a list of strings."""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _is_sha256(value: object) -> bool:
    """Whether ``value`` is a SHA-256 as ``sha256sum`` prints it."""
    return isinstance(value, str) and SHA256.fullmatch(value) is not None


# Each kind of value but text: its test, and what a value that fails it is not.
CHECKS = {
    "date": (_is_iso_date, "a date written YYYY-MM-DD"),
    "names": (_is_names, "a list of names"),
    "sha256": (_is_sha256, "a SHA-256"),
}


def _value_problems(name: str, value: object, langs: Sequence[str]) -> list[str]:
    """What is wrong with the value of a known key (nothing: an empty list)."""
    key = KEYS[name]
    if key.kind == "text":
        return _text_problems(name, value, key, langs)
    valid, what = CHECKS[key.kind]
    return [] if valid(value) else [f"{name}: {value!r} is not {what}; {_expected(key, langs)}"]


def edition_problems(raw: object, langs: Sequence[str]) -> list[str]:
    """Every problem of a parsed edition file for a report in ``langs``, one line each.

    A key without a value counts as missing. Unknown keys are refused: a misspelt
    optional key (``signatur``) would otherwise drop its text without a word.
    """
    if not isinstance(raw, dict):
        return [f"not a mapping of keys to values; expected keys such as {', '.join(KEYS)}"]
    problems = [
        f"{name}: unknown key; expected one of {', '.join(KEYS)}"
        for name in raw
        if name not in KEYS
    ]
    for name, key in KEYS.items():
        value = raw.get(name)
        if value is None:
            if key.required:
                problems.append(f"{name}: missing; {_expected(key, langs)}")
            continue
        problems += _value_problems(name, value, langs)
    return problems


def load_edition(path: Path | None = None, langs: Sequence[str] = fmt.LANGUAGES) -> dict:
    """The checked edition for a report in ``langs`` (``reports/edition.yaml`` by default).

    A missing file is a ResourceError naming it; a file that cannot be used is an
    EditionError naming it and each problem, with its key and the form expected.
    """
    path = Path(path or DEFAULT_EDITION)
    if not path.is_file():
        raise ResourceError(f"{path}: the edition file is missing; check the path")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextLoader)
    except yaml.YAMLError as error:
        raise EditionError(path, [f"not valid YAML: {error}"]) from None
    problems = edition_problems(raw, langs)
    if problems:
        raise EditionError(path, problems)
    return {name: raw.get(name) for name in KEYS}


def edition_for(edition: dict, lang: str, data_sha256: str) -> dict:
    """The edition in one language, for the data file whose SHA-256 is ``data_sha256``.

    Per-language entries are resolved. The ``data_note`` of an edition tied to a data
    file (``data_sha256``) is dropped for any other data: it speaks of that file.
    """
    resolved = {
        key: value[lang] if isinstance(value, dict) else value for key, value in edition.items()
    }
    if edition["data_sha256"] not in (None, data_sha256):
        resolved["data_note"] = None
    return resolved


def cover_warning(data: Path, edition_path: Path | None, langs: Sequence[str]) -> str | None:
    """Why the cover of ``data``'s report will not be its own, or None when it will.

    That is when the edition is tied to another data file, as the default edition is to
    the shipped register: its cover names a published report the data are not of. The
    command asks once the report is rendered; the data file is hashed only for an
    edition tied to one.
    """
    edition = load_edition(edition_path, langs)
    tied = edition["data_sha256"]
    if tied is None or not Path(data).is_file() or file_sha256(data) == tied:
        return None
    cover = edition_for(edition, langs[0], tied)
    date = fmt.date(dt.date.fromisoformat(cover["date"]), "en")
    why = f"{edition_path} is the edition of other data" if edition_path else "no --edition given"
    return (
        f"{why}: the cover is that of {cover['series']} {cover['number']} ({date}); "
        "pass --edition FILE for this report's own"
    )


def front_matter(edition: dict, glossary: Glossary) -> dict:
    """The notebook's YAML front matter for one language (cover, TOC, running header)."""
    date = dt.date.fromisoformat(edition["date"])
    optional = {key: edition[key] for key in ("contact",) if edition.get(key)}
    return {
        "title": edition["title"],
        "subtitle": edition["subtitle"],
        "series": edition["series"],
        "number": edition["number"],
        "publisher": edition["publisher"],
        "author": list(edition.get("author") or []),
        "date": fmt.date(date, glossary.lang),
        "lang": glossary.lang,
        "toc-title": glossary["toc_title"],
        "running-header": edition.get("running-header") or edition["title"],
        **optional,
    }
