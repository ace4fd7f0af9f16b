"""Tests for surveykit.plots: figures build with one mark per council/measure, captions name the
measure and method, and save_figure writes PNG and SVG whole."""

import multiprocessing
import re
from pathlib import Path

import matplotlib.text
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection, PathCollection

from surveykit import compare, plots
from surveykit.errors import SurveyKitError
from surveykit.row_names import RowNames

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
    """The figure's own text (caption), lines joined: captions are wrapped to the figure's width."""
    return " ".join(" ".join(t.get_text() for t in fig.texts).split())


def collections(fig, kind):
    return [c for ax in fig.axes for c in ax.collections if isinstance(c, kind)]


def row_names(ax):
    """The names down the left of a caterpillar or dumbbell plot (one RowNames artist)."""
    (names,) = [a for a in ax.get_children() if isinstance(a, RowNames)]
    return names


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
    assert "n_eff = p(1 − p) / SE², the sample size its confidence interval uses" in caption
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
    labels = row_names(ax).names                              # the row labels, bottom row first
    assert len(labels) == 150
    councils = results[(results["measure"] == "1B") & (results["area_level"] == "council")]
    assert labels[-1] == councils.loc[councils["estimate"].idxmax(), "area_name"]   # best at the top
    # at least 0.12 inch per council and a font no smaller than 6 points
    assert fig.get_size_inches()[1] >= 150 * 0.12
    assert row_names(ax).get_fontsize() >= 6
    assert "Control over daily life" in caption_of(fig) and "95% confidence interval" in caption_of(fig)
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
    # a run's figures give every measure's comparison, made once: the same colours
    given = plots.caterpillar_plot(results, "1B", comparison=compare.compare_to(results))
    assert np.array_equal(collections(given, PathCollection)[0].get_facecolors(), colours)
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
    assert "95% CI of the difference, allowing for the council's share of the comparator" in caption_of(fig)
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


# ------------------------------------------------------------------ precision, titles, fitting, codes

def score_results(code="1J", england=0.1245, count=12, seed=4):
    """Tidy results for a 0-1 score: councils around England's `england`, their own SEs."""
    rng = np.random.default_rng(seed)
    estimate = england + rng.normal(0, 0.02, count)
    se = np.full(count, 0.012)
    rows = [{"measure": code, "area_level": "council", "area_code": f"E{700 + i}",
             "area_name": f"Council number {i}", "breakdown": "total", "group": "Total",
             "estimate": estimate[i], "se": se[i], "ci_lower": estimate[i] - 0.0235, "ci_upper": estimate[i] + 0.0235,
             "population": 1000.0, "n_eff": 150.0} for i in range(count)]
    rows.append({"measure": code, "area_level": "england", "area_code": "E92000001", "area_name": "England",
                 "breakdown": "total", "group": "Total", "estimate": england, "se": 0.003,
                 "ci_lower": england - 0.006, "ci_upper": england + 0.006, "population": 1000.0 * count,
                 "n_eff": 150.0 * count})
    return pd.DataFrame(rows)


def drawn(fig):
    """Draw the figure with Agg, as save_figure does (so tick labels exist); return the renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_scores_on_a_0_to_1_scale_are_shown_to_3_dp_rounded_as_the_tables_round():
    # England 0.1245 is published 0.125 (halves away from zero on the decimal); Python's own
    # formatting of the double would print 0.124
    assert f"{0.1245:.3f}" == "0.124" and plots.number_text(0.1245, 3) == "0.125"
    assert plots.measure_decimals("1J") == 3 and plots.measure_decimals("ASCOT") == 3
    assert plots.measure_decimals("1B") == 1
    results = score_results()
    fig = plots.caterpillar_plot(results, "1J", measure_name="Adjusted social care-related quality of life")
    drawn(fig)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "England 0.125 (shaded: 95% CI)" in legend
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"0\.\d{3}", t.replace("−", "-")) for t in ticks), ticks

    funnel = compare.funnel(results, "1J", kind="mean")
    fig = plots.funnel_plot(funnel, measure_name="Adjusted social care-related quality of life")
    drawn(fig)
    assert "around 0.125" in caption_of(fig) and "England's value (0.125)" in caption_of(fig)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels() if t.get_text()]
    assert ticks and all(re.fullmatch(r"0\.\d{3}", t) for t in ticks), ticks


def test_spine_values_use_each_measures_precision_and_never_show_minus_zero():
    results = pd.concat([results_for(20), score_results("ASCOT", england=0.8, count=20)], ignore_index=True)
    results.loc[(results["measure"] == "ASCOT") & (results["area_code"] == "E700"), "estimate"] = 0.79996
    comparison = compare.compare_to(results)
    fig = plots.spine_plot(comparison, "E700", measure_names={"ASCOT": "ASCOT preference-weighted quality of life"})
    texts = [t.get_text() for t in fig.axes[0].texts]
    row = comparison[(comparison["area_code"] == "E700") & (comparison["measure"] == "ASCOT")].iloc[0]
    assert "0.800" in texts                                     # the council and England, to 3 dp
    assert any(t.startswith("0.000 (") for t in texts), texts   # a difference of -0.00004 reads 0.000
    assert not any(t.startswith("-0.0") for t in texts)
    assert row["difference"] < 0


def test_a_name_that_starts_with_its_code_is_not_given_it_twice():
    assert plots._label("ASCOT", "ASCOT preference-weighted social care-related quality of life") == \
        "ASCOT preference-weighted social care-related quality of life"
    assert plots._label("1B", "Control over daily life") == "1B Control over daily life"
    assert plots._label("1A", "1AB score") == "1A 1AB score"          # a longer word is not the code
    results = score_results("ASCOT", england=0.8)
    fig = plots.caterpillar_plot(results, "ASCOT",
                                 measure_name="ASCOT preference-weighted social care-related quality of life")
    title = fig.axes[0].get_title(loc="left").replace("\n", " ")
    assert title == "ASCOT preference-weighted social care-related quality of life"


def _inside(fig):
    """Every piece of text of the figure lies inside it: nothing is cut off at an edge."""
    renderer = drawn(fig)
    width, height = fig.canvas.get_width_height()
    hidden = set()     # tick labels of ticks beyond the axis' ends exist but are not drawn
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            hidden |= {id(tick.label1) for tick in axis.get_major_ticks() if not low <= tick.get_loc() <= high}
            hidden |= {id(tick.label2) for tick in axis.get_major_ticks() if not low <= tick.get_loc() <= high}
    texts = [t for t in fig.findobj(matplotlib.text.Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in hidden]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    for names in fig.findobj(RowNames):
        boxes += zip(names.names, names.label_extents(renderer))
    assert boxes
    return [text[:40] for text, box in boxes
            if box.x0 < -0.5 or box.x1 > width + 0.5 or box.y0 < -0.5 or box.y1 > height + 0.5]


def test_long_names_wrap_and_the_figures_grow_to_hold_them():
    long = ("Proportion of people who use services who say that those services have made them feel "
            "safe and secure, counting only those who answered every part of the question")
    results = results_for(30)
    results.loc[results["area_code"] == "E600", "area_name"] = "Bournemouth, Christchurch and Poole Council"
    comparison = compare.compare_to(results)
    fig = plots.spine_plot(comparison, "E600", measure_names={"1B": long})
    assert _inside(fig) == []
    labels = {t.get_text().replace("\n", " ") for t in fig.axes[0].get_yticklabels()}
    assert f"1B {long}" in labels                                   # whole, wrapped over lines
    assert all(len(line) < 60 for t in fig.axes[0].get_yticklabels() for line in t.get_text().split("\n"))
    short = plots.spine_plot(comparison, "E600", measure_names={"1B": "Control"})
    assert fig.get_size_inches()[1] > short.get_size_inches()[1]    # deeper rows for wrapped labels

    cat = plots.caterpillar_plot(results, "1B", measure_name=long)
    assert _inside(cat) == []
    assert "Bournemouth, Christchurch and Poole Council" in row_names(cat.axes[0]).names
    funnel = compare.funnel(results, "1B", kind="proportion")
    names = funnel.councils.sort_values("n")["area_code"]
    fig = plots.funnel_plot(funnel, measure_name=long, highlight=names.iloc[-1])   # named at the right edge
    assert _inside(fig) == []


def test_captions_say_why_funnel_and_caterpillar_may_flag_different_councils():
    results = results_for(30)
    funnel = plots.funnel_plot(compare.funnel(results, "1B", kind="proportion"))
    text = caption_of(funnel)
    assert "compares each council with England's value" in text
    assert "effective sample size" in text and "caterpillar plot shows each council's own 95% confidence interval" in text
    cat = caption_of(plots.caterpillar_plot(results, "1B"))
    assert "Each bar is a council's own 95% confidence interval" in cat
    assert "funnel plot may flag other councils" in cat and "effective sample size" in cat


class _Spec:
    """The parts of a questionnaire spec write_plots reads."""

    def __init__(self, measures):
        self.measures = measures


def _measure(name, kind, code_set="ascof-2022-23"):
    from types import SimpleNamespace
    return SimpleNamespace(name=name, kind=kind, code_set=code_set)


def test_framework_codes_name_the_figures_and_their_files(tmp_path):
    ours = results_for(6)
    ours["measure"] = ours["measure"].map({"1B": "1J", "1A": "3A"})
    ours["framework_code"] = ours["measure"].map({"1J": "1C", "3A": ""})
    spec = _Spec({"1J": _measure("Adjusted social care-related quality of life", "mean"),
                  "3A": _measure("Overall satisfaction", "proportion")})
    measures = plots.plot_measures(spec, ours)
    assert measures["1J"].label == "1C Adjusted social care-related quality of life"
    assert measures["1J"].note == "1J in ascof-2022-23"
    assert measures["3A"].shown == "3A (ascof-2022-23)"         # no refreshed code: not the new 3A
    written = plots.write_plots(ours, spec, tmp_path, workers=1)
    assert [p.name for p in written] == [
        "funnel-1C.png", "funnel-1C.svg", "caterpillar-1C.png", "caterpillar-1C.svg",
        "funnel-3A_ascof_2022_23.png", "funnel-3A_ascof_2022_23.svg",
        "caterpillar-3A_ascof_2022_23.png", "caterpillar-3A_ascof_2022_23.svg"]
    assert "1C Adjusted social care-related quality of life" in (tmp_path / "caterpillar-1C.svg").read_text()
    # without a framework the spec's codes are used
    plain = plots.plot_measures(spec, ours.drop(columns="framework_code"))
    assert plain["1J"].shown == "1J" and plain["3A"].shown == "3A"


def test_parallel_workers_write_the_same_files_as_one_process(tmp_path):
    results = results_for(25)
    spec = _Spec({"1B": _measure("Control over daily life", "proportion"),
                  "1A": _measure("Social care-related quality of life", "mean")})
    one = plots.write_plots(results, spec, tmp_path / "one", spine_councils=["E603"], workers=1)
    two = plots.write_plots(results, spec, tmp_path / "two", spine_councils=["E603"], workers=2)
    assert [p.name for p in one] == [p.name for p in two] == [
        "funnel-1B.png", "funnel-1B.svg", "caterpillar-1B.png", "caterpillar-1B.svg",
        "funnel-1A.png", "funnel-1A.svg", "caterpillar-1A.png", "caterpillar-1A.svg",
        "spine-E603.png", "spine-E603.svg"]
    for a, b in zip(one, two):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_the_first_figure_drawn_here_and_the_rest_by_workers_are_the_same_files(tmp_path):
    results = results_for(25)
    spec = _Spec({"1B": _measure("Control over daily life", "proportion"),
                  "1A": _measure("Social care-related quality of life", "mean")})
    one = plots.write_plots(results, spec, tmp_path / "one", spine_councils=["E603"], workers=1)
    plotting = plots.start_plots(results, spec, tmp_path / "first", spine_councils=["E603"], workers=2,
                                 first_here=True)
    assert list(plotting.drawn) == [("caterpillar", "1B")]         # the costliest, before any worker
    assert len(plotting.futures) == 4
    told = []
    first = plotting.wait(on_done=lambda: told.append(1))
    assert len(told) == 5                                           # every figure reported done, once
    assert [p.name for p in first] == [p.name for p in one]
    for a, b in zip(one, first):
        assert a.read_bytes() == b.read_bytes(), a.name


def _font_in_a_forked_process():
    opened = plots._font.cache_info().currsize
    return opened, plots._font(False).load_char(ord("W")).linearHoriAdvance


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_a_forked_worker_opens_its_own_font():
    """Two processes reading one FT2Font share its file's offset and read each other's glyphs (seen as "too many
    hints" and missing glyphs in workers forked after the parent had measured a title)."""
    parent = plots._font(False).load_char(ord("W")).linearHoriAdvance       # the parent's is open
    with multiprocessing.get_context("fork").Pool(1) as pool:
        opened, child = pool.apply(_font_in_a_forked_process)
    assert opened == 0 and child == parent


def test_an_error_in_a_worker_is_one_clear_error(tmp_path):
    results = results_for(5)
    spec = _Spec({"1B": _measure("Control over daily life", "proportion")})
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(SurveyKitError, match="not-a-folder") as raised:
        plots.write_plots(results, spec, blocker / "plots", workers=2)
    assert Path(raised.value.file).parent == blocker / "plots"    # the error's fields cross from the worker


def test_plot_workers_can_be_set(monkeypatch):
    monkeypatch.setenv("SURVEYKIT_PLOT_WORKERS", "3")
    assert plots.plot_workers() == 3
    monkeypatch.setenv("SURVEYKIT_PLOT_WORKERS", "none")
    with pytest.raises(SurveyKitError, match="SURVEYKIT_PLOT_WORKERS"):
        plots.plot_workers()


@pytest.mark.parametrize("count", [30, 150])
def test_funnel_names_every_flagged_council_when_few_else_those_beyond_the_outer_limits(count):
    funnel = compare.funnel(results_for(count), "1B", kind="proportion")
    fig = plots.funnel_plot(funnel)
    named = {t.get_text() for t in fig.axes[0].texts}
    c = funnel.councils
    at_95, at_998 = c[c["flag_95"] != "within"], c[c["flag_99_8"] != "within"]
    expected = at_95 if len(at_95) <= plots.NAMED_AT_MOST else at_998
    assert named == set(expected["area_name"])
    assert (len(at_95) <= plots.NAMED_AT_MOST) == (count == 30)      # both rules are exercised
    level = "95%" if count == 30 else "99.8%"
    assert f"councils outside the {level} limits are named" in caption_of(fig)
