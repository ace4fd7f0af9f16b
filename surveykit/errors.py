"""One exception type for problems a user can fix, always saying where the problem is; and the guard that keeps
library warnings (pandas, numpy's RuntimeWarnings, openpyxl, pyreadstat) off the user's terminal."""

import contextlib
import warnings


class SurveyKitError(Exception):
    """A problem with an input (file, spec, design) that a user can fix.

    The message names the file, row and column when they are known, so the command line can
    print it on one line instead of a traceback.
    """

    def __init__(self, message, *, file=None, row=None, column=None, value=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        self.value = value
        super().__init__(str(self))

    def __reduce__(self):
        """Pickled whole (file, row, column, value kept), as when raised in a worker process."""
        return (_rebuild, (type(self), self.message, self.file, self.row, self.column, self.value))

    def __str__(self):
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


def _rebuild(cls, message, file, row, column, value):
    return cls(message, file=file, row=row, column=column, value=value)


@contextlib.contextmanager
def quiet_warnings():
    """Library warnings are not the user's business: what matters about their input is a problem or an error
    (the command's jobs run inside this; parsing children silence theirs too, contained.py)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def command_guard(file=None):
    """What the commands (run, check, report) run inside: library warnings hidden, and anything but a
    SurveyKitError (a bug, never the user's fault) turned into one line that says so, the cause chained for
    whoever debugs it. The tests' fuzzing fails on that line, so it hides no bug from them."""
    try:
        with quiet_warnings():
            yield
    except (SurveyKitError, KeyboardInterrupt):
        raise
    except MemoryError as exc:
        raise SurveyKitError("ran out of memory: the inputs are far larger than a national return",
                             file=file) from exc
    except Exception as exc:  # noqa: BLE001 - the command line never shows a traceback
        detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
        raise SurveyKitError(f"internal error, not a problem with your files (please report it with the command "
                             f"you ran): {detail}", file=file) from exc
