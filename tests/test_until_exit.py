"""until_exit: what the command holds stays alive; outside the command nothing is kept."""

import gc
import weakref

from surveykit import until_exit


class _Big:
    pass


def test_outside_the_command_hold_keeps_nothing(monkeypatch):
    monkeypatch.setattr(until_exit, "_held", None)
    thing = _Big()
    alive = weakref.ref(thing)
    until_exit.hold(thing)
    del thing
    gc.collect()
    assert alive() is None


def test_once_the_command_asks_held_objects_outlive_their_frames(monkeypatch):
    monkeypatch.setattr(until_exit, "_held", None)
    until_exit.keep_until_exit()

    def a_run():
        thing = _Big()
        until_exit.hold(thing, None)
        return weakref.ref(thing)

    alive = a_run()
    gc.collect()
    assert alive() is not None
    until_exit.keep_until_exit()       # asking again keeps what is held
    assert alive() is not None
