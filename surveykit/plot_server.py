"""The figures of ``surveykit run --plots``, drawn by a process forked as soon as the return is read.

Importing matplotlib and the plots module takes about a quarter of a second, and the figures can be drawn only
once the ASCOF measures exist. So the run forks this process before it validates the return, on the core
that would otherwise wait: the process imports them then, and waits for the results. Given them (``draw``),
it draws the first figure itself, then the others with workers forked from it (plots.py), which so start with
the texts it laid out, while the run writes its tables; ``wait`` gives the paths. The run's own process never
imports matplotlib. Without fork or a second core the figures are drawn in the run's process, by ``wait``, as
``plots.write_plots`` draws them.
"""

from __future__ import annotations

import atexit
import multiprocessing as mp
from importlib import import_module
from multiprocessing.connection import wait as wait_for
from pathlib import Path

from surveykit.contained import Alongside, can_run_alongside

STOP_SECONDS = 60          # a figure being drawn when the run stops is finished, within this, then the workers go


class PlotServer:
    """The run's figures: started with what is known before the results (the spec, --spine councils)."""

    def __init__(self, spec, spine_councils=(), progress: bool = False):
        self.spec, self.spine_councils, self.progress = spec, list(spine_councils), progress
        self.results = self.out_dir = None
        self.job = None
        if can_run_alongside():
            # the run needs scipy.special for its intervals (ci.py) and the plots for their comparisons
            # (compare.py): imported here, before the fork, it is imported once rather than in each process
            import_module("scipy.special")

            ctx = mp.get_context("fork")
            inbox, self._give = ctx.Pipe(duplex=False)        # results to the server
            self._news, tell = ctx.Pipe(duplex=False)         # its progress back
            # not a daemon: it has workers of its own; stopped at exit if the run has not stopped it
            self.job = Alongside(_serve, inbox, tell, spec, self.spine_councils, what="the plots", daemon=False)
            inbox.close()
            tell.close()
            atexit.register(self.cancel)

    def draw(self, results, out_dir) -> None:
        """Begin drawing ``results``'s figures into ``out_dir``."""
        self.results, self.out_dir = results, Path(out_dir)
        if self.job is not None:
            self._give.send((results, str(out_dir)))

    def wait(self) -> list[Path]:
        """The paths written (as ``plots.write_plots`` gives them), once every figure is."""
        if self.job is None:
            from surveykit.plots import write_plots

            return write_plots(self.results, self.spec, self.out_dir, spine_councils=self.spine_councils,
                               progress=self.progress)
        from tqdm.auto import tqdm

        news = self._next_news()                   # the first says how many figures: the bar's length
        with tqdm(total=news[0] if news else None, desc="plots", disable=not self.progress, unit="plot") as bar:
            while news is not None:
                bar.update(news[1] - bar.n)
                news = self._next_news()
        try:
            return [Path(p) for p in self.job.result()]
        finally:
            atexit.unregister(self.cancel)

    def _next_news(self):
        """(figures, done so far) from the server, or None once it has finished (or gone: its result says why).
        News already sent is read first, so the bar ends full."""
        while True:
            if self._news.poll():
                try:
                    return self._news.recv()
                except EOFError:
                    return None
            if self.job.conn.poll():
                return None
            wait_for([self._news, self.job.conn])

    def cancel(self) -> None:
        """Stop: figures not begun are not drawn, and the server and its workers are gone when this returns."""
        if self.job is None or self.job.proc is None:
            return
        atexit.unregister(self.cancel)
        proc = self.job.proc
        if proc.is_alive():
            proc.terminate()                       # the server stops its workers, as Plotting.cancel does
            proc.join(STOP_SECONDS)
        self.job.cancel()


def _serve(inbox, tell, spec, spine_councils) -> list[str]:
    """In the server: import the plots module now, then draw what the run sends, or nothing if it sends none."""
    import signal

    from surveykit import plots

    def stop(signum, frame):
        raise SystemExit(1)

    signal.signal(signal.SIGTERM, stop)
    try:
        results, out_dir = inbox.recv()
    except EOFError:
        return []
    plotting = plots.start_plots(results, spec, out_dir, spine_councils=spine_councils,
                                 first_here=True)      # nothing else to do here meanwhile
    done = 0
    tell.send((len(plotting.jobs), done))           # the progress bar's length, before the first figure is done

    def one_more():
        nonlocal done
        done += 1
        tell.send((len(plotting.jobs), done))

    return [str(p) for p in plotting.wait(on_done=one_more)]
