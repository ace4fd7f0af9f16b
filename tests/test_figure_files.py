"""Tests for surveykit.figure_files: the PNG has exactly the pixels matplotlib's own savefig draws, and the SVG
is byte for byte the file savefig writes, for the run's figures and for text the figures do not use (turned,
not antialiased, mathtext, one string laid out several ways), on the matplotlib release installed; a string
met again is drawn from what was kept, to the same pixels."""

import io
import zlib

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

from surveykit import compare, plots
from surveykit.figure_files import encode_png, png_bytes, write_svg
from test_plots import NAMES, results_for


def matplotlibs_pixels(fig, dpi=150):
    """What matplotlib itself draws: savefig's RGBA, on a white background."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor="white")
    return np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))


def matplotlibs_svg(fig, dpi=150) -> bytes:
    buffer = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "surveykit"}):
        fig.savefig(buffer, format="svg", dpi=dpi, facecolor="white", metadata={"Date": None})
    return buffer.getvalue()


def pixels_of(png: bytes):
    image = Image.open(io.BytesIO(png))
    assert image.mode == "RGBA"
    return np.asarray(image)


def run_figures():
    results = results_for(40)
    yield lambda: plots.caterpillar_plot(results, "1A", measure_name=NAMES["1A"])
    yield lambda: plots.funnel_plot(compare.funnel(results, "1B", kind="proportion"), measure_name=NAMES["1B"],
                                    highlight="E605")


def odd_text():
    fig = Figure(figsize=(3, 2), dpi=150)
    fig.text(0.1, 0.2, "Turned 30 degrees, Tyne & Wear", rotation=30, fontsize=9)
    fig.text(0.1, 0.8, "Not antialiased: Barking", antialiased=False, fontsize=8)
    fig.text(0.5, 0.5, r"$\sqrt{n_{eff}}$ and 95%", fontsize=10, ha="center", va="center")
    fig.text(0.9, 0.1, "Ynys Môn\nsecond line", fontsize=7, ha="right", fontweight="bold", color="#D55E00")
    # one string laid out several ways, each one change from the first: a layout kept for one must not be taken
    # for another
    for change in ({}, dict(ha="right"), dict(va="top"), dict(rotation=90), dict(rotation=90, rotation_mode="anchor"),
                   dict(linespacing=2.5), dict(ma="right"), dict(fontsize=7), dict(fontweight="bold")):
        fig.text(0.55, 0.35, "Barking\nand Dagenham", **{"fontsize": 6, **change})
    return fig


@pytest.mark.parametrize("make", [*run_figures(), odd_text], ids=["caterpillar", "funnel", "odd text"])
def test_the_png_has_the_pixels_matplotlib_draws(make):
    expected = matplotlibs_pixels(make())
    fig = make()
    first = png_bytes(fig)
    assert np.array_equal(pixels_of(first), expected)
    again = png_bytes(make())                      # every string met before: drawn from what was kept
    assert np.array_equal(pixels_of(again), expected)
    assert again == first


@pytest.mark.parametrize("make", [*run_figures(), odd_text], ids=["caterpillar", "funnel", "odd text"])
def test_the_svg_is_the_file_matplotlib_writes(make, tmp_path):
    expected = matplotlibs_svg(make())
    fig = make()
    png_bytes(fig)                                 # as save_figure does: the PNG first, then the SVG
    write_svg(fig, tmp_path / "figure.svg")
    assert (tmp_path / "figure.svg").read_bytes() == expected
    write_svg(make(), tmp_path / "again.svg")
    assert (tmp_path / "again.svg").read_bytes() == expected


def test_encode_png_keeps_every_byte_and_the_dpi():
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 256, size=(7, 5, 4), dtype=np.uint8)     # transparency included
    png = encode_png(rgba, dpi=150)
    image = Image.open(io.BytesIO(png))
    assert np.array_equal(np.asarray(image), rgba)
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.02)
    assert png[png.index(b"pHYs") + 4:][:9] == (5906).to_bytes(4, "big") * 2 + b"\x01"   # pixels a metre
    assert image.info["Software"].startswith("surveykit ")
    # the data are rows each led by filter type 0 (none), as the docstring says
    start = png.index(b"IDAT") + 4
    length = int.from_bytes(png[start - 8:start - 4], "big")
    rows = np.frombuffer(zlib.decompress(png[start:start + length]), dtype=np.uint8).reshape(7, 1 + 5 * 4)
    assert (rows[:, 0] == 0).all() and np.array_equal(rows[:, 1:].reshape(7, 5, 4), rgba)
