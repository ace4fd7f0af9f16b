"""A run's large objects kept until the command exits, so that they are never freed one by one.

The command leaves with ``os._exit`` (cli.command): the interpreter is not torn down object by object. A
run's own frames would still free their frames, arrays and text columns as they return, after the last output
is in place: about 20 ms in the parent and 5 ms in the annex's child on a national return. ``hold`` hands them
to a list that is never emptied, once the command has called ``keep_until_exit``. A notebook or a test never
calls it, so there ``hold`` does nothing and memory is freed as usual."""

_held: list | None = None


def keep_until_exit() -> None:
    """From now on, in this process and the children it forks, ``hold`` keeps what it is given."""
    global _held
    if _held is None:
        _held = []


def hold(*objects) -> None:
    """Keep ``objects`` alive until the process exits, if the command asked for that; else nothing."""
    if _held is not None:
        _held.extend(objects)
