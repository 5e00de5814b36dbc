"""Make the corpus of bad input files in ``tests/data/bad/`` (one file per case).

Every file starts from the same small generated register extract, ``base.csv`` (a
well-formed 200-row file from :func:`rehabstats.data.synth.generate`), and breaks it in one
way. ``tests/test_bad_inputs.py`` says what rehabstats must do with each file and
``docs/bad-inputs.md`` explains the decisions.

    .venv/bin/python tests/data/make_bad.py              # rewrite the corpus from base.csv
    .venv/bin/python tests/data/make_bad.py --new-base   # first generate a new base.csv
    .venv/bin/python tests/data/make_bad.py --out DIR    # write into DIR instead

The cases are made from the committed ``base.csv``, not from the generator, so that
recalibrating the generator does not change the corpus: rerunning the script rewrites
``tests/data/bad/`` byte for byte. ``--new-base`` regenerates ``base.csv`` (n = 200,
seed 2010, default scenario), for instance when the data contract changes; the expected
counts and case ids in ``tests/test_bad_inputs.py`` must then be reviewed.
"""

from __future__ import annotations

import argparse
import codecs
import io
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from rehabstats.data.dictionary import load_dictionary
from rehabstats.data.loading import write_csv
from rehabstats.data.synth import generate

HERE = Path(__file__).resolve().parent
OUT = HERE / "bad"
BASE_N, BASE_SEED = 200, 2010
BASE = "base.csv"
# UTF-16 doubles the size; the file is refused before any row is read, so 60 rows do.
UTF16_ROWS = 60

Frame = pd.DataFrame


# --- helpers ------------------------------------------------------------------------------


def _text(frame: Frame, sep: str = ",") -> str:
    """The frame as CSV text with LF line endings (cells are already text)."""
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, sep=sep, lineterminator="\n")
    return buffer.getvalue()


def _utf8(frame: Frame, sep: str = ",") -> bytes:
    return _text(frame, sep).encode("utf-8")


def _studied(f: Frame) -> pd.Series:
    return f["file_reviewed"].eq("yes")


def _group(f: Frame) -> pd.Series:
    """The study group of each studied row as written in the base file."""
    group = f["arm"].map({"control": "control", "actor": "treatment"})
    group[f["arm"].eq("actor") & f["declined"].eq("yes")] = "declined"
    return group.where(_studied(f))


def _swedish(f: Frame) -> Frame:
    """A Swedish export: Swedish headers, Swedish category labels, ja/nej."""
    dictionary = load_dictionary()
    out = f.copy()
    for name in dictionary.names("category"):
        spec = dictionary[name]
        out[name] = out[name].map(lambda v, s=spec: s.label(v, "sv") if v else v)
    for name in dictionary.names("boolean"):
        out[name] = out[name].map({"yes": "ja", "no": "nej", "": ""})
    return out.rename(columns={n: dictionary[n].sv for n in out.columns})


# --- the cases: each takes the base frame (text cells) and returns the file's bytes -------


def delimiter_tab(f: Frame) -> bytes:
    return _utf8(f, sep="\t")


def delimiter_pipe(f: Frame) -> bytes:
    return _utf8(f, sep="|")


def encoding_latin1(f: Frame) -> bytes:
    return _text(_swedish(f)).encode("latin-1")


def _swedish_labels_only(f: Frame) -> Frame:
    """Swedish category labels under the contract's own (ASCII) headers."""
    swedish = _swedish(f)
    swedish.columns = f.columns
    return swedish


def encoding_cp850(f: Frame) -> bytes:
    """An old DOS export (code page 850): å, ä, ö become other Windows-1252 letters."""
    return _text(_swedish_labels_only(f)).encode("cp850")


def encoding_utf16(f: Frame) -> bytes:
    """UTF-16 with a byte-order mark, as Excel's "Unicode text" writes it."""
    text = _text(_swedish(f.head(UTF16_ROWS)))
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def header_only(f: Frame) -> bytes:
    return _utf8(f.head(0))


def missing_column(f: Frame) -> bytes:
    return _utf8(f.drop(columns=["county"]))


def extra_column(f: Frame) -> bytes:
    comment = pd.Series("", index=f.index)
    comment[f.index[::7]] = "kontrollera akten"
    return _utf8(f.assign(kommentar=comment))


def county_alias_stockholms_lan(f: Frame) -> bytes:
    return _utf8(f.replace({"county": {"stockholm": "Stockholms län"}}))


def sex_lowercase_kvinna(f: Frame) -> bytes:
    return _utf8(f.replace({"sex": {"women": "kvinna", "men": "MAN"}}))


def county_misspelt_stokholm(f: Frame) -> bytes:
    rows = f.index[f["county"].eq("stockholm")][:3]
    f.loc[rows, "county"] = "Stokholm"
    return _utf8(f)


def county_unknown_values(f: Frame) -> bytes:
    """Counties written as a municipality (40 rows), an unused code and no county at all."""
    for county, value, k in (
        ("stockholm", "Gotlands kommun", 40),
        ("vastra_gotaland", "99", 2),
        ("dalarna", "Atlantis", 1),
    ):
        f.loc[f.index[f["county"].eq(county)][:k], "county"] = value
    return _utf8(f)


def counties_elsewhere(f: Frame) -> bytes:
    """A follow-up in Skåne, Östergötland and Norrbotten, written as exports write them:
    SCB codes with and without the leading zero, Swedish names with and without "län",
    English names, in any case."""
    written = {
        "stockholm": ["12", "Skåne län", "Skåne County"],
        "vastra_gotaland": ["05", "5", "Östergötlands län", "östergötland"],
        "dalarna": ["25", "Norrbottens län"],
        "vasterbotten": ["Norrbotten", "NORRBOTTEN COUNTY"],
    }
    for county, spellings in written.items():
        rows = f.index[f["county"].eq(county)]
        f.loc[rows, "county"] = [spellings[i % len(spellings)] for i in range(len(rows))]
    return _utf8(f)


def sex_misspelt_kvina(f: Frame) -> bytes:
    rows = f.index[f["sex"].eq("women")][:2]
    f.loc[rows, "sex"] = "kvina"
    return _utf8(f)


def _compact(dates: pd.Series) -> pd.Series:
    return dates.str.replace("-", "", regex=False)


def _day_month_year(dates: pd.Series) -> pd.Series:
    return pd.to_datetime(dates, format="%Y-%m-%d").dt.strftime("%d/%m/%Y")


def dates_iso_and_compact(f: Frame) -> bytes:
    """Every other case start as YYYYMMDD: both formats are unambiguous."""
    rows = f.index[f["case_start_date"].ne("")][1::2]
    f.loc[rows, "case_start_date"] = _compact(f.loc[rows, "case_start_date"])
    return _utf8(f)


def dates_mixed_formats(f: Frame) -> bytes:
    """Case starts in three formats: ISO, YYYYMMDD and (every fifth) dd/mm/yyyy."""
    dated = f.index[f["case_start_date"].ne("")]
    compact, ambiguous = dated[1::5], dated[3::5]
    f.loc[compact, "case_start_date"] = _compact(f.loc[compact, "case_start_date"])
    f.loc[ambiguous, "case_start_date"] = _day_month_year(f.loc[ambiguous, "case_start_date"])
    return _utf8(f)


def _shift_years(dates: pd.Series, years: int) -> pd.Series:
    shifted = pd.to_datetime(dates, format="%Y-%m-%d") + pd.DateOffset(years=years)
    return shifted.dt.strftime("%Y-%m-%d")


def event_before_start(f: Frame) -> bytes:
    """A measure dated a year before the case started (a typo in the year)."""
    rows = f.index[_studied(f) & f["measure_date"].ne("")][:2]
    f.loc[rows, "measure_date"] = _shift_years(f.loc[rows, "case_start_date"], -1)
    return _utf8(f)


def followup_before_start(f: Frame) -> bytes:
    """A file review dated in the year before the case started."""
    rows = f.index[_studied(f)][:3]
    f.loc[rows, "followup_end_date"] = _shift_years(f.loc[rows, "case_start_date"], -1)
    return _utf8(f)


def age_out_of_range(f: Frame) -> bytes:
    f.loc[[4, 9], "age"] = ["-3", "150"]
    return _utf8(f)


def duplicate_case_id(f: Frame) -> bytes:
    f.loc[21, "case_id"] = f.loc[20, "case_id"]
    return _utf8(f)


def person_in_both_arms(f: Frame) -> bytes:
    """The person of the first studied control case is randomised again, to the actor arm."""
    group = _group(f)
    first = f.index[group.eq("control")][0]
    later = f["randomisation_date"] > f.at[first, "randomisation_date"]
    second = f.index[group.eq("treatment") & later][0]
    f.at[second, "person_id"] = f.at[first, "person_id"]
    return _utf8(f)


def no_declined_group(f: Frame) -> bytes:
    """Nobody declined: every offered case took the actor."""
    f.loc[f["declined"].eq("yes"), "declined"] = "no"
    return _utf8(f)


def _no_event(f: Frame, event: str) -> Frame:
    f.loc[_studied(f), event] = "no"
    f[f"{event}_date"] = ""
    return f


def no_measure_for_anyone(f: Frame) -> bytes:
    return _utf8(_no_event(f, "measure"))


def everyone_censored(f: Frame) -> bytes:
    for event in ("meeting", "plan", "measure"):
        f = _no_event(f, event)
    return _utf8(f)


def no_dalarna(f: Frame) -> bytes:
    """An extract from the three other counties: Dalarna's rows are not there at all."""
    return _utf8(f[f["county"].ne("dalarna")])


def ten_rows(f: Frame) -> bytes:
    """Ten studied cases (4 control, 4 treatment, 2 declined), in file order."""
    group = _group(f)
    picks = [f.index[group.eq(g)][:k] for g, k in (("control", 4), ("treatment", 4))]
    picks.append(f.index[group.eq("declined")][:2])
    rows = sorted(i for pick in picks for i in pick)
    return _utf8(f.loc[rows])


def empty_0_bytes(f: Frame) -> bytes:
    return b""


def binary(f: Frame) -> bytes:
    """A zip archive's opening bytes and binary noise, saved under a .csv name."""
    return b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 8


CASES: dict[str, Callable[[Frame], bytes]] = {
    f"{case.__name__}.csv": case
    for case in (
        delimiter_tab,
        delimiter_pipe,
        encoding_latin1,
        encoding_cp850,
        encoding_utf16,
        header_only,
        missing_column,
        extra_column,
        county_alias_stockholms_lan,
        sex_lowercase_kvinna,
        county_misspelt_stokholm,
        county_unknown_values,
        counties_elsewhere,
        sex_misspelt_kvina,
        dates_iso_and_compact,
        dates_mixed_formats,
        event_before_start,
        followup_before_start,
        age_out_of_range,
        duplicate_case_id,
        person_in_both_arms,
        no_declined_group,
        no_measure_for_anyone,
        everyone_censored,
        no_dalarna,
        ten_rows,
        empty_0_bytes,
        binary,
    )
}


def new_base(path: Path = OUT / BASE) -> None:
    """Generate ``base.csv``: the well-formed extract every case starts from."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(generate(BASE_N, seed=BASE_SEED), path)


def main(out: Path = OUT, base: Path = OUT / BASE) -> list[Path]:
    """Write a copy of ``base`` and every case into ``out`` (old ``*.csv`` removed first)."""
    out = Path(out)
    data = Path(base).read_bytes()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.csv"):
        old.unlink()
    written = [out / BASE]
    written[0].write_bytes(data)
    for name, case in CASES.items():
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        path = out / name
        path.write_bytes(case(frame))
        written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT, help="directory (default: %(default)s)")
    parser.add_argument("--new-base", action="store_true", help="generate base.csv first")
    args = parser.parse_args()
    if args.new_base:
        new_base()
    for path in main(args.out):
        print(f"{path.stat().st_size:>7} {path}")
