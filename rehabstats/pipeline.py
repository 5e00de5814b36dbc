"""The main job: a dataset in, the finished report in both languages and formats out.

One run computes the results once, writes the language-free export, then executes
the report notebook once per language with papermill and renders each to HTML and PDF.
Everything is written into a staging folder beside the output folder and moved into
place only when all of it succeeded, so a failed or interrupted run never leaves a
half-written report where the previous one was.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from rehabstats import formatting as fmt
from rehabstats.disclosure import DEFAULT_MIN_COUNT, protect
from rehabstats.export import write_exports
from rehabstats.glossary import Glossary
from rehabstats.render import execute_notebook, render_notebook, set_front_matter
from rehabstats.results import Results, analyse

REPORTS_DIR = Path(__file__).resolve().parents[1] / "reports"
NOTEBOOK = "report.ipynb"
STEM = "report"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RenderedReport:
    """Where a finished run put its files."""

    out: Path
    documents: dict[str, dict[str, Path]]
    notebooks: dict[str, Path]
    tables_json: Path
    tables_xlsx: Path


def load_edition(path: Path | None = None) -> dict:
    """The edition metadata (``reports/edition.yaml`` unless another file is named)."""
    path = path or REPORTS_DIR / "edition.yaml"
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def edition_for(edition: dict, lang: str) -> dict:
    """The edition metadata in one language: per-language entries resolved."""

    def pick(value: object) -> object:
        if isinstance(value, dict) and lang in value:
            return value[lang]
        return value

    return {key: pick(value) for key, value in edition.items()}


def front_matter(edition: dict, glossary: Glossary) -> dict:
    """The notebook's YAML front matter for one language (cover, TOC, running header)."""
    date = dt.date.fromisoformat(str(edition["date"]))
    return {
        "title": edition["title"],
        "subtitle": edition["subtitle"],
        "series": edition["series"],
        "number": edition["number"],
        "publisher": edition["publisher"],
        "contact": edition["contact"],
        "author": list(edition.get("author", [])),
        "date": fmt.date(date, glossary.lang),
        "lang": glossary.lang,
        "toc-title": glossary["toc_title"],
        "running-header": edition.get("running-header", edition["title"]),
    }


def _check_request(langs: Sequence[str], formats: Sequence[str], reports_dir: Path) -> None:
    """Refuse an unknown language or format before any work starts."""
    for lang in langs:
        if lang not in fmt.LANGUAGES:
            raise ValueError(f"unknown language {lang!r}; use {', '.join(fmt.LANGUAGES)}")
        Glossary.load(reports_dir / "glossary", lang)
    for form in formats:
        if form not in ("html", "pdf"):
            raise ValueError(f"unknown format {form!r}; use html, pdf")


def _render_language(
    results_path: Path,
    lang: str,
    staging: Path,
    edition: dict,
    formats: Sequence[str],
    reports_dir: Path,
    engine: str,
) -> tuple[Path, dict[str, Path]]:
    """Execute the notebook for one language and render it; return notebook and files."""
    work = staging / lang
    work.mkdir(parents=True)
    edition_lang = edition_for(edition, lang)
    notebook = execute_notebook(
        reports_dir / NOTEBOOK,
        {
            "results": str(results_path),
            "lang": lang,
            "reports_dir": str(reports_dir),
            "figures_dir": str(work / "figures"),
            "edition": edition_lang,
        },
        output=work / NOTEBOOK,
        cwd=work,
    )
    glossary = Glossary.load(reports_dir / "glossary", lang)
    set_front_matter(notebook, front_matter(edition_lang, glossary))
    return notebook, render_notebook(notebook, work, STEM, formats, engine=engine)


def _replace(out: Path, staging: Path) -> None:
    """Move the finished staging folder to ``out``, replacing an older report."""
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


def render_report(
    data: Path,
    out: Path,
    langs: Sequence[str] = ("sv", "en"),
    formats: Sequence[str] = ("html", "pdf"),
    edition_path: Path | None = None,
    engine: str = "default",
    reports_dir: Path = REPORTS_DIR,
    min_count: int = DEFAULT_MIN_COUNT,
    progress: Progress = lambda _: None,
) -> RenderedReport:
    """Render the report of ``data`` into ``out`` (see the module doc).

    Every published figure passes disclosure control with ``min_count`` first.
    """
    out = Path(out).resolve()
    _check_request(langs, formats, reports_dir)
    edition = load_edition(edition_path)
    progress("validating and analysing the data")
    results: Results = protect(analyse(data), min_count)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        results_path = staging / "results.pkl"
        results.save(results_path)
        progress("writing tables.json and tables.xlsx")
        tables_json, tables_xlsx = write_exports(results, staging)
        progress(f"executing and rendering the report in {', '.join(langs)}")
        with ThreadPoolExecutor(max_workers=len(langs)) as pool:
            futures = {
                lang: pool.submit(
                    _render_language,
                    results_path,
                    lang,
                    staging,
                    edition,
                    formats,
                    reports_dir,
                    engine,
                )
                for lang in langs
            }
            rendered = {lang: future.result() for lang, future in futures.items()}
        notebooks = {lang: notebook for lang, (notebook, _) in rendered.items()}
        documents = {lang: files for lang, (_, files) in rendered.items()}
        results_path.unlink()
        _replace(out, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    def moved(path: Path) -> Path:
        return out / path.relative_to(staging)

    return RenderedReport(
        out=out,
        documents={
            lang: {k: moved(p) for k, p in files.items()} for lang, files in documents.items()
        },
        notebooks={lang: moved(p) for lang, p in notebooks.items()},
        tables_json=moved(tables_json),
        tables_xlsx=moved(tables_xlsx),
    )
