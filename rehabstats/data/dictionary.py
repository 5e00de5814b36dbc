"""The data dictionary: what each column of a register extract means and may hold.

The dictionary lives in ``dictionary.yaml`` beside this module. Everything that reads,
checks or labels data asks it rather than repeating column names and codes in code.

A report project's study settings (``study.yaml``, see :mod:`rehabstats.reporting.project`)
may add codes to the category columns, each with its Swedish and English labels, without
touching the package: ``load_dictionary(study=path)`` is the contract so extended, and
inside ``with study_settings(path):`` every ``load_dictionary()`` is (the command, the
render job and ``--by`` enter it; the report's kernel calls :func:`use_study`). The
settings are checked as a whole and every problem is named at once
(:class:`~rehabstats.errors.StudySettingsError`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import yaml

from rehabstats._yamlfile import read_yaml
from rehabstats.data import contract
from rehabstats.errors import ResourceError, StudySettingsError

DICTIONARY_PATH = Path(__file__).with_name("dictionary.yaml")
# A code names folders (``--by``) and model terms: lower-case letters, digits and "_".
CODE = re.compile(r"[a-z0-9_]+")
# The column whose codes make the study groups: a code of one's own would be no group.
GROUP_COLUMN = "arm"
CATEGORY_KEYS = ("sv", "en", "accept")


@dataclass(frozen=True)
class Category:
    """One allowed value of a categorical column: its code and how people write it."""

    code: str
    sv: str
    en: str
    accept: tuple[str, ...] = ()
    added: bool = False  # added by a project's study settings, not the package's contract

    def spellings(self) -> set[str]:
        """Every spelling that means this code, lower-cased for matching."""
        return {s.strip().lower() for s in (self.code, self.sv, self.en, *self.accept)}


@dataclass(frozen=True)
class ColumnSpec:
    """One column of the contract."""

    name: str
    type: str
    sv: str
    en: str
    required: bool = False
    required_if: str | None = None
    unique: bool = False
    event_of: str | None = None
    minimum: int | None = None
    maximum: int | None = None
    reference: str | None = None
    only_present: bool = False
    description_sv: str = ""
    description_en: str = ""
    categories: tuple[Category, ...] = ()

    @property
    def codes(self) -> tuple[str, ...]:
        """The category codes in the dictionary's order."""
        return tuple(c.code for c in self.categories)

    def listed(self, present: Collection[str]) -> tuple[str, ...]:
        """The codes that results list, in the dictionary's order, given the codes the
        data have (``present``): all of them, or only those present for an
        ``only_present`` column (the counties of an extract)."""
        return tuple(c for c in self.codes if not self.only_present or c in present)

    def spelling_map(self) -> dict[str, str]:
        """Lower-cased spelling → code, for every accepted spelling of every category."""
        return {s: c.code for c in self.categories for s in c.spellings()}

    def label(self, code: str, lang: str) -> str:
        """The label of ``code`` in ``lang`` ("sv" or "en")."""
        return next(getattr(c, lang) for c in self.categories if c.code == code)


@dataclass(frozen=True)
class AgeBin:
    """One age group of the derived ``age_group`` covariate."""

    code: str
    minimum: int
    maximum: int
    sv: str
    en: str


@dataclass(frozen=True)
class DataDictionary:
    """The whole contract: columns, boolean spellings, accepted date formats, age groups."""

    columns: dict[str, ColumnSpec]
    true_spellings: frozenset[str]
    false_spellings: frozenset[str]
    date_formats: tuple[str, ...]
    age_bins: tuple[AgeBin, ...]
    age_reference: str
    header_aliases: dict[str, str] = field(default_factory=dict)
    study: Path | None = None  # the study settings whose codes were added, if any

    def __getitem__(self, name: str) -> ColumnSpec:
        return self.columns[name]

    def names(self, type_: str | None = None) -> list[str]:
        """Column names in contract order, optionally only those of one type."""
        return [n for n, c in self.columns.items() if type_ is None or c.type == type_]


def _category(code: str, entry: dict, added: bool = False) -> Category:
    return Category(
        code=str(code),
        sv=entry["sv"],
        en=entry["en"],
        accept=tuple(str(a) for a in entry.get("accept", ())),
        added=added,
    )


def _column(name: str, entry: dict) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        type=entry["type"],
        sv=entry["sv"],
        en=entry["en"],
        required=bool(entry.get("required", False)),
        required_if=entry.get("required_if"),
        unique=bool(entry.get("unique", False)),
        event_of=entry.get("event_of"),
        minimum=entry.get("min"),
        maximum=entry.get("max"),
        reference=None if entry.get("reference") is None else str(entry["reference"]),
        only_present=bool(entry.get("only_present", False)),
        description_sv=entry.get("description_sv", ""),
        description_en=entry.get("description_en", ""),
        categories=tuple(_category(k, v) for k, v in entry.get("codes", {}).items()),
    )


def load_dictionary(path: Path = DICTIONARY_PATH, study: Path | None = None) -> DataDictionary:
    """The data dictionary, extended by the study settings ``study`` if given, else by
    those of the enclosing :func:`study_settings` block, if any.

    Each is read once per process (and again when the settings file changes). Settings
    that cannot be used raise StudySettingsError naming the file and every problem.
    """
    study = study or _active_study
    if study is None:
        return _base_dictionary(path)
    study = Path(study).resolve()
    if not study.is_file():
        raise ResourceError(f"{study}: the study settings file is missing; check the path")
    stat = study.stat()
    return _extended_dictionary(path, study, (stat.st_mtime_ns, stat.st_size))


_active_study: Path | None = None


@contextmanager
def study_settings(study: Path | None) -> Iterator[DataDictionary]:
    """Within the block, ``load_dictionary()`` is the contract extended by ``study``
    (None: the package's contract as it is); the settings are checked on entry.

    One setting for the whole process, not per thread. The report's kernel, whose
    setting must outlast the cell that makes it, calls :func:`use_study` instead.
    """
    dictionary = load_dictionary(study=study) if study else _base_dictionary(DICTIONARY_PATH)
    previous = use_study(study)
    try:
        yield dictionary
    finally:
        use_study(previous)


def use_study(study: Path | None) -> Path | None:
    """Make ``study`` the settings that ``load_dictionary()`` applies from now on, for
    the whole process; the settings it replaces are returned."""
    global _active_study
    previous, _active_study = _active_study, study
    return previous


@cache
def _base_dictionary(path: Path) -> DataDictionary:
    """The package's contract as ``dictionary.yaml`` has it."""
    raw = read_yaml(path)
    columns = {name: _column(name, entry) for name, entry in raw["columns"].items()}
    age = raw["derived"]["age_group"]
    aliases = {
        spelling.strip().lower(): name
        for name, col in columns.items()
        for spelling in (name, col.sv, col.en)
    }
    return DataDictionary(
        columns=columns,
        true_spellings=frozenset(s.lower() for s in raw["booleans"]["true"]),
        false_spellings=frozenset(s.lower() for s in raw["booleans"]["false"]),
        date_formats=tuple(raw["date_formats"]),
        age_bins=tuple(
            AgeBin(code, b["min"], b["max"], b["sv"], b["en"]) for code, b in age["bins"].items()
        ),
        age_reference=str(age["reference"]),
        header_aliases=aliases,
    )


class _SettingsLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML that notes each key written twice in one mapping (``duplicates``), which
    plain YAML would let the later one replace without a word (a code given twice)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, Hashable):  # YAML's own error names it
                break
            if key in seen:
                line = key_node.start_mark.line + 1
                self.duplicates.append(f"line {line}: {key!r} is given twice; give each key once")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read_settings(study: Path) -> tuple[object, list[str]]:
    """The parsed settings file and its keys written twice; StudySettingsError if it is
    not YAML."""
    loader = _SettingsLoader(study.read_text(encoding="utf-8"))
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.YAMLError as error:
        raise StudySettingsError(study, [f"not valid YAML: {error}"]) from None
    finally:
        loader.dispose()


@cache
def _extended_dictionary(path: Path, study: Path, _stamp: tuple[int, int]) -> DataDictionary:
    """The contract with the codes that the settings file ``study`` adds (``_stamp``, the
    file's modification time and size, makes a changed file read again)."""
    base = _base_dictionary(path)
    raw, duplicates = _read_settings(study)
    raw = {} if raw is None else raw
    problems = duplicates + settings_problems(raw, base)
    if problems:
        raise StudySettingsError(study, problems)
    columns = dict(base.columns)
    for name, codes in (raw.get("categories") or {}).items():
        added = tuple(_category(code, entry, added=True) for code, entry in codes.items())
        columns[name] = replace(columns[name], categories=columns[name].categories + added)
    return replace(base, columns=columns, study=study)


def _extendable(dictionary: DataDictionary) -> list[str]:
    """The columns a study may add codes to: every category but the study groups'."""
    return [name for name in dictionary.names("category") if name != GROUP_COLUMN]


def settings_problems(raw: object, dictionary: DataDictionary) -> list[str]:
    """Every problem of parsed study settings against ``dictionary``, one line each,
    naming its key (``categories.county.north``) and the rule it breaks."""
    expected = "expected a mapping with the key 'categories'"
    if not isinstance(raw, dict):
        return [f"not a mapping of keys to values; {expected}"]
    problems = [f"{key}: unknown key; {expected}" for key in raw if key != "categories"]
    categories = raw.get("categories") or {}
    if not isinstance(categories, dict):
        return [*problems, "categories: not a mapping of columns to their added codes"]
    allowed = ", ".join(_extendable(dictionary))
    for name, codes in categories.items():
        key = f"categories.{name}"
        spec = dictionary.columns.get(name)
        if spec is None:
            problems.append(f"{key}: unknown column; codes can be added to {allowed}")
        elif name == GROUP_COLUMN:
            problems.append(
                f"{key}: its codes make the study groups; codes can be added to {allowed}"
            )
        elif spec.type != "category":
            problems.append(
                f"{key}: {name} is not a category column (it holds {spec.type} values);"
                f" codes can be added to {allowed}"
            )
        elif not isinstance(codes, dict) or not codes:
            problems.append(f"{key}: expected codes, each with its labels: code: {{sv: …, en: …}}")
        else:
            problems += _codes_problems(key, spec, codes)
    return problems


def _codes_problems(key: str, spec: ColumnSpec, codes: dict) -> list[str]:
    """What is wrong with the codes a study adds to one category column: a code that is
    not lower-case letters, digits and "_", one the contract has, an entry without both
    labels, and a spelling that already means another code."""
    problems = []
    meaning = spec.spelling_map()
    for code, entry in codes.items():
        where = f"{key}.{code}"
        if str(code) in spec.codes:
            problems.append(
                f"{where}: the code is in the contract already ({spec.label(str(code), 'en')})"
            )
            continue
        if not CODE.fullmatch(str(code)):
            problems.append(f"{where}: a code is lower-case letters, digits and _ only")
        entry_problems = _entry_problems(where, entry)
        problems += entry_problems
        if entry_problems:
            continue
        for spelling in sorted(_category(code, entry).spellings()):
            other = meaning.setdefault(spelling, str(code))
            if other != str(code):
                problems.append(
                    f"{where}: {spelling!r} already means {other}; a spelling means one code"
                )
    return problems


def _entry_problems(where: str, entry: object) -> list[str]:
    """What is wrong with one added code's entry: it needs a Swedish and an English
    label (text), may list other spellings (``accept``), and has no other keys."""
    expected = "expected {sv: …, en: …} and, if the data spell it otherwise, accept: [...]"
    if not isinstance(entry, dict):
        return [f"{where}: {expected}"]
    problems = [f"{where}.{k}: unknown key; {expected}" for k in entry if k not in CATEGORY_KEYS]
    for lang, name in (("sv", "Swedish"), ("en", "English")):
        label = entry.get(lang)
        if label is None:
            problems.append(f"{where}: no {name} label ({lang}); {expected}")
        elif not isinstance(label, str) or not label.strip():
            problems.append(f"{where}.{lang}: {label!r} is not a label (text)")
    accept = entry.get("accept", [])
    if not isinstance(accept, list) or any(isinstance(a, dict | list) for a in accept):
        problems.append(f"{where}.accept: {accept!r} is not a list of spellings")
    return problems


def _rule_lines(dictionary: DataDictionary) -> list[str]:
    """The rules that refuse a file, as a Markdown list: the unique columns, the rules
    across columns that validation checks (:data:`~rehabstats.data.contract.ROW_RULES`),
    and that every study group has studied cases (the population's own check)."""
    rules = [f"`{name}` is unique" for name, col in dictionary.columns.items() if col.unique]
    rules += [rule.wording for rule in contract.ROW_RULES]
    rules.append("every study group (control, treatment, declined) has studied cases")
    return [f"- {rule};" for rule in rules[:-1]] + [f"- {rules[-1]}."]


def dictionary_markdown(dictionary: DataDictionary | None = None) -> str:
    """The data dictionary as a readable Markdown page (``data/dictionary.md``); with a
    study's settings, the codes they add are marked."""
    from rehabstats.reporting.formatting import markdown_literal  # the one Markdown escape

    dictionary = dictionary or load_dictionary()
    source = "`rehabstats/data/dictionary.yaml`"
    if any(c.added for col in dictionary.columns.values() for c in col.categories):
        source += f" and the study settings `{dictionary.study.name}` (codes marked *study*)"
    lines = [
        "# Data dictionary — register extract",
        "",
        f"Generated from {source} by `rehabstats dictionary`; do not edit.",
        "One row is one case in the register extract, before any cleaning.",
        "",
        "| column | type | may be empty | Swedish | English | meaning |",
        "|---|---|---|---|---|---|",
    ]
    for col in dictionary.columns.values():
        empty = (
            "no"
            if col.required
            else f"no, when {col.required_if} is yes"
            if col.required_if
            else "yes"
        )
        lines.append(
            f"| `{col.name}` | {col.type} | {empty} | {col.sv} | {col.en} | {col.description_en} |"
        )
    lines += ["", "## Categories", ""]
    for col in dictionary.columns.values():
        if not col.categories:
            continue
        ref = f" Reference category in the Cox models: `{col.reference}`." if col.reference else ""
        listed = (
            ["The tables list only the categories the data have, in this order.", ""]
            if col.only_present
            else []
        )
        lines += [
            f"### `{col.name}`{ref}",
            "",
            *listed,
            "| code | Swedish | English | also accepted |",
            "|---|---|---|---|",
        ]
        for c in col.categories:
            cells = (c.sv, c.en, ", ".join(c.accept))
            if c.added:  # the study's own text: shown as written, never as markup
                cells = tuple(markdown_literal(cell) for cell in cells)
            study = " *study*" if c.added else ""
            lines.append(f"| `{c.code}`{study} | {' | '.join(cells)} |")
        lines.append("")
    lines += [
        "## Other values",
        "",
        f"- yes/no columns accept: {', '.join(sorted(dictionary.true_spellings))} / "
        f"{', '.join(sorted(dictionary.false_spellings))} (any case).",
        f"- dates: {', '.join(f'`{f}`' for f in dictionary.date_formats)}; day/month orders "
        "such as 01/02/2009 are refused because they are ambiguous.",
        f"- `age`: whole years, {dictionary['age'].minimum}–{dictionary['age'].maximum}; "
        "in the Cox models grouped as "
        + ", ".join(f"{b.code}" for b in dictionary.age_bins)
        + f" (reference {dictionary.age_reference}).",
        "- Labels match regardless of case and surrounding spaces; headers may be the column "
        "name or its Swedish or English label.",
        "",
        "## Rules across columns",
        "",
        "A file that breaks one of these is refused, with every problem listed at once:",
        "",
        *_rule_lines(dictionary),
        "",
        "These are counted and left out of one event's analysis, not refused (the table's "
        "note says how many): an event marked yes without a date, a date without the event "
        "marked, a date after the file review.",
        "",
    ]
    return "\n".join(lines)
