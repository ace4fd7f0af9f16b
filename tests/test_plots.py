"""Tests for surveykit.plots: figures build with one mark per council/measure, captions name the
measure and method, and save_figure writes PNG and SVG whole."""

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from surveykit import compare, plots
from surveykit.errors import SurveyKitError

NAMES = {"1B": "Control over daily life", "1A": "Social care-related quality of life"}


def results_for(count, shift=0.0, seed=1):
    """Tidy ASCOF results: `count` councils and England for a proportion (1B) and a score (1A)."""
    rng = np.random.default_rng(seed)
    rows = []
    population = rng.integers(500, 5000, count).astype(float)
    n_eff = rng.integers(80, 400, count).astype(float)
    for measure, centre, spread in (("1B", 77.0 + shift, 4.0), ("1A", 19.0 + shift / 10, 0.5)):
        estimate = centre + rng.normal(0, spread, count)
        se = (np.sqrt(estimate * (100 - estimate)) if measure == "1B" else np.full(count, 4.5)) / np.sqrt(n_eff)
        share = population / population.sum()
        areas = [("council", f"E{600 + i}", f"Council number {i}", estimate[i], se[i], population[i], n_eff[i])
                 for i in range(count)]
        areas.append(("england", "E92000001", "England", np.sum(share * estimate),
                      np.sqrt(np.sum(share ** 2 * se ** 2)), population.sum(), 1 / np.sum(share ** 2 / n_eff)))
        for level, code, name, est, s, pop, ne in areas:
            rows.append({"measure": measure, "area_level": level, "area_code": code, "area_name": name,
                         "breakdown": "total", "group": "Total", "estimate": est, "se": s,
                         "ci_lower": est - 1.96 * s, "ci_upper": est + 1.96 * s,
                         "margin_of_error": 1.96 * s, "respondents": ne * 1.2, "population": pop,
                         "suppressed": False, "deff": 1.2, "n_eff": ne})
    return pd.DataFrame(rows)


def caption_of(fig):
    return " ".join(t.get_text() for t in fig.texts)


def collections(fig, kind):
    return [c for ax in fig.axes for c in ax.collections if isinstance(c, kind)]


def test_funnel_plot_has_a_point_per_council_and_four_limit_lines():
    results = results_for(30)
    funnel = compare.funnel(results, "1B", kind="proportion", overdispersion="multiplicative")
    fig = plots.funnel_plot(funnel, measure_name=NAMES["1B"], highlight="E605")
    points = collections(fig, PathCollection)
    assert len(points[0].get_offsets()) == 30          # every council
    assert len(points[1].get_offsets()) == 1           # the highlighted one
    assert len(fig.axes[0].lines) == 5                 # 95% and 99.8%, lower and upper, and England
    caption = caption_of(fig)
    assert "Control over daily life" in caption and "Weighted by eligible population" in caption
    assert "99.8%" in caption and "multiplicative over-dispersion" in caption
    assert "n_eff = p(1 − p) / SE², the effective sample size the confidence intervals use" in caption
    # the drawn 95% upper limit at the largest n equals funnel_limits there
    n_max = funnel.councils["n"].max()
    upper = fig.axes[0].lines[1].get_data()
    nearest = np.argmin(np.abs(upper[0] - n_max))
    expected = compare.funnel_limits(funnel.target, upper[0][nearest], 0.95, kind="proportion",
                                     phi=max(funnel.phi, 1.0))[1]
    assert upper[1][nearest] == pytest.approx(expected)


def test_caterpillar_plot_sorts_councils_and_stays_readable_for_150():
    results = results_for(150)
    fig = plots.caterpillar_plot(results, "1B", measure_name=NAMES["1B"])
    ax = fig.axes[0]
    intervals = collections(fig, LineCollection)[0]
    assert len(intervals.get_segments()) == 150
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 150
    councils = results[(results["measure"] == "1B") & (results["area_level"] == "council")]
    assert labels[-1] == councils.loc[councils["estimate"].idxmax(), "area_name"]   # best at the top
    # at least 0.12 inch per council and a font no smaller than 6 points
    assert fig.get_size_inches()[1] >= 150 * 0.12
    assert min(t.get_fontsize() for t in ax.get_yticklabels()) >= 6
    assert "Control over daily life" in caption_of(fig) and "95% CI" in caption_of(fig)
    # England's line is drawn at England's estimate
    england = results[(results["measure"] == "1B") & (results["area_level"] == "england")]["estimate"].iloc[0]
    assert ax.lines[0].get_xdata()[0] == pytest.approx(england)


def test_caterpillar_colours_follow_the_comparison_with_england():
    results = results_for(40)
    fig = plots.caterpillar_plot(results, "1B")
    verdicts = compare.compare_to(results[results["measure"] == "1B"])
    higher = (verdicts["significance_95"] == "higher").sum()
    colours = collections(fig, PathCollection)[0].get_facecolors()
    blue = np.array([0, 114, 178, 255]) / 255
    assert np.isclose(colours, blue).all(axis=1).sum() == higher
    with pytest.raises(SurveyKitError, match="no council results"):
        plots.caterpillar_plot(results, "3A")


def test_spine_plot_has_a_row_per_measure():
    comparison = compare.compare_to(results_for(25))
    fig = plots.spine_plot(comparison, "E603", measure_names=NAMES)
    ax = fig.axes[0]
    assert len(collections(fig, PathCollection)[0].get_offsets()) == 2
    # measures run top to bottom in the comparison's order (1B first in these results)
    ticks = {t.get_text(): y for t, y in zip(ax.get_yticklabels(), ax.get_yticks())}
    assert ticks == {"1B Control over daily life": 1, "1A Social care-related quality of life": 0}
    # every plotted difference lies within the row's scaled range
    assert np.all(np.abs(collections(fig, PathCollection)[0].get_offsets()[:, 0]) <= 1)
    assert "Control over daily life" in caption_of(fig)
    assert "Council number 3 against England" in ax.get_title(loc="left")
    with pytest.raises(SurveyKitError, match="'E999'"):
        plots.spine_plot(comparison, "E999")


def test_dumbbell_plot_draws_comparable_areas_and_counts_the_rest():
    a, b = results_for(20), results_for(20, shift=3.0, seed=2)
    b = b[b["area_code"] != "E600"]                                  # one council missing in year b
    spec = {"measures": {"1B": {"items": ["q3a"], "codes": [1, 2]}, "1A": {"items": ["q3a"]}}}
    change = compare.year_on_year(a, b, dict(spec, year="2022-23"), dict(spec, year="2023-24"))
    fig = plots.dumbbell_plot(change, "1B", measure_name=NAMES["1B"])
    assert len(collections(fig, LineCollection)[0].get_segments()) == 19
    caption = caption_of(fig)
    assert "Control over daily life" in caption and "1 not comparable" in caption
    assert "2022-23 to 2023-24" in fig.axes[0].get_title(loc="left")


def test_save_figure_writes_png_and_svg(tmp_path):
    fig = plots.caterpillar_plot(results_for(10), "1A", measure_name=NAMES["1A"])
    written = plots.save_figure(fig, tmp_path / "out" / "caterpillar-1A")
    assert [p.name for p in written] == ["caterpillar-1A.png", "caterpillar-1A.svg"]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Social care-related quality of life" in written[1].read_text()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["caterpillar-1A.png", "caterpillar-1A.svg"]


def test_save_figure_reports_an_unwritable_place_and_leaves_nothing(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    fig = plots.caterpillar_plot(results_for(5), "1A")
    with pytest.raises(SurveyKitError, match="not-a-folder"):
        plots.save_figure(fig, blocker / "sub" / "figure")
    assert list(tmp_path.iterdir()) == [blocker]
