"""A .sav read ahead while the toolkit is imported (surveykit/prefetch.py) gives exactly what reading it then
would: the same data, labels, problems and errors; a file changed since, another questionnaire or another file
is read afresh, and a read-ahead nobody takes is stopped."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from surveykit import prefetch
from surveykit.errors import SurveyKitError
from surveykit.questionnaire import available_specs, load_spec
from surveykit.read import read_raw

PSPP = Path(__file__).parent / "fixtures" / "pspp"
needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or (os.cpu_count() or 1) < 2,
                                reason="reading ahead needs fork and a second core")


@pytest.fixture(autouse=True)
def nothing_pending():
    yield
    for job in prefetch._pending.values():
        job.cancel()
    prefetch._pending.clear()


def _same(a, b):
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_frame_equal(a.problems, b.problems)
    assert (a.value_labels, a.checksum) == (b.value_labels, b.checksum)


@needs_fork
@pytest.mark.parametrize("name", ["ascs-small.sav", "ascs-small.zsav"])
def test_a_return_read_ahead_is_the_return_read_now(name):
    spec = load_spec("ascs", "2020-21")
    now = read_raw(PSPP / name, spec)
    prefetch.start_reading(PSPP / name, "ascs", "2020-21")
    assert len(prefetch._pending) == 1
    _same(read_raw(PSPP / name, spec), now)
    assert not prefetch._pending          # taken


@needs_fork
def test_the_latest_year_is_read_ahead_when_none_is_given():
    prefetch.start_reading(PSPP / "ascs-small.sav", "ascs", None)
    ((_, survey, year),) = prefetch._pending
    assert (survey, year) == ("ascs", max(y for s, y in available_specs() if s == "ascs"))


@needs_fork
def test_a_file_changed_since_is_read_again(tmp_path):
    spec = load_spec("ascs", "2020-21")
    path = tmp_path / "return.sav"
    shutil.copy(PSPP / "ascs-small.sav", path)
    prefetch.start_reading(path, "ascs", "2020-21")
    time.sleep(0.01)
    shutil.copy(PSPP / "ascs-ascof-items.sav", path)   # another return under the same name
    expected = read_raw(PSPP / "ascs-ascof-items.sav", spec)
    got = read_raw(path, spec)
    pd.testing.assert_frame_equal(got.data.drop(columns="_file"), expected.data.drop(columns="_file"))
    assert got.checksum == expected.checksum and not prefetch._pending   # the stale read-ahead was stopped


@needs_fork
def test_another_questionnaire_is_read_afresh():
    prefetch.start_reading(PSPP / "ascs-small.sav", "ascs", "2021-22")
    spec = load_spec("ascs", "2020-21")
    job = next(iter(prefetch._pending.values()))
    _same(read_raw(PSPP / "ascs-small.sav", spec), read_raw(PSPP / "ascs-small.sav", spec))
    assert not prefetch._pending
    job.proc.join(5)
    assert not job.proc.is_alive()       # cancelled, not left running


@needs_fork
def test_a_damaged_file_read_ahead_gives_the_error_reading_it_gives(tmp_path):
    spec = load_spec("ascs", "2020-21")
    cut = tmp_path / "cut.sav"
    cut.write_bytes((PSPP / "ascs-small.sav").read_bytes()[:1500])
    with pytest.raises(SurveyKitError) as now:
        read_raw(cut, spec)
    prefetch.start_reading(cut, "ascs", "2020-21")
    with pytest.raises(SurveyKitError) as ahead:
        read_raw(cut, spec)
    assert str(ahead.value) == str(now.value)
    assert str(now.value).startswith(f"{cut}: not a readable SPSS file")


def test_only_spss_files_are_read_ahead(tmp_path):
    csv = tmp_path / "return.csv"
    csv.write_text("LaCode,SerialNo\n211,1\n")
    prefetch.start_reading(csv, "ascs", "2020-21")
    prefetch.start_reading(tmp_path / "missing.sav", "ascs", "2020-21")
    prefetch.start_reading(tmp_path, "ascs", "2020-21")
    assert not prefetch._pending


def test_the_read_ahead_decodes_without_pandas():
    # the child decodes the cases with numpy and pyreadstat only, while the parent imports pandas
    code = ("import sys; from surveykit.prefetch import _decode; "
            f"d = _decode({str(PSPP / 'ascs-small.sav')!r}); print('pandas' in sys.modules, d.read is None, d.cases)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "True", "10"], done.stderr


def _spilled():
    shm = Path("/dev/shm")
    return sorted(shm.glob(f"surveykit-{os.getpid()}-*")) if shm.is_dir() else []


def _big(n):
    return b"x" * n


@needs_fork
def test_a_result_never_taken_leaves_nothing_in_shared_memory():
    from surveykit.contained import Alongside

    job = Alongside(_big, 4 << 20)          # large: it goes through a file in /dev/shm, not the pipe
    job.proc.join(30)
    if Path("/dev/shm").is_dir():
        assert _spilled()                   # written, and waiting to be taken
    job.cancel()
    assert not _spilled()
    taken = Alongside(_big, 4 << 20)
    assert len(taken.result()) == 4 << 20 and not _spilled()


def _frame(n):
    import numpy as np
    return pd.DataFrame({"x": np.arange(n, dtype=float), "code": pd.array([f"c{i % 7}" for i in range(n)],
                                                                            dtype="str"), "n": np.arange(n)})


@needs_fork
def test_a_large_frame_comes_back_whole_writable_and_without_a_copy():
    import numpy as np
    from surveykit.contained import Alongside

    frame = Alongside(_frame, 300_000).result()       # 7 MB: through /dev/shm, its arrays out of band
    pd.testing.assert_frame_equal(frame, _frame(300_000))
    for block in frame._mgr.blocks:                   # the numbers lie in the mapped file's pages, copy-on-write
        if isinstance(block.values, np.ndarray) and block.values.dtype.kind in "fi":
            root = block.values
            while isinstance(root, np.ndarray) and root.base is not None:
                root = root.base
            assert isinstance(root, memoryview) and block.values.flags.writeable
    frame.loc[0, "x"] = -1.0
    assert frame["x"].iloc[0] == -1.0 and not _spilled()
    assert np.array_equal(Alongside(_frame, 10).result()["n"], np.arange(10))   # small: the pipe


@needs_fork
def test_a_read_ahead_nobody_takes_is_stopped_at_exit():
    prefetch.start_reading(PSPP / "ascs-small.sav", "ascs", "2020-21")
    (job,) = prefetch._pending.values()
    prefetch._stop_all()
    assert not prefetch._pending and not job.proc.is_alive() and not _spilled()
