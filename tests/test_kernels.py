"""Kernels started ahead of the results: preloaded, clean, in their folder, always shut
down; a ``--by`` worker's kept from part to part, as new for each."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import nbformat
import pandas as pd
import psutil
import pytest
from jupyter_client.channels import HBChannel
from jupyter_core.utils import run_sync

from rehabstats.data.validation import ContractError
from rehabstats.engine.pipeline import Kernels, render_report
from rehabstats.engine.render import (
    Kernel,
    ReadyClient,
    RenderError,
    execute_notebook,
    started_kernel,
)


def _notebook(path: Path, source: str) -> Path:
    """A notebook with a parameters cell and one code cell."""
    parameters = nbformat.v4.new_code_cell('expected = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=[parameters, nbformat.v4.new_code_cell(source)])
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    nbformat.write(notebook, path)
    return path


def _kernels() -> list[psutil.Process]:
    """This process's kernel subprocesses that are still running."""
    children = psutil.Process().children(recursive=True)
    return [p for p in children if p.is_running() and "ipykernel" in " ".join(p.cmdline())]


def test_a_preloaded_kernel_has_the_modules_frozen_but_not_their_names(tmp_path: Path) -> None:
    check = (
        "assert 'gc' not in globals(), 'no names left'\n"
        "import gc, os, sys\n"
        "assert 'rehabstats.reporting.document' in sys.modules, 'preloaded'\n"
        "assert 'rehabstats' not in globals() and 'IPython' not in globals(), 'no names left'\n"
        "assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()\n"
        "assert os.getcwd() == expected, os.getcwd()\n"
    )
    template = _notebook(tmp_path / "check.ipynb", check)
    work = tmp_path / "work"
    work.mkdir()
    folder = Path.cwd()
    with started_kernel(
        work, preload=("IPython.display", "rehabstats.reporting.document")
    ) as kernel:
        execute_notebook(
            template, {"expected": str(work)}, work / "check.ipynb", work, kernel=kernel
        )
        process = psutil.Process(kernel.provisioner.process.pid)
        assert process.is_running()
    assert not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    assert Path.cwd() == folder, "the render job's own folder is left alone"


def test_a_notebook_without_a_kernel_given_runs_on_its_own_in_its_folder(tmp_path: Path) -> None:
    check = "import os\nassert os.getcwd() == expected, os.getcwd()\n"
    template = _notebook(tmp_path / "check.ipynb", check)
    execute_notebook(template, {"expected": str(tmp_path)}, tmp_path / "out.ipynb", tmp_path)
    assert not _kernels()


def test_refused_data_shut_the_waiting_kernels_down(tmp_path: Path, small_csv: Path) -> None:
    """The kernels start before the data are read; a refusal must not leave them running."""
    broken = tmp_path / "broken.csv"
    pd.read_csv(small_csv, dtype=str).drop(columns="arm").to_csv(broken, index=False)
    before = os.getcwd()
    with pytest.raises(ContractError, match="arm"):
        render_report(broken, tmp_path / "out", formats=["html"])
    assert not _kernels()
    assert not list(tmp_path.glob(".out.*")), "no staging folder is left behind"
    assert os.getcwd() == before


def test_reading_results_imports_no_analysis_machinery() -> None:
    """What the kernels import: no pandera, file readers or model fitting (seconds each)."""
    heavy = ("pandera", "pyreadstat", "lifelines", "scipy", "statsmodels")
    script = (
        "import sys, rehabstats.reporting.document\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert loaded == []


def test_a_kept_kernel_runs_each_notebook_as_a_new_kernel_would(tmp_path: Path) -> None:
    """A ``--by`` worker's kernel, refreshed between parts: nothing of the notebook before
    (its names, folder, execution count, study settings) is left, on the same process."""
    study = tmp_path / "study.yaml"
    dirty = (
        "import os\n"
        "from rehabstats.data.dictionary import use_study\n"
        "left_behind = 1\n"
        f"use_study({str(study)!r})\n"
        f"os.chdir({str(tmp_path)!r})\n"
    )
    check = (
        "import os\n"
        "from rehabstats.data.dictionary import use_study\n"
        "assert 'left_behind' not in globals(), 'a new namespace'\n"
        "assert os.getcwd() == expected, os.getcwd()\n"
        "assert use_study(None) is None, 'no study settings, as in a new kernel'\n"
    )
    first, second = tmp_path / "first", tmp_path / "second"
    for folder in (first, second):
        folder.mkdir()
    with Kernels(("sv",), keep=True) as kernels:
        with kernels.use("sv", first) as kernel:
            process = kernel.provisioner.process.pid
            execute_notebook(
                _notebook(tmp_path / "dirty.ipynb", dirty), {}, first / "out.ipynb", first, kernel
            )
        with kernels.use("sv", second) as kernel:
            assert kernel.provisioner.process.pid == process, "the kept kernel"
            template = _notebook(tmp_path / "check.ipynb", check)
            execute_notebook(
                template, {"expected": str(second)}, second / "out.ipynb", second, kernel
            )
    cells = nbformat.read(second / "out.ipynb", as_version=4).cells
    assert [cell.execution_count for cell in cells] == [1, 2, 3], "counted from 1"
    assert not _kernels()


def test_a_kept_kernel_whose_notebook_failed_is_not_kept(tmp_path: Path) -> None:
    template = _notebook(tmp_path / "fails.ipynb", "1 / 0")
    with Kernels(("en",), keep=True) as kernels:
        with (
            pytest.raises(RenderError, match="ZeroDivisionError"),
            kernels.use("en", tmp_path) as kernel,
        ):
            execute_notebook(template, {}, tmp_path / "out.ipynb", tmp_path, kernel)
        assert not _kernels(), "shut down at once, not kept for the next part"


def test_notebook_after_notebook_on_one_kernel_leaves_no_client_open(tmp_path: Path) -> None:
    """papermill leaves its client on a kernel it was handed open (its heartbeat thread
    running); execute_notebook closes it."""
    template = _notebook(tmp_path / "pass.ipynb", "pass")
    with started_kernel(tmp_path) as kernel:
        for run in range(3):
            execute_notebook(template, {}, tmp_path / f"run{run}.ipynb", tmp_path, kernel)
            assert not [t for t in threading.enumerate() if isinstance(t, HBChannel)], run


def test_a_worker_s_kept_kernels_stop_when_it_exits() -> None:
    """A ``--by`` worker process starts a kernel per language; its exit shuts them down."""
    script = (
        "import psutil\n"
        "from rehabstats.engine.batch import _start_worker\n"
        "_start_worker(('sv', 'en'))\n"
        "print(' '.join(str(p.pid) for p in psutil.Process().children()))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    pids = [int(pid) for pid in done.stdout.split()]
    assert len(pids) == 2
    running = [pid for pid in pids if psutil.pid_exists(pid)]
    assert [p for p in running if psutil.Process(p).status() != psutil.STATUS_ZOMBIE] == []


def test_a_kernel_listens_on_sockets_of_its_own_that_go_with_it(tmp_path: Path) -> None:
    """Unix sockets, not TCP ports another kernel starting at the same moment could take."""
    template = _notebook(tmp_path / "pass.ipynb", "pass")
    with started_kernel(tmp_path) as kernel:
        execute_notebook(template, {}, tmp_path / "out.ipynb", tmp_path, kernel)
        assert kernel.transport == "ipc"
        sockets = list(Path(kernel.ip).parent.glob(f"{Path(kernel.ip).name}-*"))
        assert len(sockets) == 5, "shell, iopub, stdin, control and heartbeat"
    assert not [path for path in sockets if path.exists()]


def test_a_new_client_is_ready_with_both_channels_carrying_the_kernel_s_messages(
    tmp_path: Path,
) -> None:
    """ReadyClient does not wait for the kernel to fall silent, as jupyter_client's
    does: each new client, ready, sees the very first output of the first cell it runs,
    twenty times over, on a kernel just started and on one that has been running."""

    async def printed(kernel: Kernel, number: int) -> str:
        client = kernel.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=30)
            assert client.shell_channel.is_alive() and client.iopub_channel.is_alive()
            messages: list[dict] = []
            reply = await client.execute_interactive(
                f"print({number})", output_hook=messages.append, timeout=30
            )
        finally:
            kernel.close_clients()
        assert reply["content"]["status"] == "ok"
        # what the cell printed, which the kernel may send in more than one message
        return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")

    with started_kernel(tmp_path) as kernel:
        assert isinstance(kernel.client(), ReadyClient)
        kernel.close_clients()
        for number in range(20):
            assert run_sync(printed)(kernel, number) == f"{number}\n"


def test_a_client_of_a_dead_kernel_says_so(tmp_path: Path) -> None:
    """A kernel killed before the client asks: RuntimeError, not a wait without end."""
    with started_kernel(tmp_path) as kernel:
        process = psutil.Process(kernel.provisioner.process.pid)
        process.kill()
        process.wait(timeout=10)
        client = kernel.client()
        client.start_channels()
        try:
            with pytest.raises(RuntimeError, match=r"died|respond"):
                run_sync(client.wait_for_ready)(timeout=5)
        finally:
            kernel.close_clients()
