"""Figures for benchmarking councils: funnel, caterpillar, spine and dumbbell plots.

Built on `matplotlib.figure.Figure` directly (Agg, no pyplot state, no display), coloured with the
Okabe-Ito colour-blind-safe palette, and captioned with the measure and the method so a figure
lifted out of a report still says what it shows.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from surveykit import compare
from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write

#: Okabe & Ito (2008) colour-blind-safe palette.
OKABE_ITO = {"black": "#000000", "orange": "#E69F00", "sky_blue": "#56B4E9",
             "green": "#009E73", "yellow": "#F0E442", "blue": "#0072B2",
             "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
#: One colour per verdict, whichever function produced it.
VERDICT_COLOURS = {
    "higher": OKABE_ITO["blue"], "above": OKABE_ITO["blue"], "increase": OKABE_ITO["blue"],
    "lower": OKABE_ITO["vermillion"], "below": OKABE_ITO["vermillion"], "decrease": OKABE_ITO["vermillion"],
}
NEUTRAL = OKABE_ITO["grey"]
HIGHLIGHT = OKABE_ITO["orange"]
METHOD = "Weighted by eligible population"
CAPTION_SIZE = 7.5


def _colour(verdicts):
    return [VERDICT_COLOURS.get(v, NEUTRAL) for v in verdicts]


def _label(code, name):
    return f"{code} {name}" if name and name != code else str(code)


def _short(text, width=44):
    """A row label that fits the left margin; the caption keeps the full name."""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _decimals(value):
    """1 dp for percentages and 0-24 scores, 3 dp for 0-1 scores such as 1J."""
    return 3 if abs(value) < 2 else 1


def _units(kind):
    return "%" if kind == "proportion" else ""


def _new_figure(width, height):
    fig = Figure(figsize=(width, height), dpi=150)
    fig.patch.set_facecolor("white")
    return fig


def _place_axes(fig, left, right, top, bottom):
    """Margins in inches, so a tall figure keeps the same room for labels and caption."""
    width, height = fig.get_size_inches()
    return fig.add_axes([left / width, bottom / height,
                         1 - (left + right) / width, 1 - (top + bottom) / height])


def _caption(fig, text, bottom_inches=0.08):
    """Method note at the foot of the figure, wrapped to the figure's width."""
    fig.text(0.01, bottom_inches / fig.get_size_inches()[1], text, fontsize=CAPTION_SIZE,
             ha="left", va="bottom", wrap=True, color="#333333")


def _title(ax, code, name, extra=""):
    """Bold title over the axes, wrapped to the axes' width so a long measure name is never cut."""
    import textwrap

    inches = ax.get_position().width * ax.figure.get_size_inches()[0]
    text = textwrap.fill(_label(code, name) + extra, width=max(20, int(inches * 10.5)))
    ax.set_title(text, loc="left", fontsize=10, fontweight="bold")


def _rows_height(count, per_row=0.14, extra=2.2, minimum=4.0):
    return max(minimum, count * per_row + extra)


def _row_font(count):
    return 8 if count <= 40 else 7 if count <= 90 else 6


# --------------------------------------------------------------------------------------------------

def funnel_plot(funnel: compare.Funnel, *, measure_name=None, highlight=None, label_outliers=True):
    """Councils' estimates against effective sample size, with the funnel's control limits.

    Points are coloured by the 95% verdict; councils outside the outer limits are named.
    """
    councils = funnel.councils
    fig = _new_figure(8.5, 6.0)
    ax = _place_axes(fig, left=0.8, right=0.25, top=0.45, bottom=1.05)
    n_min, n_max = councils["n"].min(), councils["n"].max()
    grid = np.geomspace(max(1.0, 0.5 * n_min), 1.1 * n_max, 300)
    if funnel.method == "exact":
        grid = np.unique(np.rint(grid))
    curve = funnel.limits(grid)
    outer, inner = max(funnel.levels), min(funnel.levels)
    for level, style in ((inner, "--"), (outer, "-")):
        suffix = compare.level_suffix(level)
        for side in ("lower", "upper"):
            ax.plot(curve["n"], curve[f"{side}_{suffix}"], style, color="#555555", linewidth=1,
                    label=f"{level * 100:g}% limits" if side == "lower" else None)
    ax.axhline(funnel.target, color=OKABE_ITO["black"], linewidth=1, label="England")

    flags = councils[f"flag_{compare.level_suffix(inner)}"]
    ax.scatter(councils["n"], councils["estimate"], s=22, c=_colour(flags), edgecolors="white",
               linewidths=0.5, zorder=3)
    outer_flag = councils[f"flag_{compare.level_suffix(outer)}"]
    to_name = councils[outer_flag != "within"] if label_outliers else councils.iloc[:0]
    if highlight is not None:
        chosen = councils[councils["area_code"] == highlight]
        ax.scatter(chosen["n"], chosen["estimate"], s=70, marker="D", facecolors=HIGHLIGHT,
                   edgecolors="black", linewidths=0.8, zorder=4)
        to_name = pd.concat([to_name, chosen]).drop_duplicates("area_code")
    for row in to_name.itertuples():
        ax.annotate(row.area_name, (row.n, row.estimate), xytext=(4, 3), textcoords="offset points",
                    fontsize=7, color="#222222")

    handles, labels = ax.get_legend_handles_labels()
    for verdict, text in (("above", f"Above {inner * 100:g}% limit"),
                          ("below", f"Below {inner * 100:g}% limit"), ("within", "Within limits")):
        handles.append(Line2D([], [], marker="o", linestyle="", color=VERDICT_COLOURS.get(verdict, NEUTRAL)))
        labels.append(text)
    ax.legend(handles, labels, fontsize=7.5, loc="upper right", frameon=False, ncol=2)
    ax.set_xlabel(f"Effective sample size, n_eff = {_n_eff_formula(funnel)}", fontsize=9)
    ax.set_ylabel("Percent" if funnel.kind == "proportion" else "Score", fontsize=9)
    ax.set_xlim(0, 1.1 * n_max)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    _title(ax, funnel.measure, measure_name,
           "" if funnel.breakdown == "total" else f" ({funnel.group})")
    _caption(fig, f"{_label(funnel.measure, measure_name)}. {METHOD}; "
                  f"{funnel.describe()}. n_eff = {_n_eff_formula(funnel)}, the effective sample size "
                  f"the confidence intervals use. {len(councils)} councils.")
    return fig


def _n_eff_formula(funnel):
    """How the funnel's effective sample size is defined (`surveykit.ci.effective_sample_size`)."""
    return "p(1 − p) / SE²" if funnel.kind == "proportion" else "s² / SE² (s² the score's variance)"


def caterpillar_plot(results, measure, *, measure_name=None, breakdown="total", group="Total",
                     highlight=None, kind=None):
    """Councils sorted by estimate with their 95% intervals, against England's estimate.

    Colour is the council's difference from England at 95% (surveykit.compare.compare_to), which
    accounts for the council being part of England; overlapping intervals alone would mislead.
    Tall on purpose: one row per council, so 150 councils stay legible.
    """
    rows = results[(results["measure"] == measure) & (results["breakdown"] == breakdown)
                   & (results["group"] == group)]
    councils = rows[(rows["area_level"] == "council") & rows["estimate"].notna()]
    if councils.empty:
        raise SurveyKitError(f"no council results for measure {measure!r} ({breakdown} {group})",
                             column="measure", value=measure)
    england = rows[rows["area_level"] == "england"]
    if len(england):
        verdict = compare.compare_to(rows).set_index("area_code")["significance_95"]
        councils = councils.assign(verdict=councils["area_code"].map(verdict).to_numpy())
    else:
        councils = councils.assign(verdict="not available")
    councils = councils.sort_values(["estimate", "area_name"]).reset_index(drop=True)
    count = len(councils)
    kind = kind or ("proportion" if councils["estimate"].max() > 24 else "mean")

    fig = _new_figure(8.0, _rows_height(count))
    ax = _place_axes(fig, left=2.1, right=0.3, top=0.75, bottom=1.35)
    y = np.arange(count)
    colours = _colour(councils["verdict"])
    ax.hlines(y, councils["ci_lower"], councils["ci_upper"], colors=colours, linewidth=1.2)
    ax.scatter(councils["estimate"], y, s=14, c=colours, zorder=3)
    if len(england):
        e = england.iloc[0]
        ax.axvspan(e["ci_lower"], e["ci_upper"], color="#dddddd", zorder=0, linewidth=0)
        ax.axvline(e["estimate"], color=OKABE_ITO["black"], linewidth=1)
    ax.set_yticks(y, councils["area_name"], fontsize=_row_font(count))
    if highlight is not None:
        for tick, code in zip(ax.get_yticklabels(), councils["area_code"]):
            if code == highlight:
                tick.set_fontweight("bold")
                tick.set_color(HIGHLIGHT)
    ax.set_ylim(-0.7, count - 0.3)
    ax.tick_params(axis="x", labelsize=8, top=count > 40, labeltop=count > 40)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("Percent" if kind == "proportion" else "Score", fontsize=9)
    _title(ax, measure, measure_name, "" if breakdown == "total" else f" ({group})")
    ax.title.set_position((0, 1.0 + 0.35 / ax.get_position().height / fig.get_size_inches()[1]))
    handles = [Line2D([], [], marker="o", color=VERDICT_COLOURS["higher"], label="Higher than England"),
               Line2D([], [], marker="o", color=NEUTRAL, label="Not significantly different"),
               Line2D([], [], marker="o", color=VERDICT_COLOURS["lower"], label="Lower than England")]
    if len(england):
        england_label = f"England {england['estimate'].iloc[0]:.1f}{_units(kind)} (shaded: 95% CI)"
        handles.append(Line2D([], [], color=OKABE_ITO["black"], label=england_label))
    fig.legend(handles=handles, loc="lower left", ncol=4, fontsize=7, frameon=False,
               bbox_to_anchor=(0.01, 0.5 / fig.get_size_inches()[1]))
    _caption(fig, f"{_label(measure, measure_name)}. {METHOD}; 95% CI; councils sorted by estimate; "
                  "colour: difference from England at 95%, allowing for the council's share of "
                  f"England. {count} councils.")
    return fig


def spine_plot(comparison, council, *, measure_names=None, breakdown="total", group="Total"):
    """A council's measures against England: one row per measure, England at the centre.

    `comparison` is surveykit.compare.compare_to(results) for all councils. Each row is scaled by the
    largest council difference for that measure, so measures in percent and in score points share
    one chart; the light band is the range of councils, the darker band their middle half. The
    council's difference and 95% interval are coloured by significance; values are printed at right.
    """
    measure_names = measure_names or {}
    rows = comparison[(comparison["breakdown"] == breakdown) & (comparison["group"] == group)]
    mine = rows[rows["area_code"] == council]
    if mine.empty:
        raise SurveyKitError(f"council {council!r} is not in the comparison", column="area_code",
                             value=council)
    spread = rows.groupby("measure")["difference"].agg(
        low="min", high="max", q1=lambda d: d.quantile(0.25), q3=lambda d: d.quantile(0.75))
    mine = mine.set_index("measure").join(spread)
    scale = np.maximum(mine[["low", "high"]].abs().max(axis=1),
                       mine[["difference_ci_lower", "difference_ci_upper"]].abs().max(axis=1))
    scale = scale.where(scale > 0, 1.0)
    count = len(mine)
    y = np.arange(count)[::-1]

    fig = _new_figure(11.0, max(3.2, 0.42 * count + 2.0))
    ax = _place_axes(fig, left=3.0, right=3.4, top=0.7, bottom=1.0)
    axes_width = fig.get_size_inches()[0] - 3.0 - 3.4
    ax.barh(y, (mine["high"] - mine["low"]) / scale, left=mine["low"] / scale, height=0.6,
            color="#e6e6e6", linewidth=0)
    ax.barh(y, (mine["q3"] - mine["q1"]) / scale, left=mine["q1"] / scale, height=0.6,
            color="#bdbdbd", linewidth=0)
    colours = _colour(mine["significance_95"])
    ax.hlines(y, mine["difference_ci_lower"] / scale, mine["difference_ci_upper"] / scale,
              colors=colours, linewidth=2)
    ax.scatter(mine["difference"] / scale, y, s=45, c=colours, edgecolors="black",
               linewidths=0.6, zorder=3)
    ax.axvline(0, color=OKABE_ITO["black"], linewidth=1)
    ax.set_xlim(-1.08, 1.08)
    ax.set_ylim(-0.6, count - 0.4)
    ax.set_xticks([-1, 0, 1], ["lower than England", "England", "higher than England"], fontsize=8)
    ax.set_yticks(y, [_short(_label(m, measure_names.get(m))) for m in mine.index], fontsize=8.5)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)

    header_y = count - 0.4
    columns = tuple((text, 1 + inches / axes_width) for text, inches in
                    (("Council", 0.25), (mine["comparator_name"].iloc[0], 0.95),
                     ("Difference (95% CI)", 1.65)))
    for text, x in columns:
        ax.text(x, header_y, text, transform=ax.get_yaxis_transform(), fontsize=8, fontweight="bold",
                va="bottom")
    for yy, (measure, row) in zip(y, mine.iterrows()):
        d = _decimals(row["comparator_estimate"])
        values = (f"{row['estimate']:.{d}f}", f"{row['comparator_estimate']:.{d}f}",
                  f"{row['difference']:+.{d}f} ({row['difference_ci_lower']:+.{d}f} to "
                  f"{row['difference_ci_upper']:+.{d}f})")
        for (_, x), value in zip(columns, values):
            ax.text(x, yy, value, transform=ax.get_yaxis_transform(), fontsize=8, va="center")
    name = mine["area_name"].iloc[0]
    ax.set_title(f"{name} against {mine['comparator_name'].iloc[0]}", loc="left", fontsize=10,
                 fontweight="bold", pad=18)
    measures_text = "; ".join(_label(m, measure_names.get(m)) for m in mine.index)
    _caption(fig, f"{measures_text}. {METHOD}; 95% CI of the difference, allowing for the council's "
                  "share of the comparator; blue higher, vermillion lower, grey not significant. "
                  "Each row is scaled to the largest council difference for that measure; bands: "
                  "range and middle half of all councils.")
    return fig


def dumbbell_plot(change, measure, *, measure_name=None, area_level="council", breakdown="total",
                  group="Total", kind=None):
    """Year-on-year change for one measure: one row per area, a dot for each year joined by a line.

    `change` is surveykit.compare.year_on_year(...). Lines are coloured by the change's significance
    at 95%; areas whose measure is not comparable between the years are left out and counted.
    """
    rows = change[(change["measure"] == measure) & (change["area_level"] == area_level)
                  & (change["breakdown"] == breakdown) & (change["group"] == group)]
    if rows.empty:
        raise SurveyKitError(f"no year-on-year rows for measure {measure!r} ({area_level})",
                             column="measure", value=measure)
    usable = rows[rows["comparable"]].sort_values(["estimate_b", "area_name"]).reset_index(drop=True)
    dropped = len(rows) - len(usable)
    year_a, year_b = rows["year_a"].iloc[0], rows["year_b"].iloc[0]
    count = len(usable)
    kind = kind or ("proportion" if rows[["estimate_a", "estimate_b"]].max().max() > 24 else "mean")

    fig = _new_figure(8.0, _rows_height(max(count, 1)))
    ax = _place_axes(fig, left=2.1, right=0.3, top=0.75, bottom=1.35)
    y = np.arange(count)
    colours = _colour(usable["significance_95"])
    ax.hlines(y, usable["estimate_a"], usable["estimate_b"], colors=colours, linewidth=1.6)
    ax.scatter(usable["estimate_a"], y, s=18, facecolors="white", edgecolors=colours,
               linewidths=1.0, zorder=3, label=year_a)
    ax.scatter(usable["estimate_b"], y, s=18, c=colours, zorder=3, label=year_b)
    ax.set_yticks(y, usable["area_name"], fontsize=_row_font(count))
    ax.set_ylim(-0.7, max(count, 1) - 0.3)
    ax.tick_params(axis="x", labelsize=8, top=count > 40, labeltop=count > 40)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("Percent" if kind == "proportion" else "Score", fontsize=9)
    _title(ax, measure, measure_name, f", {year_a} to {year_b}")
    ax.title.set_position((0, 1.0 + 0.35 / ax.get_position().height / fig.get_size_inches()[1]))
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                      markeredgecolor="black", label=year_a),
               Line2D([], [], marker="o", linestyle="", color="black", label=year_b),
               Line2D([], [], color=VERDICT_COLOURS["increase"], label="Significant increase"),
               Line2D([], [], color=NEUTRAL, label="No significant change"),
               Line2D([], [], color=VERDICT_COLOURS["decrease"], label="Significant decrease")]
    fig.legend(handles=handles, loc="lower left", ncol=5, fontsize=7, frameon=False,
               bbox_to_anchor=(0.01, 0.5 / fig.get_size_inches()[1]))
    note = f" {dropped} not comparable between the years, not shown." if dropped else ""
    _caption(fig, f"{_label(measure, measure_name)}. {METHOD}; change tested at 95% with "
                  f"independent samples (SE = sqrt(SE_a^2 + SE_b^2)); sorted by {year_b} estimate. "
                  f"{count} areas.{note}")
    return fig


# --------------------------------------------------------------------------------------------------

def save_figure(fig, path_stem):
    """Write `<path_stem>.png` and `<path_stem>.svg`, each whole or not at all; returns both paths."""
    stem = Path(path_stem)
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SurveyKitError(f"could not write the figure: {error.strerror or error}", file=stem) from error
    targets = [stem.with_name(stem.name + ".png"), stem.with_name(stem.name + ".svg")]
    for target in targets:
        def render(tmp, fmt=target.suffix[1:]):
            with matplotlib.rc_context({"svg.fonttype": "none"}):    # SVG text stays text
                fig.savefig(tmp, format=fmt, dpi=150, facecolor="white")
        atomic_write(target, render)
    return targets


def write_plots(results, spec, out_dir, *, spine_councils=(), progress=False):
    """The run's figures as PNG and SVG: a funnel and a caterpillar plot per measure, and a spine
    plot for each council in `spine_councils`. Returns the paths written."""
    import matplotlib.pyplot as plt
    from tqdm.auto import tqdm

    out_dir = Path(out_dir)
    measures = [code for code in spec.measures if code in set(results["measure"])]
    names = {code: spec.measures[code].name for code in measures}
    written = []
    jobs = [(kind, code) for code in measures for kind in ("funnel", "caterpillar")]
    jobs += [("spine", council) for council in spine_councils]
    comparison = compare.compare_to(results) if spine_councils else None
    for kind, key in tqdm(jobs, desc="plots", disable=not progress, unit="plot"):
        unit = None if kind == "spine" else ("proportion" if spec.measures[key].kind == "proportion" else "mean")
        if kind == "funnel":
            fig = funnel_plot(compare.funnel(results, key, kind=unit), measure_name=names[key])
        elif kind == "caterpillar":
            fig = caterpillar_plot(results, key, measure_name=names[key], kind=unit)
        else:
            fig = spine_plot(comparison, key, measure_names=names)
        safe = "".join(ch if ch.isalnum() else "_" for ch in key).strip("_")
        written += save_figure(fig, out_dir / f"{kind}-{safe}")
        plt.close(fig)
    return written
