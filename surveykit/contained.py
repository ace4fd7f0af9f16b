"""Parse untrusted files in a child process, so a parsing library's crash cannot take surveykit down (and run
one job alongside the parent's work, ``Alongside``).

The libraries that turn bytes into cells (the SPSS reader, the workbook reader) are compiled code: a
damaged .sav can kill the process with SIGSEGV, and a workbook naming a cell a million rows down makes the
workbook reader ask for tens of gigabytes and abort. Each file is therefore parsed in a forked child with
a memory ceiling and a time limit; the parent gets the parsed result, or one clear SurveyKitError naming
the file, and carries on with the next file. The child's stderr is silenced: library noise (Rust panics,
warnings) never reaches the user's terminal.

Where ``fork`` is unavailable (Windows, some macOS set-ups) files are parsed in-process, uncontained.
"""

from __future__ import annotations

import faulthandler
import gc
import mmap
import multiprocessing as mp
import os
import pickle
import re
import signal
import struct
import time
import traceback
import warnings
from dataclasses import dataclass
from multiprocessing.connection import wait

from surveykit.errors import SurveyKitError

MEMORY_LIMIT_BYTES = int(os.environ.get("SURVEYKIT_READ_MEMORY_MB", "6144")) * 2**20
TIME_LIMIT_SECONDS = float(os.environ.get("SURVEYKIT_READ_SECONDS", "600"))
_CAN_FORK = "fork" in mp.get_all_start_methods() and os.environ.get("SURVEYKIT_CONTAIN", "1") != "0"
# A result larger than this comes back through a file in memory-backed /dev/shm (where there is one) rather than
# the pipe: a national .sav parses to about 60 MB, which the pipe passes in a thousand pieces (0.2 s); the
# parent maps that file, so the arrays are neither read nor unpickled into new memory (0.16 s less)
_BY_FILE_BYTES = 1 << 20
_ALIGN = 64                     # where each array starts in a spill file: aligned as numpy allocates
_SHM = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None


@dataclass
class Outcome:
    """What parsing one file gave: ``value``, or ``error`` (a SurveyKitError naming the file)."""
    value: object = None
    error: SurveyKitError | None = None


def contained(fn, *args, file=None, what="file"):
    """``fn(*args)`` in a child process; its result, or the SurveyKitError it raised or its crash became."""
    (outcome,) = run_all([(fn, args, file, what)])
    if outcome.error is not None:
        raise outcome.error
    return outcome.value


def run_all(jobs, workers: int = 1, on_done=None) -> list[Outcome]:
    """Run ``jobs`` (fn, args, file, what) in children, ``workers`` at a time; outcomes in job order.

    ``on_done(index)`` is called as each finishes (for a progress bar)."""
    if not _CAN_FORK:
        outcomes = []
        for i, (fn, args, file, what) in enumerate(jobs):
            outcomes.append(_in_process(fn, args, file, what))
            if on_done:
                on_done(i)
        return outcomes
    ctx = mp.get_context("fork")
    outcomes: list[Outcome | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))[::-1]
    running: dict = {}   # connection -> (index, process, started, spill file)
    workers = max(1, int(workers))
    while pending or running:
        while pending and len(running) < workers:
            i = pending.pop()
            fn, args, file, what = jobs[i]
            receive, send = ctx.Pipe(duplex=False)
            spill = _spill_name()
            proc = ctx.Process(target=_child, args=(send, fn, args, spill), daemon=True)
            proc.start()
            send.close()
            running[receive] = (i, proc, time.monotonic(), spill)
        now = time.monotonic()
        deadline = min(started + TIME_LIMIT_SECONDS for _, _, started, _ in running.values())
        ready = wait(list(running), timeout=max(0.0, deadline - now))
        if not ready:  # the oldest child ran out of time
            conn = min(running, key=lambda c: running[c][2])
            i, proc, _, spill = running.pop(conn)
            proc.kill()
            proc.join()
            conn.close()
            _remove(spill)
            _, _, file, what = jobs[i]
            outcomes[i] = Outcome(error=_too_long(what, file))
            if on_done:
                on_done(i)
            continue
        for conn in ready:
            i, proc, _, spill = running.pop(conn)
            _, _, file, what = jobs[i]
            status, payload = _receive(conn, spill)
            conn.close()
            proc.join()
            _remove(spill)
            outcomes[i] = _outcome(status, payload, proc.exitcode, file, what)
            if on_done:
                on_done(i)
    return outcomes


def can_run_alongside() -> bool:
    """Whether ``Alongside`` work runs in a child beside the parent's (fork, and a core to spare)."""
    return _CAN_FORK and (os.cpu_count() or 1) > 1


class Alongside:
    """``fn(*args)`` run in a forked child while the parent gets on with other work (on a machine of two cores
    or more: the annex beside the ASCOF tables, a return parsed while the toolkit is imported); ``result()``
    waits for it and gives its value, or raises the SurveyKitError it raised. Given the ``file`` it parses, a
    crash or a parse longer than the time limit is that file's error, as in ``contained``, and it is parsed in a
    child even on one core. Without fork it runs in-process when ``result()`` is called. ``daemon=False`` lets
    the child start processes of its own; the caller must then see it stopped (``cancel``) on every path."""

    def __init__(self, fn, *args, what="job", file=None, daemon=True):
        self.fn, self.args, self.what, self.file = fn, args, what, file
        self.proc = self.conn = self.spill = None
        self.started = time.monotonic()
        # a file's parse is contained whatever the cores (as in ``contained``); other work forks only to overlap
        if (file is not None and _CAN_FORK) or can_run_alongside():
            ctx = mp.get_context("fork")
            self.conn, send = ctx.Pipe(duplex=False)
            self.spill = _spill_name()
            self.proc = ctx.Process(target=_child, args=(send, fn, args, self.spill), daemon=daemon)
            gc.freeze()          # the child's garbage collections leave the parent's objects (and pages) alone
            try:
                self.proc.start()
            finally:
                gc.unfreeze()
            send.close()

    def result(self):
        if self.proc is None:
            if self.file is not None:
                outcome = _in_process(self.fn, self.args, self.file, self.what)
                if outcome.error is not None:
                    raise outcome.error
                return outcome.value
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return self.fn(*self.args)
        if self.file is not None and not self.conn.poll(max(0.0, self.started + TIME_LIMIT_SECONDS
                                                            - time.monotonic())):
            self.cancel()
            self.conn.close()
            raise _too_long(self.what, self.file)
        status = None
        try:
            status, payload = _receive(self.conn, self.spill)
        finally:
            self.conn.close()
            # a crash needs the exit code, and a child with processes of its own (daemon=False) is seen gone
            # with them; any other child that has sent its result is not waited for while it exits (its memory
            # freed: 10 ms after the annex): multiprocessing reaps it at the next start or at exit
            if status not in ("ok", "error") or not self.proc.daemon:
                self.proc.join()
            _remove(self.spill)
        if status in ("ok", "error") or self.file is not None:
            outcome = _outcome(status, payload, self.proc.exitcode, self.file, self.what)
            if outcome.error is not None:
                raise outcome.error
            return outcome.value
        # not the user's files: a bug or the machine (the command's guard says so in one line)
        raise RuntimeError(f"{self.what} stopped in its worker process ({status}"
                           f"{', exit code ' + str(self.proc.exitcode) if self.proc.exitcode else ''}): {payload}")

    def cancel(self) -> None:
        """Stop the child (if it still runs) and remove any result it left: nothing of it stays behind."""
        if self.proc is not None:
            if self.proc.is_alive():
                self.proc.kill()
            self.proc.join()
            _remove(self.spill)


def _too_long(what: str, file) -> SurveyKitError:
    return SurveyKitError(f"not read: parsing this {what} took longer than {TIME_LIMIT_SECONDS:.0f} s", file=file)


def die_with_parent() -> None:
    """Linux: the child is killed when the parent dies (a run killed with SIGKILL leaves no worker writing)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError, TypeError):
        pass


def _child(send, fn, args, spill: str | None = None) -> None:
    """In the child: limit memory, silence stderr, run, send back the result or the error."""
    if os.getppid() == 1:   # the parent died before this line
        os._exit(1)
    die_with_parent()
    try:
        import resource

        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = MEMORY_LIMIT_BYTES if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT_BYTES, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, ValueError, OSError):
        pass
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    faulthandler.disable()   # a crash here is reported by the parent, not dumped on the terminal
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # the parent handles Ctrl-C
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = ("ok", fn(*args))
    except SurveyKitError as exc:
        result = ("error", (exc.message, exc.file, exc.row, exc.column, exc.value))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001 - any library failure on bad bytes is the file's fault
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        result = ("failed", detail)
    try:
        buffers = []   # arrays out of band only where a spill file can hold them; else one pickle, made once
        data = pickle.dumps(result, protocol=5, buffer_callback=buffers.append if spill else None)
        parts = [data] + [buffer.raw() for buffer in buffers]
    except Exception:  # noqa: BLE001 - an unpicklable result is our bug, reported as such
        data = pickle.dumps(("failed", "internal error: result could not be returned\n" + traceback.format_exc()))
        parts = [data]
    if spill and sum(_size(part) for part in parts) > _BY_FILE_BYTES:
        message = _by_file(parts, spill)
    else:
        message = b"P" + (_in_band(parts) if len(parts) > 1 else data)
    send.send_bytes(message)
    send.close()


_SPILL = re.compile(r"surveykit-(\d+)-[0-9a-f]{16}\.pickle")   # _spill_name's names: the pid, then 8 random bytes
_swept = False                                                 # this process has removed stale spills


def _spill_name() -> str | None:
    """Where a child may write a large result: a name the parent chooses, so that the parent can remove the
    file whatever becomes of the child (killed mid-write, or its result never taken)."""
    if _SHM is None:
        return None
    global _swept
    if not _swept:
        _swept = True
        remove_stale_spills(_SHM)
    return os.path.join(_SHM, f"surveykit-{os.getpid()}-{os.urandom(8).hex()}.pickle")


def remove_stale_spills(folder: str) -> list[str]:
    """Remove the spill files that runs killed outright (SIGKILL, or a signal Python does not catch) left in
    ``folder``: those of processes no longer running. /dev/shm is memory, and a national return's spill is 65 MB.
    A process that still runs, or that belongs to another user, keeps its files. Returns the names removed."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for name in names:
        found = _SPILL.fullmatch(name)
        if found is None or int(found.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(found.group(1)), 0)
            continue                      # still running (or not ours to signal): left alone
        except ProcessLookupError:
            pass
        except (PermissionError, OverflowError):
            continue
        path = os.path.join(folder, name)
        try:
            if os.stat(path).st_uid == os.getuid():
                os.unlink(path)
                removed.append(name)
        except OSError:
            pass
    return removed


def _by_file(parts: list, name: str) -> bytes:
    """The result written to a new private file (it must not exist: O_EXCL): the pickle, then the arrays' memory
    it refers to out of band (pickle protocol 5), each at a 64-byte boundary, so that the parent maps the file
    and its arrays use those pages where they lie, with no copy. What goes down the pipe is only a mark that
    it is there (the parent reads the file it named, never one a child names)."""
    sizes = [_size(part) for part in parts]
    header = struct.pack(f"<Q{len(sizes)}Q", len(sizes), *sizes)
    try:
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            at = out.write(header)
            for part in parts:
                at += out.write(b"\0" * (-at % _ALIGN))
                at += out.write(part)
    except OSError:
        _remove(name)
        return b"P" + _in_band(parts)
    return b"F"


def _size(part) -> int:
    return part.nbytes if isinstance(part, memoryview) else len(part)


def _in_band(parts: list) -> bytes:
    """The result as one pickle, its arrays inside (when the spill file cannot be written)."""
    return pickle.dumps(pickle.loads(parts[0], buffers=parts[1:]), protocol=pickle.HIGHEST_PROTOCOL)


def _remove(name: str | None) -> None:
    if name:
        try:
            os.unlink(name)
        except OSError:
            pass


def _receive(conn, spill: str | None) -> tuple:
    """(status, payload) the child sent; ("crashed", None) when it died before sending."""
    try:
        message = conn.recv_bytes()
        if message == b"F" and spill:
            return _mapped(spill)
        if message[:1] != b"P":
            raise pickle.UnpicklingError("unexpected message from a child")
        return pickle.loads(message[1:])
    except (EOFError, OSError, ValueError, struct.error, pickle.UnpicklingError):
        return "crashed", None


def _mapped(spill: str) -> tuple:
    """The result in the spill file: the file mapped copy-on-write (its arrays stay where the child put them and
    may be written to without touching the file), then removed; the mapping lives as long as the arrays."""
    try:
        with open(spill, "rb") as source:
            whole = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_COPY)
    finally:
        _remove(spill)
    view = memoryview(whole)
    count = struct.unpack_from("<Q", view)[0]
    sizes = struct.unpack_from(f"<{count}Q", view, 8)
    parts, at = [], 8 + 8 * count
    for size in sizes:
        at += -at % _ALIGN
        if at + size > len(view):
            raise pickle.UnpicklingError("the result file is shorter than it says")
        parts.append(view[at:at + size])
        at += size
    return pickle.loads(parts[0], buffers=parts[1:])


def _outcome(status, payload, exitcode, file, what) -> Outcome:
    if status == "ok":
        return Outcome(value=payload)
    if status == "error":
        message, efile, row, column, value = payload
        return Outcome(error=SurveyKitError(message, file=efile or file, row=row, column=column, value=value))
    if status == "memory":
        return Outcome(error=SurveyKitError(f"not a readable {what}: it needs more memory than the "
                                            f"{MEMORY_LIMIT_BYTES // 2**20} MB allowed (damaged, or far too large?)",
                                            file=file))
    if status == "failed":
        return Outcome(error=SurveyKitError(f"not a readable {what} (damaged or truncated?): {payload}", file=file))
    how = "crashed"
    if exitcode is not None and exitcode < 0:
        sig = -exitcode
        how = {signal.SIGSEGV: "crashed (segmentation fault)", signal.SIGABRT: "ran out of memory or aborted",
               signal.SIGKILL: "was killed (out of memory?)", signal.SIGBUS: "crashed (bus error)"}.get(sig, how)
    return Outcome(error=SurveyKitError(f"not a readable {what}: the reader {how} on it (damaged file?)", file=file))


def _in_process(fn, args, file, what) -> Outcome:
    from surveykit.read.cells import unreadable   # the messages a contained child's failures also get

    try:
        with warnings.catch_warnings(), unreadable(file, what):
            warnings.simplefilter("ignore")
            return Outcome(value=fn(*args))
    except SurveyKitError as exc:
        return Outcome(error=exc)


def worker_count(n_files: int) -> int:
    """Children to run at once for ``n_files``: one per core, at most the number of files."""
    return max(1, min(n_files, os.cpu_count() or 1))

