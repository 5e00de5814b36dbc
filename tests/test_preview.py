"""``rehabstats preview``: the report served on the loopback address, rendered again when
what it is made from changes, with its errors on the page and the last good page kept.

One preview runs for the module, in Swedish, on a report project of its own and a copy
of the default data; each test changes a file and waits for the page that follows.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from rehabstats.cli import main
from rehabstats.engine.pipeline import RenderOptions
from rehabstats.engine.preview import LOOPBACK, Preview
from rehabstats.reporting import formatting as fmt
from rehabstats.reporting.glossary import Glossary
from rehabstats.reporting.project import PACKAGE_CONTENT
from tests.conftest import A11Y, DEFAULT_DATA

pytestmark = pytest.mark.render
WAIT = 300  # seconds a render may take on a busy machine before a test gives up


@dataclass
class Running:
    """A preview running in a thread, and the files it watches."""

    preview: Preview
    url: str
    project: Path
    data: Path
    logged: list[str]

    @property
    def version(self) -> int:
        return json.load(urllib.request.urlopen(self.url + "__version"))["version"]

    def page(self) -> str:
        return urllib.request.urlopen(self.url).read().decode("utf-8")

    def after(self, change: callable) -> str:
        """The page once the preview has shown what ``change`` did."""
        before = self.version
        change()
        deadline = time.monotonic() + WAIT
        while self.version == before:
            assert time.monotonic() < deadline, "the preview did not render the change"
            time.sleep(0.1)
        return self.page()


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    folder = tmp_path_factory.mktemp("preview")
    project, data = folder / "project", folder / "register.csv"
    assert main(["new", str(project)]) == 0
    shutil.copy(DEFAULT_DATA, data)
    options = RenderOptions(langs=("sv",), formats=("html",), reports_dir=project)
    logged: list[str] = []
    preview = Preview(data, options, folder / "served", logged.append)
    stop, urls = threading.Event(), []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REHABSTATS_CACHE", str(folder / "cache"))
        thread = threading.Thread(
            target=preview.run, args=(stop,), kwargs={"ready": urls.append}, daemon=True
        )
        thread.start()
        deadline = time.monotonic() + WAIT
        while not urls or preview.state.version == 0:
            assert thread.is_alive() and time.monotonic() < deadline, logged
            time.sleep(0.1)
        yield Running(preview, urls[0], project, data, logged)
        stop.set()
        thread.join(60)


def _append(path: Path, text: str) -> callable:
    return lambda: path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _replace(path: Path, old: str, new: str) -> None:
    """The one ``old`` in ``path`` made ``new``."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def _figures(running: Running) -> dict[str, tuple[int, bytes]]:
    """Each figure the preview saved: when it was last written, and its SVG."""
    folder = running.preview.folder / "work" / "figures"
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.glob("*.svg")}


def _without(figures: dict, name: str) -> dict:
    return {key: value for key, value in figures.items() if key != name}


def _inline(page: str, stem: str) -> str:
    """The figure ``stem`` as the page draws it, inline, its ids prefixed with the stem
    (``itt-d1-sv`` for itt_d1-sv.svg)."""
    svgs = re.findall(r'<svg class="figure".*?</svg>', page, re.DOTALL)
    [svg] = [svg for svg in svgs if f'id="{stem}-' in svg]
    return svg


def _chapter_runs(running: Running) -> dict[str, int]:
    """The execution count of each chapter's cell in the notebook the preview last ran."""
    notebook = json.loads((running.preview.folder / "work" / "report.ipynb").read_text("utf-8"))
    runs = {}
    for cell in notebook["cells"]:
        shown = re.search(r'doc\.chapter\("(\w+)"\)', "".join(cell["source"]))
        if shown is not None:
            runs[shown[1]] = cell["execution_count"]
    return runs


def _status(url: str, path: str) -> int:
    """The status of a request for ``path`` sent as written (no normalisation)."""
    host, port = url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", path)
    return connection.getresponse().status


def test_a_file_seen_while_it_is_saved_is_read_once_it_is_whole() -> None:
    """A save empties a file, then writes it: a look in between saw two changes and
    rendered twice, the first time the half-saved file (a test of a later edit then read
    that render's page). The changes are given once the files stay as they are."""
    path = Path("summary.md")
    first, emptied, written = {path: (1, 10)}, {path: (2, 0)}, {path: (3, 12)}
    looks = iter([first, emptied, written, written])
    stop = threading.Event()

    def snapshot() -> dict[Path, tuple[int, int]]:
        state = next(looks, None)
        if state is None:  # looked at every state: the watch ends at its next wait
            stop.set()
        return state or written

    watcher = type("Watcher", (), {"snapshot": staticmethod(snapshot)})()
    assert list(Preview._changes(watcher, stop)) == [{path}, {path}]


def test_the_report_is_served_on_the_loopback_address_and_nothing_else(running) -> None:
    assert running.url.startswith(f"http://{LOOPBACK}:")
    page = running.page()
    glossary = Glossary.load(PACKAGE_CONTENT / "glossary", "sv")
    assert '<html lang="sv"' in page and f"{glossary['table_word']} 1 " in page
    assert page.count('<script src="/__preview.js"></script>') == 1
    assert _status(running.url, "/__preview.js") == 200
    served = running.preview.folder
    for path in (
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/work/results.pkl",
        "/work/report.ipynb",
        f"/{served}/work/results.pkl",
        "/project/text/sv/summary.md",
    ):
        assert _status(running.url, path) == 404, path


def test_a_prose_edit_is_shown_without_analysing_the_data_again(running) -> None:
    results = running.preview.folder / "work" / "results.pkl"
    stamp = results.stat().st_mtime_ns
    summary = running.project / "text" / "sv" / "summary.md"
    page = running.after(_append(summary, "\nEn mening som just skrevs till.\n"))
    assert "En mening som just skrevs till." in page
    assert results.stat().st_mtime_ns == stamp, "the results were computed again"


def test_a_prose_edit_runs_its_chapter_again_and_keeps_the_others(running) -> None:
    """Only the edited chapter's cell runs again (its count moves on, the others' stay);
    an edit of another chapter after it keeps the first edit on the page."""
    text = running.project / "text" / "sv"
    before = _chapter_runs(running)
    page = running.after(_append(text / "conclusions.md", "\nSlutsatsen fick en mening till.\n"))
    after = _chapter_runs(running)
    assert "Slutsatsen fick en mening till." in page
    assert after["conclusions"] != before["conclusions"]
    assert {k: v for k, v in after.items() if k != "conclusions"} == {
        k: v for k, v in before.items() if k != "conclusions"
    }
    page = running.after(_append(text / "aim.md", "\nSyftet fick en mening till.\n"))
    assert "Syftet fick en mening till." in page and "Slutsatsen fick en mening till." in page


def test_prose_that_takes_in_other_prose_shows_its_change(running) -> None:
    """A section that includes another file shows that file's edit (no chapter's own
    prose changed), and a placeholder the prose lacks is shown as an error until it is
    put right."""
    text = running.project / "text" / "sv"
    aim, shared = text / "aim.md", text / "delad.md"
    good = aim.read_text(encoding="utf-8")

    def include() -> None:
        shared.write_text("Delad text, första lydelsen.\n", encoding="utf-8")
        aim.write_text(good + '\n{% include "delad.md" %}\n', encoding="utf-8")

    assert "Delad text, första lydelsen." in running.after(include)
    page = running.after(lambda: shared.write_text("Delad text, andra lydelsen.\n", "utf-8"))
    assert "Delad text, andra lydelsen." in page and "första lydelsen" not in page
    page = running.after(lambda: aim.write_text(good + "\n{{ finns_inte }}\n", "utf-8"))
    assert 'role="alert"' in page and "finns_inte" in page
    assert "Delad text, andra lydelsen." in page, "the last good report stays"
    page = running.after(lambda: aim.write_text(good, encoding="utf-8"))
    assert 'role="alert"' not in page and "Delad text" not in page
    running.after(shared.unlink)


def test_a_figure_is_drawn_again_only_when_what_it_is_drawn_from_changes(running) -> None:
    """A prose edit draws no figure again. A label edit runs the whole notebook again
    (the diagrams' titles show it) but draws again only the figure whose label changed,
    which the page then shows; the label put back, the page shows the figure as it was."""
    drawn = _figures(running)
    assert len(drawn) == 8
    running.after(_append(running.project / "text" / "sv" / "summary.md", "\nEn till.\n"))
    assert _figures(running) == drawn
    glossary = running.project / "glossary" / "sv.yaml"
    good, before = glossary.read_text(encoding="utf-8"), running.page()
    assert "Figurdiagram 1" not in before and "Trepartssamtal" not in _inline(before, "f2-sv")

    def relabel() -> None:
        _replace(glossary, "\ndiagram_word: Diagram\n", "\ndiagram_word: Figurdiagram\n")
        _replace(glossary, "    meeting: Avstämningsmöte\n", "    meeting: Trepartssamtal\n")

    page, now = running.after(relabel), _figures(running)
    assert "Figurdiagram 1" in page, "the Kaplan–Meier diagrams' chapters ran again"
    assert "Trepartssamtal" in _inline(page, "f2-sv")
    assert _without(now, "f2-sv.svg") == _without(drawn, "f2-sv.svg"), "not drawn again"
    page = running.after(lambda: glossary.write_text(good, encoding="utf-8"))
    assert _inline(page, "f2-sv") == _inline(before, "f2-sv")


def test_the_page_reloads_itself_in_a_browser(running) -> None:
    """Chromium keeps the page open; a prose edit shows up without anyone reloading."""
    chromium, node = shutil.which("chromium"), shutil.which("node")
    if chromium is None or node is None or not (A11Y / "node_modules").is_dir():
        pytest.fail("this check needs chromium, node and tests/a11y/node_modules: `make test`")
    marker = "Webbläsaren laddade om sidan själv."
    browser = subprocess.Popen(
        [node, str(A11Y / "reload_check.mjs"), running.url, marker, "--chromium", chromium],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert browser.stdout.readline().strip() == "ready", browser.stderr.read()
        _append(running.project / "text" / "sv" / "aim.md", f"\n{marker}\n")()
        out, err = browser.communicate(timeout=WAIT + 60)
    finally:
        browser.kill()
    found = json.loads(out.splitlines()[-1])
    assert browser.returncode == 0 and found["found"] and found["reloads"] >= 1, (out, err)


def test_a_half_saved_glossary_shows_its_error_above_the_last_page(running) -> None:
    glossary = running.project / "glossary" / "sv.yaml"
    good = glossary.read_text(encoding="utf-8")
    page = running.after(lambda: glossary.write_text("tables: [T1, T2\n", encoding="utf-8"))
    heading = Glossary.load(PACKAGE_CONTENT / "glossary", "sv")["preview.error"]
    assert 'role="alert"' in page and heading in page and str(glossary) in page
    assert "En mening som just skrevs till." in page, "the last good report stays"
    assert any(str(glossary) in line for line in running.logged if line.startswith("error:"))
    page = running.after(lambda: glossary.write_text(good, encoding="utf-8"))
    assert 'role="alert"' not in page


def test_changed_data_are_analysed_again_and_broken_data_shown_as_an_error(running) -> None:
    original = pd.read_csv(running.data, dtype=str, keep_default_na=False)
    fewer = original.iloc[:-28]
    drawn, before = _figures(running), running.page()
    page = running.after(lambda: fewer.to_csv(running.data, index=False))
    assert fmt.integer(len(fewer), "sv") in page and fmt.integer(len(original), "sv") not in page
    assert _figures(running)["f2-sv.svg"] == drawn["f2-sv.svg"], "not drawn from the data"
    for stem in ("d1-sv", "itt-d1-sv"):  # drawn from the data: drawn again, and shown
        assert _inline(page, stem) != _inline(before, stem)
    broken = fewer.assign(arm=fewer["arm"].where(fewer.index != 0, "banan"))
    page = running.after(lambda: broken.to_csv(running.data, index=False))
    assert 'role="alert"' in page and "banan" in page and "arm" in page
    assert fmt.integer(len(fewer), "sv") in page, "the last good report stays"


def test_the_page_without_a_report_and_its_error_are_in_the_reports_language(tmp_path) -> None:
    options = RenderOptions(langs=("en",), formats=("html",))
    preview = Preview(DEFAULT_DATA, options, tmp_path, lambda _: None)
    preview.state.update(error="<script>alert(1)</script> in text/en/aim.md")
    page = preview.page()
    messages = Glossary.load(PACKAGE_CONTENT / "glossary", "en")["preview"]
    assert '<html lang="en"' in page and messages["waiting"] in page and messages["error"] in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_command_serves_until_interrupted_and_refuses_a_port_in_use(tmp_path) -> None:
    """``rehabstats preview``: the address on the terminal, the page there, Ctrl-C ends it
    cleanly (exit 0); a second preview on the same port is refused with its reason."""
    command = [sys.executable, "-m", "rehabstats", "preview", str(DEFAULT_DATA), "--lang", "en"]
    running = subprocess.Popen(
        [*command, "--port", "0"], stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        line = running.stderr.readline()
        url = re.search(r"at (http://127\.0\.0\.1:\d+/) ", line).group(1)
        deadline = time.monotonic() + WAIT
        while json.load(urllib.request.urlopen(url + "__version"))["version"] == 0:
            assert time.monotonic() < deadline and running.poll() is None
            time.sleep(0.2)
        assert '<html lang="en"' in urllib.request.urlopen(url).read().decode("utf-8")
        port = url.rsplit(":", 1)[1].strip("/")
        taken = subprocess.run(
            [*command, "--port", port], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert taken.returncode == 2 and f"--port {port}: cannot serve" in taken.stderr
        running.send_signal(signal.SIGINT)
        assert running.wait(timeout=60) == 0
    finally:
        running.kill()
