"""One exception type for problems a user can fix, always saying where the problem is."""


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
