"""Tests for surveykit.row_names: a caterpillar plot's names drawn by one RowNames artist make the same PNG
pixels and the same SVG bytes as the figure drawn with one matplotlib Text per name (the way its names were
drawn before), with matplotlib's own savefig and with surveykit's figure files; and each name's box is the
one its Text would have."""

import io

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import ScaledTranslation

from surveykit import plots
from surveykit.figure_files import png_bytes, write_svg
from surveykit.row_names import RowNames
from test_plots import NAMES, results_for


def names_as_texts(ax, y, names, size, highlight=None):
    """The reference: one Text per name, at the place and with the marks plots._row_labels gives them."""
    from matplotlib import lines as mlines

    ax.set_yticks([])
    rc = matplotlib.rcParams
    tick_size, tick_pad = rc["ytick.major.size"], rc["ytick.major.pad"]
    base = ax.get_yaxis_transform(which="tick1")
    ax.plot(np.zeros(len(y)), y, linestyle="", marker=mlines.TICKLEFT, markersize=tick_size,
            markeredgewidth=rc["ytick.major.width"], color=rc["ytick.color"], transform=base,
            clip_on=False, zorder=2.5)
    place = base + ScaledTranslation(-(tick_size + tick_pad) / 72, 0, ax.figure.dpi_scale_trans)
    colour = rc["ytick.color"] if rc["ytick.labelcolor"] == "inherit" else rc["ytick.labelcolor"]
    highlight = np.zeros(len(y), bool) if highlight is None else np.asarray(highlight, bool)
    return [ax.text(0, yy, name, transform=place, ha="right", va=rc["ytick.alignment"], fontsize=size,
                    color=plots.HIGHLIGHT if chosen else colour, fontweight="bold" if chosen else "normal",
                    clip_on=False)
            for yy, name, chosen in zip(y, names, highlight)]


def caterpillar(monkeypatch=None):
    """A 150-council caterpillar plot, one council highlighted (its name bold), one name with a "$"."""
    results = results_for(150)
    results.loc[results["area_code"] == "E610", "area_name"] = "Council of $5 and $6"
    if monkeypatch is not None:
        monkeypatch.setattr(plots, "_row_labels", names_as_texts)
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
        assert [a for a in fig.axes[0].get_children() if isinstance(a, RowNames)]
        assert not fig.axes[0].texts
        assert matplotlibs_files(fig) == matplotlibs_files(reference)
        assert our_files(fig, tmp_path, "names") == our_files(reference, tmp_path, "texts")


def test_each_names_box_is_the_box_of_its_text(monkeypatch):
    with monkeypatch.context() as patched:
        reference = caterpillar(patched)
    fig = caterpillar()
    texts = reference.axes[0].texts
    (names,) = [a for a in fig.axes[0].get_children() if isinstance(a, RowNames)]
    renderer = FigureCanvasAgg(fig).get_renderer()
    FigureCanvasAgg(reference)
    expected = [t.get_window_extent(renderer).bounds for t in texts]
    assert [b.bounds for b in names.label_extents(renderer)] == expected
    assert names.names == [t.get_text() for t in texts]
    whole = names.get_window_extent(renderer)
    assert whole.x0 == min(b[0] for b in expected) and whole.y1 == max(b[1] + b[3] for b in expected)
