"""The data dictionary: what each column of a register extract means and may hold.

The dictionary lives in ``dictionary.yaml`` beside this module. Everything that reads,
checks or labels data asks it rather than repeating column names and codes in code.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from rehabstats._yamlfile import read_yaml

DICTIONARY_PATH = Path(__file__).with_name("dictionary.yaml")


@dataclass(frozen=True)
class Category:
    """One allowed value of a categorical column: its code and how people write it."""

    code: str
    sv: str
    en: str
    accept: tuple[str, ...] = ()

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

    def __getitem__(self, name: str) -> ColumnSpec:
        return self.columns[name]

    def names(self, type_: str | None = None) -> list[str]:
        """Column names in contract order, optionally only those of one type."""
        return [n for n, c in self.columns.items() if type_ is None or c.type == type_]


def _category(code: str, entry: dict) -> Category:
    return Category(
        code=str(code),
        sv=entry["sv"],
        en=entry["en"],
        accept=tuple(str(a) for a in entry.get("accept", ())),
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


@cache
def load_dictionary(path: Path = DICTIONARY_PATH) -> DataDictionary:
    """Read the data dictionary (cached: it is read once per process)."""
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


def dictionary_markdown(dictionary: DataDictionary | None = None) -> str:
    """The data dictionary as a readable Markdown page (``data/dictionary.md``)."""
    dictionary = dictionary or load_dictionary()
    lines = [
        "# Data dictionary — register extract",
        "",
        "Generated from `rehabstats/data/dictionary.yaml` by `rehabstats dictionary`; do not edit.",
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
            lines.append(f"| `{c.code}` | {c.sv} | {c.en} | {', '.join(c.accept)} |")
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
        "- `case_id` is unique.",
        "- a reviewed file (`file_reviewed` yes) belongs to a randomised case;",
        "- `declined` is given for every reviewed case offered an alternative actor;",
        "- no event date (`meeting_date`, `plan_date`, `measure_date`) and no "
        "`followup_end_date` lies before `case_start_date`;",
        "- every study group (control, treatment, declined) has studied cases.",
        "",
        "These are counted and left out of one event's analysis, not refused (the table's "
        "note says how many): an event marked yes without a date, a date without the event "
        "marked, a date after the file review.",
        "",
    ]
    return "\n".join(lines)
