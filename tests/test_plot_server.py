"""Tests for surveykit.plot_server: the figures drawn by the process forked early are the files write_plots
draws; its errors are one clear error; stopped, it leaves no process and no file; and the run's own process
never imports matplotlib."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from surveykit import plots
from surveykit.contained import can_run_alongside
from surveykit.errors import SurveyKitError
from surveykit.plot_server import PlotServer
from test_plots import _measure, _Spec, results_for

needs_fork = pytest.mark.skipif(not can_run_alongside(), reason="the server is a forked process: fork and two cores")


def spec():
    return _Spec({"1B": _measure("Control over daily life", "proportion"),
                  "1A": _measure("Social care-related quality of life", "mean")})


@needs_fork
def test_the_server_draws_the_files_write_plots_draws(tmp_path):
    results = results_for(25)
    server = PlotServer(spec(), spine_councils=["E603"])
    assert server.job.proc.is_alive()                       # started before the results exist
    server.draw(results, tmp_path / "served")
    served = server.wait()
    drawn = plots.write_plots(results, spec(), tmp_path / "drawn", spine_councils=["E603"], workers=1)
    assert [p.name for p in served] == [p.name for p in drawn]      # in write_plots' order (test_plots.py)
    assert len(served) == 10 and all(a.read_bytes() == b.read_bytes() for a, b in zip(served, drawn))
    assert not server.job.proc.is_alive()


@needs_fork
def test_an_error_in_the_server_is_one_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    server = PlotServer(spec())
    server.draw(results_for(5), blocker / "plots")
    with pytest.raises(SurveyKitError, match="not-a-folder") as raised:
        server.wait()
    assert Path(raised.value.file).parent == blocker / "plots"
    assert not server.job.proc.is_alive()


@needs_fork
def test_stopped_before_the_results_the_server_is_gone():
    server = PlotServer(spec())
    server.cancel()
    assert not server.job.proc.is_alive()
    server.cancel()                                          # twice is harmless (the run's error paths)


def _children(pid) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _gone(pid) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@needs_fork
@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs Linux's /proc children list")
def test_stopped_while_drawing_the_server_and_its_workers_are_gone(tmp_path):
    server = PlotServer(spec())
    server.draw(results_for(150), tmp_path / "plots")
    deadline = time.monotonic() + 30
    while not (workers := _children(server.job.proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert workers, "the server started no workers"
    server.cancel()
    assert not server.job.proc.is_alive()
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert all(_gone(pid) for pid in workers)
    assert not [p for p in (tmp_path / "plots").glob("*") if ".tmp" in p.name or p.name.startswith(".")]


@needs_fork
def test_the_runs_own_process_never_imports_matplotlib(tmp_path):
    script = ("import sys\n"
              "from surveykit.cli import main\n"
              f"code = main(['demo', '--out', {str(tmp_path / 'out')!r}, '--plots', '--quiet'])\n"
              "assert code == 0, code\n"
              "assert 'matplotlib' not in sys.modules, 'the run imported matplotlib'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(list((tmp_path / "out" / "plots").glob("*.png"))) > 2
