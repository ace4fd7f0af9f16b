"""Figures for benchmarking councils: funnel, caterpillar, spine and dumbbell plots.

Built on `matplotlib.figure.Figure` directly (Agg, no pyplot state, no display), coloured with the
Okabe-Ito colour-blind-safe palette, and captioned with the measure and the method so a figure
lifted out of a report still says what it shows.

Numbers are shown to the measure's published precision (`decimals_by_measure` in publishing.yaml:
3 dp for the 0-1 scores 1J and ASCOT, else 1 dp), halves away from zero as in the tables. Text is
measured before a figure is laid out, so titles, row labels and captions wrap and the figure grows
to hold them: nothing is cut off at an edge. `write_plots` draws a run's figures in worker
processes, one per core, and `save_figure` writes each as PNG and SVG through figure_files.py (matplotlib's
own pixels and SVG, each string's text laid out once a process).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

from surveykit import compare
from surveykit.errors import SurveyKitError
from surveykit.figure_files import png_bytes, write_svg
from surveykit.measures import shown_codes
from surveykit.publish.atomic import atomic_write
from surveykit.publish.rules import measure_decimals, round_half_away
from surveykit.row_names import RowNames

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
TITLE_SIZE = 10
LEGEND_SIZE = 7.5
LINE_SPACING = 1.2            # matplotlib's, for text of several lines
MARGIN = 0.12                 # inches kept clear at the figure's left and right edges
SPINE_LABEL_WIDTH = 3.2       # inches a spine plot's measure label may take before it wraps
NAMED_AT_MOST = 10            # a funnel names every council outside its inner limits up to this many


# -------------------------------------------------------------------------------- measuring text

def _load_flags():
    from matplotlib import ft2font
    flags = getattr(ft2font, "LoadFlags", None)          # matplotlib >= 3.10
    return flags.NO_HINTING if flags is not None else ft2font.LOAD_NO_HINTING


@cache
def _font(bold: bool):
    from matplotlib import font_manager, ft2font
    path = font_manager.findfont(font_manager.FontProperties(weight="bold" if bold else "normal"))
    font = ft2font.FT2Font(path)     # our own instance: the renderers' cached fonts keep their state
    font.set_size(100, 72)           # 100 points at 72 dpi: advances come back in points
    return font


if hasattr(os, "register_at_fork"):
    # a process forked after the font is open opens its own: two processes reading one FT2Font share its file's
    # offset, and each reads the other's glyphs (matplotlib does the same for its own fonts)
    os.register_at_fork(after_in_child=_font.cache_clear)


@cache
def _advance(char: str, bold: bool) -> float:
    """Width of `char` in points for a one-point font."""
    font = _font(bold)
    if not font.get_char_index(ord(char)):
        return 0.7                   # drawn from a fallback font: allow a wide glyph
    return font.load_char(ord(char), flags=_load_flags()).linearHoriAdvance / 65536 / 100


@lru_cache(maxsize=10_000)      # a national run measures each council's name once per figure
def text_width(text: str, size: float, bold: bool = False) -> float:
    """Width in inches of one line of `text` at `size` points, with 4% to spare for kerning and hinting."""
    return 1.04 * size * sum(_advance(ch, bold) for ch in str(text)) / 72


def wrap(text: str, width: float, size: float, bold: bool = False) -> list[str]:
    """`text` as lines no wider than `width` inches, broken at spaces (inside a word only when the
    word alone is wider than the line; a no-break space, U+00A0, holds a formula together)."""
    lines, line = [], ""
    for word in re.split(r"[ \t\n]+", str(text).strip()):
        while len(word) > 1 and text_width(word, size, bold) > width:   # a word too long for any line
            cut = 1
            while cut < len(word) and text_width(word[:cut + 1], size, bold) <= width:
                cut += 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if line and text_width(candidate, size, bold) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines or [""]


def _lines_height(count: int, size: float) -> float:
    """Inches taken by `count` lines of text at `size` points."""
    return count * LINE_SPACING * size / 72


# -------------------------------------------------------------------------------- labels, numbers

def number_text(value, decimals: int, sign: bool = False) -> str:
    """`value` rounded as the tables round it (halves away from zero, never "-0.0")."""
    if value is None or not np.isfinite(value):
        return "n/a"
    rounded = float(round_half_away(float(value), decimals))
    text = f"{rounded:.{decimals}f}"
    return f"+{text}" if sign and rounded > 0 else text


def _label(code, name):
    """'1B Control over daily life'. A name that starts with its own code ('ASCOT preference-weighted
    ...') is shown as it is, so the code is never doubled."""
    code, name = str(code), (str(name) if name else "")
    if not name or name == code:
        return code
    if name.startswith(code) and not name[len(code):len(code) + 1].isalnum():
        return name
    return f"{code} {name}"


def _safe(text) -> str:
    """A file-name-safe form of a measure code: '1I(1)' -> '1I_1'."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(text)).strip("_") or "measure"


def _units(kind):
    return "%" if kind == "proportion" else ""


def _kind(values, kind=None):
    return kind or ("proportion" if np.nanmax(np.asarray(values, dtype=float)) > 24 else "mean")


@dataclass(frozen=True)
class PlotMeasure:
    """How one measure is named and shown in the figures of a run.

    `code` is the spec's code (1J); `shown` the code in titles and file names, the `--framework`
    code where one was asked for (1C in ascof-2023-24); `note` says what `shown` stands for
    ("1J in ascof-2022-23"); `decimals` the published precision.
    """

    code: str
    shown: str
    name: str
    kind: str
    decimals: int
    note: str = ""

    @property
    def label(self) -> str:
        return _label(self.shown, self.name)

    @property
    def file_stem(self) -> str:
        return _safe(self.shown)


def plot_measures(spec, results: pd.DataFrame) -> dict[str, PlotMeasure]:
    """The spec's measures that have results, in the spec's order, as the figures show them.

    Where `results` carry `framework_code` (a run with `--framework`) a measure is shown by its code
    there; a measure with no code in that framework keeps its own, marked with its code set
    ("3A (ascof-2022-23)") so it cannot be taken for the framework's measure of that code.
    """
    names = shown_codes(spec, results)
    out, stems = {}, set()
    for code, m in spec.measures.items():
        if code not in names:
            continue
        shown = names[code]
        note = (f"{code} in {m.code_set}" if m.code_set else code) if not shown.startswith(code) else ""
        measure = PlotMeasure(code, shown, m.name, "proportion" if m.kind == "proportion" else "mean",
                              measure_decimals(code), note)
        if measure.file_stem in stems:      # two measures would share a file: keep the spec's code too
            measure = PlotMeasure(code, f"{shown} [{code}]", m.name, measure.kind, measure.decimals, note)
        stems.add(measure.file_stem)
        out[code] = measure
    return out


# -------------------------------------------------------------------------------- figure pieces

def _colour(verdicts):
    return [VERDICT_COLOURS.get(v, NEUTRAL) for v in verdicts]


def _rows_figure(width, left, right, title, handles, caption, count):
    """A figure of one row per council (caterpillar, dumbbell): its height from the title, the rows, the legend
    and the caption. (figure, axes, legend columns, caption lines, ticks on top?, caption height)."""
    ncol = _legend_columns([h.get_label() for h in handles], width - 2 * MARGIN, 7)
    legend_height = _lines_height(-(-len(handles) // ncol), 7) + 0.1
    lines = _caption_lines(caption, width)
    caption_height = _lines_height(len(lines), CAPTION_SIZE)
    ticks_on_top = count > 40   # a long list gets its scale above as well as below
    top = 0.15 + _lines_height(len(title), TITLE_SIZE) + 0.1 + (0.3 if ticks_on_top else 0.0)
    bottom = 0.5 + legend_height + 0.1 + caption_height + 0.08
    fig = _new_figure(width, top + _rows_height(max(count, 1)) + bottom)
    return fig, _place_axes(fig, left=left, right=right, top=top, bottom=bottom), ncol, lines, ticks_on_top, \
        caption_height


def _new_figure(width, height):
    fig = Figure(figsize=(width, height), dpi=150)
    fig.patch.set_facecolor("white")
    return fig


def _place_axes(fig, left, right, top, bottom):
    """Margins in inches, so a tall figure keeps the same room for labels and caption."""
    width, height = fig.get_size_inches()
    return fig.add_axes([left / width, bottom / height,
                         1 - (left + right) / width, 1 - (top + bottom) / height])


def _caption_lines(text, fig_width):
    return wrap(text, fig_width - 2 * MARGIN, CAPTION_SIZE)


def _caption(fig, lines, bottom_inches=0.08):
    """Method note at the foot of the figure, wrapped beforehand to the figure's width."""
    width, height = fig.get_size_inches()
    fig.text(MARGIN / width, bottom_inches / height, "\n".join(lines), fontsize=CAPTION_SIZE,
             ha="left", va="bottom", color="#333333", linespacing=LINE_SPACING)


def _title_lines(text, axes_width):
    return wrap(text, axes_width, TITLE_SIZE, bold=True)


def _title(ax, lines, above=0.0, pad=6.0):
    """Bold title over the axes, `above` inches higher than the axes' top (room for tick labels
    there). Placed, not left to matplotlib, whose automatic placement measures every tick label
    three times per drawing: most of a 150-council caterpillar plot's drawing time."""
    height = ax.get_position().height * ax.figure.get_size_inches()[1]
    ax.set_title("\n".join(lines), loc="left", fontsize=TITLE_SIZE, fontweight="bold",
                 y=1.0 + above / height, pad=pad, linespacing=LINE_SPACING)


def _no_axis_label(axis):
    """An axis without a label: fix its (empty) label's place so drawing does not measure every
    tick label to move it."""
    axis.set_label_coords(0.0, 0.0)


def _value_axis(axis, decimals):
    """Ticks at steps of 1, 2 or 5 (never 2.5, whose ticks read to one place more than the measure is
    published to), labelled at the measure's published precision when it is finer than 1 dp (1J,
    ASCOT: 0.400); percentages and 0-24 scores keep plain labels (60, 70, 80; 18.0, 18.5)."""
    axis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 5, 10]))
    if decimals > 1:
        axis.set_major_formatter(FormatStrFormatter(f"%.{decimals}f"))


def _rows_height(count, per_row=0.14):
    return max(1.9, count * per_row + 0.1)


def _row_font(count):
    return 8 if count <= 40 else 7 if count <= 90 else 6


def _row_labels(ax, y, names, size, highlight=None):
    """A name at each row, left of the axes, with a tick mark: what `ax.set_yticks(y, names)` draws
    (same place, alignment and marks), as one RowNames artist: 150 matplotlib Ticks, or even 150 Texts, cost
    more to make and to draw than everything else in a caterpillar plot; it draws the same pixels. Returns it
    (its names bottom row first). `highlight`: a boolean per row, drawn bold in orange."""
    from matplotlib import lines as mlines
    from matplotlib.transforms import ScaledTranslation

    ax.set_yticks([])
    rc = matplotlib.rcParams
    tick_size, tick_pad = rc["ytick.major.size"], rc["ytick.major.pad"]
    base = ax.get_yaxis_transform(which="tick1")
    ax.plot(np.zeros(len(y)), y, linestyle="", marker=mlines.TICKLEFT, markersize=tick_size,
            markeredgewidth=rc["ytick.major.width"], color=rc["ytick.color"], transform=base,
            clip_on=False, zorder=2.5)
    place = base + ScaledTranslation(-(tick_size + tick_pad) / 72, 0, ax.figure.dpi_scale_trans)
    colour = rc["ytick.color"] if rc["ytick.labelcolor"] == "inherit" else rc["ytick.labelcolor"]
    return ax.add_artist(RowNames(y, names, transform=place, size=size, va=rc["ytick.alignment"], colour=colour,
                                  highlight=HIGHLIGHT, bold=highlight))


def _legend_columns(labels, width, size=LEGEND_SIZE):
    """Legend columns for `labels` across `width` inches: all in one row if they fit, else two rows,
    else one column (matplotlib's legend: 2 em of handle, 0.8 em to the text, 2 em between columns)."""
    em = size / 72
    entries = [text_width(t, size) + 2.8 * em for t in labels]
    for ncol in dict.fromkeys((len(entries), -(-len(entries) // 2))):
        columns = [entries[i * -(-len(entries) // ncol):(i + 1) * -(-len(entries) // ncol)] for i in range(ncol)]
        if sum(max(c) for c in columns if c) + 2 * em * (ncol - 1) <= width:
            return ncol
    return 1


# --------------------------------------------------------------------------------------------------

def funnel_plot(funnel: compare.Funnel, *, measure_name=None, highlight=None, label_outliers=True,
                code=None, decimals=None, note=""):
    """Councils' estimates against effective sample size, with the funnel's control limits.

    Points are coloured by the 95% verdict. Councils outside the outer limits are named, or every
    coloured council when there are at most NAMED_AT_MOST of them (a few councils: the reader can
    see who each is). `code` is the code shown (default the funnel's measure), `decimals` the
    precision of the numbers shown (default the measure's published one), `note` a remark for the
    caption ("1J in ascof-2022-23").
    """
    councils = funnel.councils
    code = funnel.measure if code is None else code
    d = measure_decimals(funnel.measure) if decimals is None else decimals
    outer, inner = max(funnel.levels), min(funnel.levels)
    label = _label(code, measure_name)
    flagged = {level: councils[f"flag_{compare.level_suffix(level)}"] != "within" for level in (inner, outer)}
    name_level = inner if flagged[inner].sum() <= NAMED_AT_MOST else outer
    to_name = councils[flagged[name_level]] if label_outliers else councils.iloc[:0]
    overdispersion = {"none": "alone", "multiplicative": "and over-dispersion",
                      "additive": "and over-dispersion"}[funnel.overdispersion]
    caption = (
        f"{label}{f'; {note}' if note else ''}. {METHOD}; {funnel.describe(d)}. Each point is a council, "
        f"placed by its effective sample size n_eff\u00a0=\u00a0{_n_eff_formula(funnel)}, the sample size its "
        f"confidence interval uses. Colour: above or below the {inner * 100:g}% limits; councils outside the "
        f"{name_level * 100:g}% limits are named. Why the caterpillar plot may flag other councils: this funnel "
        f"compares each council with England's value ({number_text(funnel.target, d)}) using limits from "
        f"the council's effective sample size {overdispersion}; the caterpillar plot shows each council's "
        f"own 95% confidence interval. {len(councils)} councils.")

    width, left, right, axes_height = 8.5, 0.8, 0.25, 4.5
    title = _title_lines(label + ("" if funnel.breakdown == "total" else f" ({funnel.group})"),
                         width - left - right)
    legend_labels = [f"{inner * 100:g}% limits", f"{outer * 100:g}% limits",
                     f"England {number_text(funnel.target, d)}{_units(funnel.kind)}",
                     f"Above {inner * 100:g}% limit", f"Below {inner * 100:g}% limit", "Within limits"]
    ncol = _legend_columns(legend_labels, width - 2 * MARGIN)
    legend_height = _lines_height(-(-len(legend_labels) // ncol), LEGEND_SIZE) + 0.1
    lines = _caption_lines(caption, width)
    caption_height = _lines_height(len(lines), CAPTION_SIZE)
    top = 0.15 + _lines_height(len(title), TITLE_SIZE) + 0.1
    bottom = 0.5 + legend_height + 0.1 + caption_height + 0.08
    fig = _new_figure(width, top + axes_height + bottom)
    ax = _place_axes(fig, left=left, right=right, top=top, bottom=bottom)

    n_min, n_max = councils["n"].min(), councils["n"].max()
    grid = np.geomspace(max(1.0, 0.5 * n_min), 1.1 * n_max, 300)
    if funnel.method == "exact":
        grid = np.unique(np.rint(grid))
    curve = funnel.limits(grid)
    handles = []
    for level, style in ((inner, "--"), (outer, "-")):
        suffix = compare.level_suffix(level)
        for side in ("lower", "upper"):
            line, = ax.plot(curve["n"], curve[f"{side}_{suffix}"], style, color="#555555", linewidth=1)
        handles.append(line)
    handles.append(ax.axhline(funnel.target, color=OKABE_ITO["black"], linewidth=1))

    flags = councils[f"flag_{compare.level_suffix(inner)}"]
    ax.scatter(councils["n"], councils["estimate"], s=22, c=_colour(flags), edgecolors="white",
               linewidths=0.5, zorder=3)
    if highlight is not None:
        chosen = councils[councils["area_code"] == highlight]
        ax.scatter(chosen["n"], chosen["estimate"], s=70, marker="D", facecolors=HIGHLIGHT,
                   edgecolors="black", linewidths=0.8, zorder=4)
        to_name = pd.concat([to_name, chosen]).drop_duplicates("area_code")
    x_max = 1.1 * n_max
    ax.set_xlim(0, x_max)
    ax.autoscale_view()
    _name_points(ax, to_name["n"].to_numpy(float), to_name["estimate"].to_numpy(float),
                 to_name["area_name"].astype("str").tolist(), x_max)

    for verdict in ("above", "below", "within"):
        handles.append(Line2D([], [], marker="o", linestyle="", color=VERDICT_COLOURS.get(verdict, NEUTRAL)))
    fig.legend(handles, legend_labels, loc="lower left", ncol=ncol, fontsize=LEGEND_SIZE, frameon=False,
               bbox_to_anchor=(MARGIN / width, (0.08 + caption_height + 0.1) / fig.get_size_inches()[1]),
               borderaxespad=0, borderpad=0)
    ax.set_xlabel(f"Effective sample size, n_eff = {_n_eff_formula(funnel)}", fontsize=9)
    ax.set_ylabel("Percent" if funnel.kind == "proportion" else "Score", fontsize=9)
    _value_axis(ax.yaxis, d)
    ax.tick_params(labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    _title(ax, title)
    _caption(fig, lines)
    return fig


def _name_points(ax, x, y, names, x_max, size=7):
    """Name points beside them without one name over another: each name takes the first free place
    of right-above, right-below, left-above, left-below its point (names at the right edge start on
    the left, so they stay inside the figure); a name with no free place keeps the first."""
    to_inches = ax.transData + ax.figure.dpi_scale_trans.inverted()
    height = 1.25 * size / 72
    taken = []
    for xx, yy, name in sorted(zip(x, y, names), key=lambda item: -item[1]):
        px, py = to_inches.transform((xx, yy))
        width, gap = text_width(name, size), 4 / 72
        places = [(gap, gap * 0.75), (gap, -gap * 0.75 - height), (-gap - width, gap * 0.75),
                  (-gap - width, -gap * 0.75 - height)]
        if xx > 0.7 * x_max:
            places = places[2:] + places[:2]
        chosen = places[0]
        for dx, dy in places:
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in taken):
                chosen = (dx, dy)
                break
        taken.append((px + chosen[0], py + chosen[1], px + chosen[0] + width, py + chosen[1] + height))
        ax.annotate(name, (xx, yy), xytext=(chosen[0] * 72, chosen[1] * 72), textcoords="offset points",
                    ha="left", va="bottom", fontsize=size, color="#222222")


def _n_eff_formula(funnel):
    """How the funnel's effective sample size is defined (`surveykit.ci.effective_sample_size`)."""
    if funnel.kind == "proportion":
        return "p(1\u00a0−\u00a0p)\u00a0/\u00a0SE²"      # a caption wraps around a formula, never inside it
    return "s²\u00a0/\u00a0SE² (s² the score's variance)"


def caterpillar_plot(results, measure, *, measure_name=None, breakdown="total", group="Total",
                     highlight=None, kind=None, code=None, decimals=None, note="", comparison=None):
    """Councils sorted by estimate with their 95% intervals, against England's estimate.

    Colour is the council's difference from England at 95% (surveykit.compare.compare_to), which
    accounts for the council being part of England; overlapping intervals alone would mislead.
    Tall on purpose: one row per council, so 150 councils stay legible. `code`, `decimals` and
    `note` as for `funnel_plot`; `comparison`: compare_to(results), when already made (a run's
    figures make it once for every measure), else it is made for this measure.
    """
    rows = results[(results["measure"] == measure) & (results["breakdown"] == breakdown)
                   & (results["group"] == group)]
    councils = rows[(rows["area_level"] == "council") & rows["estimate"].notna()]
    if councils.empty:
        raise SurveyKitError(f"no council results for measure {measure!r} ({breakdown} {group})",
                             column="measure", value=measure)
    england = rows[rows["area_level"] == "england"]
    if len(england):
        compared = (compare.compare_to(rows) if comparison is None else
                    comparison[(comparison["measure"] == measure) & (comparison["breakdown"] == breakdown)
                               & (comparison["group"] == group)])
        verdict = compared.set_index("area_code")["significance_95"]
        councils = councils.assign(verdict=councils["area_code"].map(verdict).to_numpy())
    else:
        councils = councils.assign(verdict="not available")
    councils = councils.sort_values(["estimate", "area_name"]).reset_index(drop=True)
    count = len(councils)
    kind = _kind(councils["estimate"], kind)
    code = measure if code is None else code
    d = measure_decimals(measure) if decimals is None else decimals
    label = _label(code, measure_name)
    names = councils["area_name"].astype("str")
    font = _row_font(count)

    caption = (
        f"{label}{f'; {note}' if note else ''}. {METHOD}. Each bar is a council's own 95% confidence "
        "interval, councils sorted by estimate; colour: the council's difference from England tested at "
        "95%, allowing for the council's share of England. Why the funnel plot may flag other councils: "
        "it compares each council with England's value using limits set by the council's effective sample "
        f"size (and over-dispersion, where allowed for), not the council's own interval. {count} councils.")
    left, right = max(1.0, max(text_width(n, font) for n in names) + 0.2), 0.3
    width = max(8.0, left + 5.6 + right)          # the axes keep 5.6 inches whatever the names take
    axes_width = width - left - right
    title = _title_lines(label + ("" if breakdown == "total" else f" ({group})"), axes_width)
    handles = [Line2D([], [], marker="o", color=VERDICT_COLOURS["higher"], label="Higher than England"),
               Line2D([], [], marker="o", color=NEUTRAL, label="Not significantly different"),
               Line2D([], [], marker="o", color=VERDICT_COLOURS["lower"], label="Lower than England")]
    if len(england):
        england_label = f"England {number_text(england['estimate'].iloc[0], d)}{_units(kind)} (shaded: 95% CI)"
        handles.append(Line2D([], [], color=OKABE_ITO["black"], label=england_label))
    fig, ax, ncol, lines, ticks_on_top, caption_height = _rows_figure(width, left, right, title, handles, caption,
                                                                      count)

    y = np.arange(count)
    colours = _colour(councils["verdict"])
    ax.hlines(y, councils["ci_lower"], councils["ci_upper"], colors=colours, linewidth=1.2)
    ax.scatter(councils["estimate"], y, s=14, c=colours, zorder=3)
    if len(england):
        e = england.iloc[0]
        ax.axvspan(e["ci_lower"], e["ci_upper"], color="#dddddd", zorder=0, linewidth=0)
        ax.axvline(e["estimate"], color=OKABE_ITO["black"], linewidth=1)
    _row_labels(ax, y, names, font, highlight=(councils["area_code"] == highlight).to_numpy())
    ax.set_ylim(-0.7, count - 0.3)
    ax.tick_params(axis="x", labelsize=8, top=ticks_on_top, labeltop=ticks_on_top)
    _value_axis(ax.xaxis, d)
    _no_axis_label(ax.yaxis)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("Percent" if kind == "proportion" else "Score", fontsize=9)
    _title(ax, title, above=0.3 if ticks_on_top else 0.0)
    fig.legend(handles=handles, loc="lower left", ncol=ncol, fontsize=7, frameon=False,
               bbox_to_anchor=(MARGIN / width, (0.08 + caption_height + 0.1) / fig.get_size_inches()[1]),
               borderaxespad=0, borderpad=0)
    _caption(fig, lines)
    return fig


def spine_plot(comparison, council, *, measure_names=None, breakdown="total", group="Total",
               measure_codes=None):
    """A council's measures against England: one row per measure, England at the centre.

    `comparison` is surveykit.compare.compare_to(results) for all councils. Each row is scaled by the
    largest council difference for that measure, so measures in percent and in score points share
    one chart; the light band is the range of councils, the darker band their middle half. The
    council's difference and 95% interval are coloured by significance; values are printed at right,
    each measure to its published precision. `measure_codes` maps a measure to the code shown (its
    `--framework` code); long measure names wrap, and the figure widens and deepens to hold them.
    """
    measure_names = measure_names or {}
    measure_codes = measure_codes or {}
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

    labels = {m: _label(measure_codes.get(m, m), measure_names.get(m)) for m in mine.index}
    wrapped = {m: wrap(text, SPINE_LABEL_WIDTH, 8.5) for m, text in labels.items()}
    values = []
    for measure, row in mine.iterrows():
        d = measure_decimals(measure)
        values.append((number_text(row["estimate"], d), number_text(row["comparator_estimate"], d),
                       f"{number_text(row['difference'], d, sign=True)} "
                       f"({number_text(row['difference_ci_lower'], d, sign=True)} to "
                       f"{number_text(row['difference_ci_upper'], d, sign=True)})"))
    headers = ("Council", str(mine["comparator_name"].iloc[0]), "Difference (95% CI)")
    offsets, x = [], 0.25                       # inches right of the axes for each value column
    for i, header in enumerate(headers):
        offsets.append(x)
        x += max([text_width(header, 8, bold=True)] + [text_width(v[i], 8) for v in values]) + 0.3
    left = max(text_width(line, 8.5) for lines in wrapped.values() for line in lines) + 0.25
    left, right, axes_width = left + MARGIN, x + MARGIN, 4.6
    width = left + axes_width + right

    caption = (f"{METHOD}; 95% CI of the difference, allowing for the council's share "
               "of the comparator; blue higher, vermillion lower, grey not significant. Each row is scaled "
               "to the largest council difference for that measure; bands: range and middle half of all "
               "councils.")
    lines = _caption_lines(caption, width)
    most_lines = max(len(v) for v in wrapped.values())
    pitch = max(0.42, _lines_height(most_lines, 8.5) + 0.14)
    top, bottom = 0.75, 0.45 + 0.1 + _lines_height(len(lines), CAPTION_SIZE) + 0.08
    fig = _new_figure(width, top + pitch * count + bottom)
    ax = _place_axes(fig, left=left, right=right, top=top, bottom=bottom)

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
    ax.set_yticks(y, ["\n".join(wrapped[m]) for m in mine.index], fontsize=8.5)
    for tick in ax.get_yticklabels():
        tick.set_verticalalignment("center")
        tick.set_linespacing(LINE_SPACING)
    _no_axis_label(ax.yaxis)
    ax.spines[["top", "right", "left"]].set_visible(False)
    ax.tick_params(axis="y", length=0)

    header_y = count - 0.4
    columns = [1 + inches / axes_width for inches in offsets]
    for text, x in zip(headers, columns):
        ax.text(x, header_y, text, transform=ax.get_yaxis_transform(), fontsize=8, fontweight="bold",
                va="bottom")
    for yy, row_values in zip(y, values):
        for x, value in zip(columns, row_values):
            ax.text(x, yy, value, transform=ax.get_yaxis_transform(), fontsize=8, va="center")
    name = mine["area_name"].iloc[0]
    title = wrap(f"{name} against {mine['comparator_name'].iloc[0]}", axes_width + right - MARGIN,
                 TITLE_SIZE, bold=True)
    _title(ax, title, above=0.22)
    _caption(fig, lines)
    return fig


def dumbbell_plot(change, measure, *, measure_name=None, area_level="council", breakdown="total",
                  group="Total", kind=None, code=None, decimals=None):
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
    kind = _kind(rows[["estimate_a", "estimate_b"]].to_numpy().ravel(), kind)
    code = measure if code is None else code
    d = measure_decimals(measure) if decimals is None else decimals
    label = _label(code, measure_name)
    names = usable["area_name"].astype("str")
    font = _row_font(count)

    note = f" {dropped} not comparable between the years, not shown." if dropped else ""
    caption = (f"{label}. {METHOD}; change tested at 95% with independent samples "
               f"(SE = sqrt(SE_a^2 + SE_b^2)); sorted by {year_b} estimate. {count} areas.{note}")
    left, right = max([1.0] + [text_width(n, font) + 0.2 for n in names]), 0.3
    width = max(8.0, left + 5.6 + right)
    axes_width = width - left - right
    title = _title_lines(f"{label}, {year_a} to {year_b}", axes_width)
    handles = [Line2D([], [], marker="o", linestyle="", markerfacecolor="white",
                      markeredgecolor="black", label=year_a),
               Line2D([], [], marker="o", linestyle="", color="black", label=year_b),
               Line2D([], [], color=VERDICT_COLOURS["increase"], label="Significant increase"),
               Line2D([], [], color=NEUTRAL, label="No significant change"),
               Line2D([], [], color=VERDICT_COLOURS["decrease"], label="Significant decrease")]
    fig, ax, ncol, lines, ticks_on_top, caption_height = _rows_figure(width, left, right, title, handles, caption,
                                                                      count)

    y = np.arange(count)
    colours = _colour(usable["significance_95"])
    ax.hlines(y, usable["estimate_a"], usable["estimate_b"], colors=colours, linewidth=1.6)
    ax.scatter(usable["estimate_a"], y, s=18, facecolors="white", edgecolors=colours,
               linewidths=1.0, zorder=3, label=year_a)
    ax.scatter(usable["estimate_b"], y, s=18, c=colours, zorder=3, label=year_b)
    _row_labels(ax, y, names, font)
    ax.set_ylim(-0.7, max(count, 1) - 0.3)
    ax.tick_params(axis="x", labelsize=8, top=ticks_on_top, labeltop=ticks_on_top)
    _value_axis(ax.xaxis, d)
    _no_axis_label(ax.yaxis)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.6)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlabel("Percent" if kind == "proportion" else "Score", fontsize=9)
    _title(ax, title, above=0.3 if ticks_on_top else 0.0)
    fig.legend(handles=handles, loc="lower left", ncol=ncol, fontsize=7, frameon=False,
               bbox_to_anchor=(MARGIN / width, (0.08 + caption_height + 0.1) / fig.get_size_inches()[1]),
               borderaxespad=0, borderpad=0)
    _caption(fig, lines)
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
            if fmt == "png":
                Path(tmp).write_bytes(png_bytes(fig, dpi=150))
            else:
                write_svg(fig, tmp, dpi=150)        # text stays text; the same figure is the same file
        atomic_write(target, render)
    return targets


def _jobs(measures, spine_councils):
    """What write_plots draws, the costliest first so that parallel workers finish together."""
    jobs = [("caterpillar", code) for code in measures]
    jobs += [("spine", council) for council in spine_councils]
    return jobs + [("funnel", code) for code in measures]


def _draw(job, context) -> list[str]:
    """Draw and save one figure of a run; returns the paths written."""
    kind, key = job
    results, out_dir = context["results"], Path(context["out_dir"])
    if kind == "spine":
        measures = context["measures"]
        fig = spine_plot(_comparison(context), key, measure_names={c: m.name for c, m in measures.items()},
                         measure_codes={c: m.shown for c, m in measures.items()})
        stem = f"spine-{_safe(key)}"
    else:
        m = context["measures"][key]
        options = dict(measure_name=m.name, code=m.shown, decimals=m.decimals, note=m.note)
        if kind == "funnel":
            fig = funnel_plot(compare.funnel(results, m.code, kind=m.kind), **options)
        else:
            compared = _comparison(context) if (results["area_level"] == "england").any() else None
            fig = caterpillar_plot(results, m.code, kind=m.kind, comparison=compared, **options)
        stem = f"{kind}-{m.file_stem}"
    return [str(p) for p in save_figure(fig, out_dir / stem)]


def _comparison(context):
    """Every council against England (compare.compare_to), made once per process for its caterpillar and spine
    plots."""
    if "comparison" not in context:
        context["comparison"] = compare.compare_to(context["results"])
    return context["comparison"]


_WORKER_CONTEXT: dict = {}


def _start_worker(context):
    import gc
    import signal

    from surveykit.contained import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)      # Ctrl-C is for the main process to handle
    die_with_parent()                                 # a worker of plot_server.py's process goes with it
    # a figure makes some 30,000 objects, and at Python's default thresholds the collector ran about 290 times in
    # a national run's figures (a tenth of their time); every 20,000 allocations it runs 9 times, in no more memory
    gc.set_threshold(20_000, 10, 10)
    _WORKER_CONTEXT.clear()
    _WORKER_CONTEXT.update(context)


def _draw_in_worker(job):
    return _draw(job, _WORKER_CONTEXT)


def plot_workers() -> int:
    """Processes to draw with: SURVEYKIT_PLOT_WORKERS if set (1 draws in the main process), else
    one per core this process may use."""
    given = os.environ.get("SURVEYKIT_PLOT_WORKERS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise SurveyKitError(f"SURVEYKIT_PLOT_WORKERS must be a whole number of processes, 1 or more, "
                                 f"not {given!r}", value=given)
        return int(given)
    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def write_plots(results, spec, out_dir, *, spine_councils=(), progress=False, workers=None):
    """The run's figures as PNG and SVG: a funnel and a caterpillar plot per measure, and a spine
    plot for each council in `spine_councils`. Returns the paths written, funnel and caterpillar of
    each measure in the spec's order, then the spine plots.

    Figures are drawn by `workers` processes (default: one per core; 1 draws here, in this process).
    Each figure is drawn from the same data whichever process draws it, so the files are the same.
    With `--framework`, titles and file names carry the framework's codes (see `plot_measures`).
    """
    return start_plots(results, spec, out_dir, spine_councils=spine_councils, progress=progress,
                       workers=workers).wait()


def start_plots(results, spec, out_dir, *, spine_councils=(), progress=False, workers=None,
                first_here=False) -> "Plotting":
    """``write_plots`` begun: the workers start drawing now, while the caller gets on with other work (the
    main job's tables); ``wait()`` gives the paths. With one worker the figures are drawn in ``wait``.

    ``first_here``: draw the first (costliest) figure in this process before the workers are forked, so that
    each starts with what it laid out (figure_files keeps every text's measurements and layout per process:
    a caterpillar plot's 152 names are most of the first one's cost, paid once rather than by every worker).
    For a caller with nothing else to do meanwhile, as plot_server.py's process."""
    return Plotting(results, spec, out_dir, spine_councils, progress, workers, first_here)


class Plotting:
    """The figures of one run, being drawn by worker processes (see ``start_plots``)."""

    def __init__(self, results, spec, out_dir, spine_councils, progress, workers, first_here=False):
        out_dir = Path(out_dir)
        self.measures = plot_measures(spec, results)
        self.spine_councils = list(dict.fromkeys(str(c) for c in spine_councils))
        self.jobs = _jobs(self.measures, self.spine_councils)
        self.context = {"results": results[results["breakdown"] == "total"], "measures": self.measures,
                        "out_dir": str(out_dir)}
        self.progress = progress
        self.workers = min(plot_workers() if workers is None else int(workers), len(self.jobs))
        self.pool = None
        self.futures = {}
        self.drawn = {}                 # figures drawn here, before the workers were forked
        if self.workers > 1 and first_here:
            self.drawn[self.jobs[0]] = _draw(self.jobs[0], self.context)
        if self.workers > 1:           # so two jobs or more: one left after the first at least
            import gc
            import multiprocessing

            rest = [job for job in self.jobs if job not in self.drawn]
            methods = multiprocessing.get_all_start_methods()
            start = multiprocessing.get_context("fork" if "fork" in methods else None)
            gc.freeze()       # forked workers' garbage collection leaves the parent's objects (and pages) alone
            try:
                self.pool = ProcessPoolExecutor(min(self.workers, len(rest)), mp_context=start,
                                                initializer=_start_worker, initargs=(self.context,))
                # a forking pool starts every worker at the first submit: none is forked after the freeze ends
                self.futures = {self.pool.submit(_draw_in_worker, job): job for job in rest}
            finally:
                gc.unfreeze()

    def wait(self, on_done=None) -> list[Path]:
        """The paths written, once every figure is; ``on_done()`` is called as each is (plot_server.py's
        progress)."""
        from tqdm.auto import tqdm

        done = {}
        with tqdm(total=len(self.jobs), desc="plots", disable=not self.progress, unit="plot") as bar:
            def finished(job, paths):
                done[job] = paths
                bar.update()
                if on_done:
                    on_done()

            for job, paths in self.drawn.items():
                finished(job, paths)
            if self.pool is None:
                for job in self.jobs:
                    finished(job, _draw(job, self.context))
            else:
                try:
                    for future in as_completed(self.futures):
                        finished(self.futures[future], future.result())
                except BaseException:
                    self.cancel()
                    raise
                self.pool.shutdown(wait=True)
        order = [(kind, code) for code in self.measures for kind in ("funnel", "caterpillar")]
        order += [("spine", council) for council in self.spine_councils]
        return [Path(p) for job in order for p in done[job]]

    def cancel(self) -> None:
        """Stop drawing: figures not begun are not drawn; the workers are gone when this returns."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
