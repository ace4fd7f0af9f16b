"""Tests for surveykit.row_names: a caterpillar plot's names drawn by one RowNames artist make the same PNG
pixels and the same SVG bytes as the figure drawn with one matplotlib Text per name (the way its names were
drawn before), with matplotlib's own savefig and with surveykit's figure files; and each name's box is the
one its Text would have."""

import io

import matplotlib
import matplotlib.artist
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.text import Text

from surveykit import plots
from surveykit.figure_files import png_bytes, write_svg
from test_plots import NAMES, results_for, row_names


class NamesAsTexts(matplotlib.artist.Artist):
    """The reference: one Text per name, with the place and properties plots._row_labels gives RowNames, each
    drawn by Text.draw in turn (as the names were drawn before RowNames)."""

    zorder = Text.zorder

    def __init__(self, y, names, *, transform, size, va, colour, highlight=None, bold=None):
        super().__init__()
        bold = np.zeros(len(y), bool) if bold is None else np.asarray(bold, bool)
        self.texts = [Text(0, yy, name, transform=transform, ha="right", va=va, fontsize=size,
                           color=highlight if chosen else colour, fontweight="bold" if chosen else "normal",
                           clip_on=False)
                      for yy, name, chosen in zip(y, names, bold)]

    def set_figure(self, fig):
        super().set_figure(fig)
        for text in self.texts:
            text.set_figure(fig)

    def draw(self, renderer):
        for text in self.texts:
            text.draw(renderer)


def caterpillar(monkeypatch=None):
    """A 150-council caterpillar plot, one council highlighted (its name bold), one name with a "$"."""
    results = results_for(150)
    results.loc[results["area_code"] == "E610", "area_name"] = "Council of $5 and $6"
    if monkeypatch is not None:
        monkeypatch.setattr(plots, "RowNames", NamesAsTexts)
    return plots.caterpillar_plot(results, "1B", measure_name=NAMES["1B"], highlight="E605")


def matplotlibs_files(fig):
    png, svg = io.BytesIO(), io.BytesIO()
    fig.savefig(png, format="png", dpi=150, facecolor="white", metadata={"Software": None})
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "surveykit"}):
        fig.savefig(svg, format="svg", dpi=150, facecolor="white", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def our_files(fig, tmp_path, name):
    png = png_bytes(fig)
    write_svg(fig, tmp_path / f"{name}.svg")
    return png, (tmp_path / f"{name}.svg").read_bytes()


@pytest.mark.parametrize("alignment", ["center_baseline", "center", "top"])
def test_row_names_draw_what_one_text_per_name_draws(alignment, monkeypatch, tmp_path):
    with matplotlib.rc_context({"ytick.alignment": alignment}):
        with monkeypatch.context() as patched:
            reference = caterpillar(patched)
        fig = caterpillar()
        assert row_names(fig.axes[0])
        assert [a for a in reference.axes[0].get_children() if isinstance(a, NamesAsTexts)]
        assert matplotlibs_files(fig) == matplotlibs_files(reference)
        assert our_files(fig, tmp_path, "names") == our_files(reference, tmp_path, "texts")


def test_each_names_box_is_the_box_of_its_text(monkeypatch):
    with monkeypatch.context() as patched:
        reference = caterpillar(patched)
    fig = caterpillar()
    (reference_names,) = [a for a in reference.axes[0].get_children() if isinstance(a, NamesAsTexts)]
    texts = reference_names.texts
    names = row_names(fig.axes[0])
    renderer = FigureCanvasAgg(fig).get_renderer()
    expected = [t.get_window_extent(renderer).bounds for t in texts]
    assert [b.bounds for b in names.label_extents(renderer)] == expected
    assert names.names == [t.get_text() for t in texts]
    whole = names.get_window_extent(renderer)
    assert whole.x0 == min(b[0] for b in expected) and whole.y1 == max(b[1] + b[3] for b in expected)
