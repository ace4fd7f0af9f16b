"""Writing safely: whole files or nothing, and a run's output folder swapped in whole.

``atomic_write`` writes a file beside its target and renames it into place, so an interrupted run never
leaves a half-written file where a previous good one stood. ``OutputFolder`` does the same for a run's whole
folder: every file is written into a fresh folder beside ``--out`` (``.results.new-XXXX``); only when all of
them are written is the old folder moved aside, the new one renamed into its place and the old one deleted.
So ``ascof.csv`` never sits beside an older ``run.json``, and plots from an earlier run never survive into a
later one. If a run dies between the two renames, the next run puts the previous folder back before it starts.
``check_out`` refuses an output path that cannot be a folder before any work is done; ``recover`` is that
repair, which ``run`` makes before anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from surveykit.errors import SurveyKitError


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path, write_fn: Callable[[Path], object]) -> Path:
    """Write ``path`` via ``write_fn(tmp_path)`` and a rename: the file is whole or untouched.

    The temporary file sits in the same folder (so ``os.replace`` is atomic) and is removed if
    ``write_fn`` fails. Problems the user can fix (missing folder, no permission) raise
    SurveyKitError naming the file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise SurveyKitError(f"cannot write: folder {folder} does not exist", file=path)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    except OSError as exc:
        raise SurveyKitError(f"cannot write: {exc.strerror}", file=path) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write_fn(tmp)
        with open(tmp, "rb+") as fh:  # the bytes reach the disk before the name points at them
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise SurveyKitError(f"cannot write: {exc.strerror or exc}", file=path) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------------------- folders

_NEW, _OLD = ".new-", ".old-"
MAX_NAME = 255


def check_out(out) -> Path:
    """``out`` as a folder surveykit may write: refused if it is a file, a dangling link, under a file, or
    a name the file system cannot hold. Nothing is created."""
    out = Path(out)
    text = str(out)
    if not text.strip():
        raise SurveyKitError("the output folder name is empty", file=text)
    for part in out.parts:
        if len(part.encode()) > MAX_NAME - 20:
            raise SurveyKitError(f"the name {part[:40]!r}... is {len(part)} characters: too long for a folder "
                                 f"name here (at most {MAX_NAME - 20})", file=text)
    if out.is_symlink() and not out.exists():
        raise SurveyKitError("the output folder is a link to something that does not exist", file=text)
    if out.exists() and not out.is_dir():
        raise SurveyKitError("the output folder is an existing file: give a folder", file=text)
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SurveyKitError(f"cannot make a folder here: {parent} is a file", file=text)
            if not os.access(parent, os.W_OK | os.X_OK):
                raise SurveyKitError(f"cannot write in {parent}: permission denied", file=text)
            break
    return out


class OutputFolder:
    """``with OutputFolder(out) as tmp:`` write everything into ``tmp``; on success it becomes ``out``."""

    def __init__(self, out):
        self.out = check_out(out)
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        parent = self.out.parent
        parent.mkdir(parents=True, exist_ok=True)
        recover(self.out)
        try:
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}{_NEW}", dir=parent))
        except OSError as exc:
            raise SurveyKitError(f"cannot write: {exc.strerror}", file=self.out) from exc
        return self.tmp

    def __exit__(self, kind, exc, tb) -> bool:
        if kind is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        try:
            if self.out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}{_OLD}", dir=self.out.parent))
                os.rmdir(old)
                os.rename(self.out, old)
            os.rename(self.tmp, self.out)
        except OSError as error:      # not ``exc``: that is the with-block's own exception, None here
            if old is not None and old.exists() and not self.out.exists():
                os.rename(old, self.out)
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise SurveyKitError(f"cannot put the results in place: {error.strerror or error}",
                                 file=self.out) from error
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return False


def recover(out) -> None:
    """Undo what a run killed mid-swap left: the previous folder back in place, stray new folders removed.
    Safe to call at any time (``run`` calls it before any work, so a killed run never leaves ``--out``
    missing for longer than the next run's first moment)."""
    out = Path(out)
    parent = out.parent
    if not parent.is_dir():
        return
    olds = sorted(parent.glob(f".{out.name}{_OLD}*"), key=lambda p: p.stat().st_mtime)
    if olds and not out.exists():
        os.rename(olds[-1], out)
        olds = olds[:-1]
    for stray in [*olds, *parent.glob(f".{out.name}{_NEW}*")]:
        shutil.rmtree(stray, ignore_errors=True)
