"""The ``rehabstats`` command: validate, synth, tables, render, dictionary.

Exit status: 0 when the job is done, 2 when the data, the report's content or the
command line cannot be used, 1 when a render fails. Those failures are the
:class:`~rehabstats.errors.RehabstatsError` family and print a message, never a
traceback; any other exception is a bug in rehabstats and shows its traceback.
"""

from __future__ import annotations

import argparse
import gc
import shlex
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from rehabstats.data.contract import ContractError
from rehabstats.engine import DEFAULT_FORMATS, FORMATS
from rehabstats.errors import DataFileError, OptionError, RehabstatsError, ResourceError
from rehabstats.reporting.languages import LANGUAGES

EXIT_OK, EXIT_FAILED, EXIT_BAD_DATA = 0, 1, 2
DATA_HELP = "register extract: CSV, Parquet, Excel, Stata, SPSS or SAS"
PREVIEW_PORT = 8765


def _validate(args: argparse.Namespace) -> int:
    from rehabstats.data.loading import load
    from rehabstats.data.population import derive_cohort
    from rehabstats.data.validation import validate

    report, typed = validate(load(args.data))
    print(report)
    if not report.ok:
        return EXIT_BAD_DATA
    cohort = derive_cohort(typed)
    flow = cohort.flow()
    print("Population flow (Tabell 1):")
    for step, n in flow[["step", "n"]].itertuples(index=False):
        print(f"  {step:<20} {n:>9}")
    return EXIT_OK


def _synth(args: argparse.Namespace) -> int:
    from rehabstats.data.loading import save, writer_for
    from rehabstats.data.synth import generate

    writer_for(args.out)  # an unknown extension is refused before any work is done
    frame = generate(args.n, seed=args.seed, scenario=args.scenario)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save(frame, args.out)
    print(f"wrote {len(frame)} rows to {args.out}")
    return EXIT_OK


def _dictionary(args: argparse.Namespace) -> int:
    from rehabstats.data.dictionary import dictionary_markdown

    text = dictionary_markdown()
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    else:
        print(text)
    return EXIT_OK


def _tables(args: argparse.Namespace) -> int:
    from rehabstats.reporting.clock import run_time
    from rehabstats.reporting.export import write_exports
    from rehabstats.reporting.results import analyse
    from rehabstats.stats.disclosure import protect

    run_time()  # a SOURCE_DATE_EPOCH that is no time is refused before the analysis
    json_path, xlsx_path = write_exports(protect(analyse(args.data), args.min_count), args.out)
    print(f"wrote {json_path} and {xlsx_path}")
    return EXIT_OK


def _render(args: argparse.Namespace) -> int:
    from rich.console import Console

    from rehabstats.engine.pipeline import render_report
    from rehabstats.reporting.edition import cover_warning

    if args.by:
        return _render_by(args)
    console = Console(stderr=True)
    with console.status("rendering") as status:
        report = render_report(
            args.data,
            args.out,
            langs=args.lang,
            formats=args.format,
            edition_path=args.edition,
            engine=args.engine,
            reports_dir=args.project.root,
            min_count=args.min_count,
            progress=lambda step: (status.update(step), console.log(step)),
            previous=args.previous,
        )
    for lang, files in report.documents.items():
        for form, path in files.items():
            print(f"{lang} {form}: {path}")
    print(f"tables: {report.tables_json}, {report.tables_xlsx}")
    if warning := cover_warning(args.data, args.edition, args.lang):
        print(f"warning: {warning}", file=sys.stderr)
    return EXIT_OK


def _preview(args: argparse.Namespace) -> int:
    from rehabstats.engine.pipeline import RenderOptions
    from rehabstats.engine.preview import preview

    options = RenderOptions(
        langs=(args.lang,),
        formats=("html",),
        edition_path=args.edition,
        reports_dir=args.project.root,
        min_count=args.min_count,
    )
    preview(args.data, options, port=args.port)
    return EXIT_OK


def _render_by(args: argparse.Namespace) -> int:
    """One report per value of ``--by``: exit 2 when some values have no report.

    Each part is logged on standard error as it finishes; the parts without a report
    are listed with the reason, here and on the index page, beside the others.
    """
    from rich.console import Console

    from rehabstats.engine.batch import render_by
    from rehabstats.engine.pipeline import RenderOptions
    from rehabstats.reporting.edition import cover_warning

    options = RenderOptions(
        tuple(args.lang),
        tuple(args.format),
        args.edition,
        args.engine,
        reports_dir=args.project.root,
        min_count=args.min_count,
        previous=args.previous,
    )
    console = Console(stderr=True)
    with console.status(f"rendering one report per {args.by}"):
        index, outcomes = render_by(
            args.data,
            args.out,
            args.by,
            options,
            workers=args.workers,
            progress=lambda line: console.log(line, markup=False),
        )
    for outcome in outcomes:
        print(f"{outcome.value}: {outcome.folder or outcome.problem}")
    print(f"index: {index}")
    if warning := cover_warning(args.data, args.edition, args.lang):
        print(f"warning: {warning}", file=sys.stderr)
    refused = [outcome.value for outcome in outcomes if outcome.folder is None]
    if refused:
        print(
            f"error: no report for {len(refused)} of {len(outcomes)} values"
            f" ({', '.join(refused)}); the index page says why",
            file=sys.stderr,
        )
        return EXIT_BAD_DATA
    return EXIT_OK


def _new(args: argparse.Namespace) -> int:
    from rehabstats.reporting.project import new_project

    written = new_project(args.folder)
    print(f"wrote a report project of {len(written)} files in {args.folder}")
    print(f"what each file is: {args.folder / 'README.md'}")
    print(f"render it: cd {shlex.quote(str(args.folder))} && rehabstats render DATA --out _output")
    return EXIT_OK


def _add_project(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="a report project made by 'rehabstats new' (default: the current folder, if it"
        " has a study.yaml): its files are used, rehabstats' own for what it lacks",
    )


def _use_project(args: argparse.Namespace) -> Path | None:
    """Resolve the report project of a command that takes one; its study settings.

    ``--project DIR``, else the current folder if it is a project (it has study
    settings), else none: ``args.project`` becomes a Project. A project's own edition is
    the default of ``--edition``.
    """
    from rehabstats.reporting.project import Project

    if args.project is None:
        project = Project.detect(Path.cwd()) or Project()
    elif args.project.is_dir():
        project = Project(args.project.resolve())
    else:
        raise OptionError(f"--project {args.project}: no such folder; name a report project")
    if project.root is not None:
        print(f"report project: {project.root}", file=sys.stderr)
    if "edition" in args:
        args.edition = project.edition(args.edition)
    args.project = project
    return project.settings


def _add_min_count(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--min-count",
        type=int,
        default=5,
        help="disclosure control: hide figures from fewer cases than this (0: off; default 5)",
    )


def _add_edition(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--edition",
        type=Path,
        help="edition metadata (default: the project's edition.yaml, else rehabstats' own)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The command line: one sub-command per job."""
    parser = argparse.ArgumentParser(prog="rehabstats", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="check a data file against the data contract")
    p.add_argument("data", type=Path, help=DATA_HELP)
    _add_project(p)
    p.set_defaults(run=_validate)

    p = sub.add_parser("synth", help="generate a synthetic register extract")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--n", type=int, required=True, help="number of register rows")
    p.add_argument("--scenario", default="default", help="scenario name or YAML path")
    p.add_argument(
        "--out", type=Path, required=True, help="file to write: .csv, .parquet, .xlsx, .dta or .sav"
    )
    p.set_defaults(run=_synth)

    p = sub.add_parser("tables", help="write tables.json and tables.xlsx for a data file")
    p.add_argument("data", type=Path, help=DATA_HELP)
    p.add_argument("--out", type=Path, required=True, help="folder to write them in")
    _add_min_count(p)
    _add_project(p)
    p.set_defaults(run=_tables)

    p = sub.add_parser("render", help="render the report (HTML, PDF and Word, Swedish and English)")
    p.add_argument("data", type=Path, help=DATA_HELP)
    p.add_argument(
        "--out", type=Path, required=True, help="report folder (replaced when the run succeeds)"
    )
    p.add_argument(
        "--lang",
        nargs="+",
        default=list(LANGUAGES),
        choices=LANGUAGES,
        help=f"default: {' '.join(LANGUAGES)}",
    )
    p.add_argument(
        "--format",
        nargs="+",
        default=list(DEFAULT_FORMATS),
        choices=FORMATS,
        help=f"any of {', '.join(FORMATS)} (Word); default: {' '.join(DEFAULT_FORMATS)}",
    )
    _add_edition(p)
    p.add_argument(
        "--engine",
        default="default",
        choices=["default", "quarto"],
        help="default: pandoc and Typst; quarto: the Quarto CLI, where installed",
    )
    p.add_argument(
        "--by",
        metavar="COLUMN",
        help="one report per value of a categorical column, named or labelled in Swedish or"
        " English (county, Län, sex, …); the folder is replaced as a whole; exit 2 if some"
        " values have no report",
    )
    p.add_argument(
        "--workers", type=int, help="reports rendered at once with --by (default: one per core)"
    )
    p.add_argument(
        "--previous",
        type=Path,
        metavar="OLD_REPORT_DIR",
        help="the previous edition's report folder: adds what changed since it (not with --by)",
    )
    _add_min_count(p)
    _add_project(p)
    p.set_defaults(run=_render)

    p = sub.add_parser(
        "preview",
        help="see the report in the browser while editing it: one language's HTML, rendered "
        "again when the prose, labels, edition or data change",
    )
    p.add_argument("data", type=Path, help=DATA_HELP)
    p.add_argument("--lang", default=LANGUAGES[0], choices=LANGUAGES, help="default: %(default)s")
    _add_edition(p)
    p.add_argument(
        "--port",
        type=int,
        default=PREVIEW_PORT,
        help="port on 127.0.0.1 to serve it on (default: %(default)s; 0: any free one)",
    )
    _add_min_count(p)
    _add_project(p)
    p.set_defaults(run=_preview)

    p = sub.add_parser("dictionary", help="write the data dictionary as Markdown")
    p.add_argument("--out", type=Path, help="file to write (default: standard output)")
    _add_project(p)
    p.set_defaults(run=_dictionary)

    p = sub.add_parser(
        "new", help="start a report project of one's own: a folder of the report's content"
    )
    p.add_argument("folder", type=Path, help="a new or empty folder")
    p.set_defaults(run=_new)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one sub-command; map rehabstats' own errors onto exit statuses and messages.

    Only :class:`RehabstatsError` is caught: anything else is a bug and propagates
    with its traceback. Run as the command (``argv`` None), it freezes what the run
    made before it returns: the interpreter's exit then skips searching those objects
    for cycles, about a second's work after a render for memory the process gives back
    anyway (the outputs are written and closed by then; exit handlers still run).
    """
    if argv is None:
        try:
            return main(sys.argv[1:])
        finally:
            gc.freeze()  # every object made so far: the collector's permanent generation
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    warnings.filterwarnings("ignore", category=FutureWarning)
    try:
        from rehabstats.data.dictionary import study_settings

        settings = _use_project(args) if "project" in args else None
        with study_settings(settings):
            return run(args)
    except ContractError as error:
        print(error.report, file=sys.stderr)
        return EXIT_BAD_DATA
    except (DataFileError, ResourceError, OptionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_BAD_DATA
    except RehabstatsError as error:  # RenderError: the input was fine, the render failed
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
