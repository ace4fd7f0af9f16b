"""One self-contained HTML page per run, to send to colleagues: headline figures, plots, data quality.

The page is built only from what a run left in its output folder (``ascof.csv``, ``run.json``, and
when present ``ledger.csv``, ``problems.csv``, ``plots/*.png``), so it can be remade at any time and
shows exactly the published (rounded, suppressed) figures. Everything in it comes from user files,
so every piece of text is HTML-escaped; styles are inline and plots are embedded as base64 PNG, so the
page needs nothing else to open (no scripts, no web fonts, no network).
"""

from __future__ import annotations

import base64
import html
import json
from decimal import ROUND_HALF_UP, Decimal
from dataclasses import dataclass, field
from functools import reduce
from operator import add
from pathlib import Path

import numpy as np
import pandas as pd

import surveykit
from surveykit.errors import SurveyKitError
from surveykit.publish.atomic import atomic_write
from surveykit.questionnaire import available_specs, load_spec
from surveykit.publish.rules import publishing_rules

REPORT_NAME = "report.html"
ASCOF_COLUMNS = ["measure", "area_level", "area_code", "area_name", "breakdown", "group", "estimate",
                 "ci_lower", "ci_upper", "margin_of_error", "respondents"]
LEDGER_COLUMNS = ["used", "reason"]
PROBLEM_COLUMNS = ["severity", "file", "row", "column", "value", "rule", "message"]
HEADLINE_BREAKDOWNS = ["total", "sex", "age_group"]  # the published splits, in the order shown
PROBLEMS_LISTED = 20
# Plots are embedded until this many bytes of PNG (about 1.33 times as much page); the rest are
# named, so a national run with a spine plot per council still makes a page that can be e-mailed.
PLOT_BUDGET_BYTES = 10_000_000
PLOT_ORDER = ["funnel", "caterpillar", "dumbbell", "spine"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
NO_REASON = "(no reason given)"

SURVEY_NAMES = {"ascs": "Adult Social Care Survey", "sace": "Survey of Adult Carers in England"}
STRATA_NOTE = {
    "ascs": "ASCS councils have four strata: learning disability support (any age); 18-64; 65 and over "
            "in residential or nursing care; 65 and over in the community.",
    "sace": "SACE has one stratum per council (all eligible carers known to the council).",
}
CI_METHODS = {  # named as R's survey package names them (DESIGN.md)
    "wald": "Wald (normal quantile; R survey confint(svymean()))",
    "wald-t": "Wald with a t quantile on the design degrees of freedom (R svyciprop method \"mean\")",
    "logit": "logit transform (R svyciprop method \"logit\")",
    "xlogit": "xlogit transform (R svyciprop method \"xlogit\")",
    "asin": "arcsine transform (R svyciprop method \"asin\")",
    "beta": "Korn-Graubard beta interval (R svyciprop method \"beta\")",
    "wilson": "Wilson score interval (R survey 4.5 definition)",
}

# Okabe-Ito colour-blind-safe accents (blue #0072B2, orange #E69F00, bluish green #009E73); warnings
# also say "Warning" in words, so colour is never the only signal.
CSS = """
:root { --ink:#1b1b1b; --muted:#555; --rule:#d0d4d9; --stripe:#f4f6f8; --blue:#0072B2;
        --orange:#E69F00; --green:#009E73; }
* { box-sizing:border-box; }
body { margin:0; font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
       color:var(--ink); background:#fff; }
header { background:var(--blue); color:#fff; padding:22px 36px 18px; }
header h1 { margin:0 0 4px; font-size:26px; font-weight:650; }
header p { margin:0; opacity:.92; }
main { padding:8px 36px 40px; max-width:1280px; }
nav { margin:14px 0 4px; font-size:14px; }
nav a { color:var(--blue); margin-right:16px; }
h2 { font-size:20px; margin:30px 0 8px; padding-bottom:4px; border-bottom:2px solid var(--blue); }
h3 { font-size:15px; margin:0 0 6px; }
p.note, .small { color:var(--muted); font-size:13px; }
table { border-collapse:collapse; margin:6px 0 14px; font-size:14px; }
th, td { padding:4px 10px; border-bottom:1px solid var(--rule); vertical-align:top; text-align:left; }
thead th { background:#e8eef4; border-bottom:2px solid #9fb3c8; font-weight:600; }
tbody tr:nth-child(even) td { background:var(--stripe); }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
tr.measure th { background:#fff; border-bottom:1px solid #9fb3c8; padding-top:12px; font-weight:600; }
tr.england td { font-weight:600; border-top:2px solid #9fb3c8; }
tr.differs td { background:#fff3d6 !important; font-weight:600; }
.cards { display:grid; grid-template-columns:repeat(auto-fill,minmax(270px,1fr)); gap:12px; margin:10px 0 18px; }
.card { border:1px solid var(--rule); border-top:4px solid var(--blue); padding:10px 14px; border-radius:4px; }
.card .code { font-weight:700; color:var(--blue); }
.card .value { font-size:30px; font-weight:650; font-variant-numeric:tabular-nums; margin:4px 0 0; }
.card .name { font-size:13px; color:var(--muted); min-height:2.6em; }
.grid { display:grid; grid-template-columns:repeat(auto-fill,minmax(560px,1fr)); gap:8px 28px; }
.wide { overflow-x:auto; }
.warning { border:2px solid var(--orange); border-left-width:8px; background:#fff8e8; padding:10px 14px;
           margin:10px 0; border-radius:4px; }
.ok { border-left:6px solid var(--green); background:#eef8f4; padding:8px 14px; margin:10px 0; }
figure { margin:12px 0 22px; }
figure img { max-width:100%; height:auto; border:1px solid var(--rule); }
figcaption { font-size:13px; color:var(--muted); }
code, .mono { font-family:ui-monospace,Menlo,Consolas,monospace; font-size:13px; word-break:break-all; }
dl.kv { display:grid; grid-template-columns:max-content 1fr; gap:4px 18px; }
dl.kv dt { font-weight:600; } dl.kv dd { margin:0; }
@media print { header { background:#fff; color:var(--ink); border-bottom:3px solid var(--blue); }
  tr, figure, .card { break-inside:avoid; } }
"""


@dataclass
class RunFolder:
    """What a run left behind, as read from its output folder (tables as published text)."""

    folder: Path
    ascof: pd.DataFrame
    run: dict
    ledger: pd.DataFrame | None = None
    problems: pd.DataFrame | None = None
    plots: list[Path] = field(default_factory=list)


# ------------------------------------------------------------------------------------------ reading

def _read_text_csv(path: Path, required: list[str]) -> pd.DataFrame:
    """Every cell as text exactly as written ("" for blank), so "[c]" and "NA" stay what they say."""
    try:
        frame = pd.read_csv(path, dtype="str", keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=required, dtype="str")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise SurveyKitError(f"cannot read: {exc}", file=path) from exc
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise SurveyKitError(f"lacks column(s) {', '.join(missing)}", file=path, column=missing[0])
    return frame


def _at_published_precision(ascof: pd.DataFrame) -> pd.DataFrame:
    """Each measure's figures to the decimals it is published to (publishing.yaml: 1J and ASCOT to 3),
    so a value a spreadsheet saved back as "0.45" still reads "0.450". Labels ("[c]") are left as
    they are; a number given to more places is rounded as the tables round (halves away from zero)."""
    rules = publishing_rules()["ascof"]
    by_measure = {str(k): int(v) for k, v in (rules.get("decimals_by_measure") or {}).items()}
    out = ascof.copy()
    for column, rule in rules["values"].items():
        if not rule.get("per_measure") or column not in out.columns:
            continue
        places = out["measure"].map(by_measure).fillna(int(rule["decimals"])).astype("int64")
        values = out[column].str.strip()
        given = values.str.extract(r"^[+-]?\d*(?:\.(\d*))?$")[0].str.len().fillna(0)
        redo = (_is_number(values) & (given != places)).to_numpy()   # only what is not as published
        if redo.any():
            out.loc[redo, column] = [_decimal_text(v, int(d)) for v, d in zip(values[redo], places[redo])]
    return out


def _decimal_text(text: str, places: int) -> str:
    """A number's text at `places` decimals, halves away from zero, never "-0.0"."""
    value = Decimal(text).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)
    return str(abs(value) if value.is_zero() else value)


def _read_ascof(path: Path) -> pd.DataFrame:
    """The published table; one row per area, split, group and measure (else the tables would lie)."""
    ascof = _at_published_precision(_read_text_csv(path, ASCOF_COLUMNS))
    keys = ["area_level", "area_code", "breakdown", "group", "measure"]
    twice = ascof.duplicated(keys)
    if twice.any():
        line = int(np.flatnonzero(twice.to_numpy())[0])
        dup = ascof.iloc[line]
        raise SurveyKitError(f"a second row for {dup['area_level']} {dup['area_code']}, {dup['breakdown']} "
                             f"{dup['group']}, measure {dup['measure']}", file=path, row=line + 2)
    return ascof


def _read_run_json(path: Path) -> dict:
    try:
        run = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SurveyKitError(f"cannot read the run record: {exc}", file=path) from exc
    if not isinstance(run, dict):
        raise SurveyKitError("the run record must be a JSON object", file=path)
    return run


def _parse_used(ledger: pd.DataFrame, path: Path) -> pd.Series:
    """The ledger's ``used`` column as booleans; anything but true/false names its CSV line."""
    text = ledger["used"].str.strip().str.lower()
    used = text.map({"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False})
    bad = used.isna()
    if bad.any():
        first = int(np.flatnonzero(bad.to_numpy())[0])
        raise SurveyKitError(f"expected True or False, found {ledger['used'].iloc[first]!r}", file=path,
                             row=first + 2, column="used", value=ledger["used"].iloc[first])
    return used.astype(bool)


def _plot_files(folder: Path) -> list[Path]:
    """PNG plots, the national comparisons (funnel, caterpillar) before per-council ones."""
    plots = folder / "plots"
    if not plots.is_dir():
        return []

    def rank(path: Path):
        name = path.stem.lower()
        kind = next((i for i, k in enumerate(PLOT_ORDER) if k in name), len(PLOT_ORDER))
        return kind, name

    return sorted((p for p in plots.iterdir() if p.suffix.lower() == ".png" and p.is_file()), key=rank)


def read_run_folder(out_dir) -> RunFolder:
    """Read a run's output folder; a missing ``ascof.csv`` or ``run.json`` is a SurveyKitError."""
    folder = Path(out_dir)
    if not folder.is_dir():
        raise SurveyKitError("not a folder: give the output folder of a surveykit run", file=folder)
    for name in ("ascof.csv", "run.json"):
        if not (folder / name).is_file():
            raise SurveyKitError(f"has no {name}: give the output folder of 'surveykit run'", file=folder)
    out = RunFolder(folder, _read_ascof(folder / "ascof.csv"), _read_run_json(folder / "run.json"),
                    plots=_plot_files(folder))
    if (folder / "ledger.csv").is_file():
        ledger = _read_text_csv(folder / "ledger.csv", LEDGER_COLUMNS)
        out.ledger = ledger.assign(used=_parse_used(ledger, folder / "ledger.csv"))
    if (folder / "problems.csv").is_file():
        out.problems = _read_text_csv(folder / "problems.csv", PROBLEM_COLUMNS)
    return out


# ------------------------------------------------------------------------------------ HTML pieces

def _esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _esc_series(values: pd.Series) -> pd.Series:
    """Escaped text of a whole column at once (& first, so nothing is escaped twice)."""
    text = values.astype("str").fillna("")
    for raw, safe in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        text = text.str.replace(raw, safe, regex=False)
    return text


def _is_number(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.fullmatch(NUMBER).fillna(False).astype(bool)


def _count_text(values: pd.Series) -> pd.Series:
    """Published counts with thousands separators ("6515" -> "6,515"); labels ("[c]") unchanged."""
    numbers = pd.to_numeric(values.where(_is_number(values)), errors="coerce")
    shown = numbers.map(lambda v: f"{v:,.0f}" if pd.notna(v) and float(v).is_integer() else None)
    return shown.astype("str").where(shown.notna(), values)


def _interval_text(lower: pd.Series, upper: pd.Series) -> pd.Series:
    both = _is_number(lower) & _is_number(upper)
    return pd.Series(np.where(both, lower + " – " + upper, np.where(lower == upper, lower, lower + " / " + upper)),
                     index=lower.index, dtype="str")


def _with_margin(estimate: pd.Series, margin: pd.Series) -> pd.Series:
    both = _is_number(estimate) & _is_number(margin)
    return pd.Series(np.where(both, estimate + " ± " + margin, estimate), index=estimate.index, dtype="str")


def _head(columns, numeric=(), titles: dict | None = None) -> str:
    titles = titles or {}
    cells = []
    for c in columns:
        cls = " class=num" if c in numeric else ""
        title = f' title="{_esc(titles[c])}"' if c in titles else ""
        cells.append(f"<th{cls}{title}>{_esc(c)}</th>")
    return "<thead><tr>" + "".join(cells) + "</tr></thead>"


def _rows(frame: pd.DataFrame, numeric=(), row_class: pd.Series | None = None) -> str:
    """Table rows for ``frame``, built a column at a time (text cells escaped)."""
    if frame.empty:
        return ""
    cells = [("<td class=num>" if c in numeric else "<td>") + _esc_series(frame[c]) + "</td>"
             for c in frame.columns]
    opening = "<tr>" if row_class is None else '<tr class="' + _esc_series(row_class) + '">'
    return "\n".join(opening + reduce(add, cells) + "</tr>")


def _table(frame: pd.DataFrame, numeric=(), row_class: pd.Series | None = None,
           titles: dict | None = None) -> str:
    """An HTML table of ``frame`` (text cells escaped), numeric columns right-aligned."""
    return (f"<table>{_head(frame.columns, numeric, titles)}<tbody>\n"
            f"{_rows(frame, numeric, row_class)}\n</tbody></table>")


def _kv(pairs) -> str:
    return "<dl class=kv>" + "".join(f"<dt>{_esc(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _show(value) -> str:
    """A run.json value as readable text (lists joined, mappings as JSON)."""
    if value is None:
        return "not recorded"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


# ------------------------------------------------------------------------------------ the measures

@dataclass
class Measures:
    """Measure codes in published order, with names and units (percent or score)."""

    codes: list[str]
    names: dict[str, str]
    percent: set[str]

    def name(self, code: str) -> str:
        """The measure's name without its code ("ASCOT preference-weighted ..." -> "Preference-weighted
        ..."), for where the code is shown beside it."""
        name = self.names.get(code, "")
        if _starts_with_code(name, code):
            rest = name[len(code):].lstrip(" :-–")
            return rest[:1].upper() + rest[1:]
        return name

    def label(self, code: str) -> str:
        """"1B: Control over daily life (%)"; a name that starts with its code is shown as it is
        ("ASCOT preference-weighted ..."), so the code is never doubled."""
        unit = " (%)" if code in self.percent else ""
        name = self.names.get(code, "")
        if _starts_with_code(name, code):
            return f"{name}{unit}"
        return f"{code}: {name}{unit}".rstrip(": ")


def _starts_with_code(name: str, code: str) -> bool:
    return bool(name) and name != code and name.startswith(code) and not name[len(code):len(code) + 1].isalnum()


def _measures(ascof: pd.DataFrame, run: dict) -> Measures:
    """Names from ascof.csv, else the questionnaire spec, else the publishing definitions."""
    codes = list(pd.unique(ascof["measure"]))
    names, percent = {}, set()
    survey_year = (str(run.get("survey", "")).lower(), str(run.get("year", "")))
    if survey_year in available_specs():  # only a bundled spec: run.json text never names a path
        spec = load_spec(*survey_year)
        names = {c: m.name for c, m in spec.measures.items()}
        percent = {c for c, m in spec.measures.items() if m.unit == "percent"}
    else:
        names = dict(publishing_rules().get("measure_definitions") or {})
    if "measure_name" in ascof.columns:
        given = ascof.loc[ascof["measure_name"] != "", ["measure", "measure_name"]].drop_duplicates("measure")
        names.update(zip(given["measure"], given["measure_name"]))
    return Measures(codes, names, percent)


def _ordered(rows: pd.DataFrame, measures: Measures) -> pd.DataFrame:
    """Rows in measure order, then the published splits in order, file order within a split."""
    measure_rank = rows["measure"].map({c: i for i, c in enumerate(measures.codes)})
    split_order = {b: i for i, b in enumerate(HEADLINE_BREAKDOWNS)}
    split_rank = rows["breakdown"].map(split_order).fillna(len(split_order))
    keys = pd.DataFrame({"m": measure_rank, "b": split_rank, "i": np.arange(len(rows))}, index=rows.index)
    return rows.loc[keys.sort_values(["m", "b", "i"]).index]


def _level(ascof: pd.DataFrame, level: str) -> pd.DataFrame:
    return ascof[ascof["area_level"].str.lower() == level]


def partial_areas(ascof: pd.DataFrame, run: dict) -> list[str]:
    """Names of the areas built from part of the country (run.json's coverage, else the names ascof.csv
    publishes: "England (partial: 140 of 152 councils)")."""
    coverage = run.get("coverage") if isinstance(run.get("coverage"), dict) else {}
    listed = coverage.get("partial") if isinstance(coverage.get("partial"), list) else []
    areas = ascof.loc[ascof["area_level"].str.lower().isin(["england", "region"]), "area_name"]
    named = [n for n in pd.unique(areas) if "(partial" in n or "(may be partial" in n]
    return list(dict.fromkeys([str(n) for n in listed] + named))


def _partial_warning(partial: list[str]) -> str:
    if not partial:
        return ""
    return ("<div class=warning><strong>Warning: built from part of the country.</strong> These figures are not "
            "the whole area's: " + _esc("; ".join(partial)) + ". Some of the area's councils have no return, or "
            "rows the population table or council lookup did not fit; see Data quality and problems.csv before "
            "publishing.</div>")


def _headline_section(ascof: pd.DataFrame, measures: Measures, ci_label: str, run: dict | None = None) -> str:
    england = _level(ascof, "england")
    if england.empty:
        omitted = (run or {}).get("omitted") if isinstance((run or {}).get("omitted"), dict) else {}
        why = omitted.get("England and region rows")
        if why:
            return (f"<h2 id=england>England</h2><p class=note>No England or regional figures in this run: "
                    f"{_esc(why)}.</p>")
        return "<h2 id=england>England</h2><p class=note>ascof.csv holds no England figures.</p>"
    name = str(england["area_name"].iloc[0]) or "England"
    totals = _ordered(england[england["breakdown"] == "total"], measures).drop_duplicates("measure")
    totals = totals.assign(ci=_interval_text(totals["ci_lower"], totals["ci_upper"]),
                           n=_count_text(totals["respondents"]), number=_is_number(totals["estimate"]))
    cards = []
    for row in totals.itertuples(index=False):  # one card per measure
        unit = "%" if row.number and row.measure in measures.percent else ""
        cards.append(
            f"<div class=card><div class=code>{_esc(row.measure)}</div>"
            f"<div class=name>{_esc(measures.name(row.measure))}</div>"
            f"<div class=value>{_esc(row.estimate)}{unit}</div>"
            f"<div class=small>{_esc(ci_label)} {_esc(row.ci)} · {_esc(row.n)} respondents</div></div>")

    shown = _ordered(england[england["breakdown"].isin(HEADLINE_BREAKDOWNS)], measures)
    table = pd.DataFrame({
        "Group": shown["group"], "Estimate": shown["estimate"],
        ci_label: _interval_text(shown["ci_lower"], shown["ci_upper"]),
        "Margin of error (±)": shown["margin_of_error"], "Respondents": _count_text(shown["respondents"]),
    })
    numeric = ["Estimate", ci_label, "Margin of error (±)", "Respondents"]
    bodies = [f"<tbody><tr class=measure><th colspan={len(table.columns)}>{_esc(measures.label(code))}</th></tr>"
              + _rows(table[shown["measure"] == code], numeric) + "</tbody>"
              for code in measures.codes if code in set(shown["measure"])]
    others = sorted(set(england["breakdown"]) - set(HEADLINE_BREAKDOWNS))
    more = (f"<p class=note>ascof.csv also holds England figures by {_esc(', '.join(others))}.</p>"
            if others else "")
    partial = _partial_warning([name]) if "partial" in name else ""
    return (f"<h2 id=england>{_esc(name)}: headline measures</h2>{partial}<div class=cards>" + "".join(cards) + "</div>"
            f"<h3>By sex and age group</h3><table>{_head(table.columns, numeric)}{''.join(bodies)}</table>{more}")


def _regions_section(ascof: pd.DataFrame, measures: Measures, ci_label: str, run: dict | None = None) -> str:
    regions = _level(ascof, "region")
    regions = regions[regions["breakdown"] == "total"]
    if regions.empty:
        omitted = (run or {}).get("omitted") if isinstance((run or {}).get("omitted"), dict) else {}
        why = omitted.get("England and region rows")
        if why:
            return f"<h2 id=regions>Regions</h2><p class=note>No regional figures in this run: {_esc(why)}.</p>"
        return ("<h2 id=regions>Regions</h2><p class=note>No regional figures in this run "
                "(regions need a council lookup: <code>--councils</code>).</p>")
    england = _level(ascof, "england")
    rows = pd.concat([regions.sort_values("area_name", kind="stable"),
                      england[england["breakdown"] == "total"]])
    blocks = []
    for code in [c for c in measures.codes if c in set(regions["measure"])]:  # a handful of measures
        part = rows[rows["measure"] == code]
        table = pd.DataFrame({"Region": part["area_name"], "Estimate": part["estimate"],
                              ci_label: _interval_text(part["ci_lower"], part["ci_upper"]),
                              "Respondents": _count_text(part["respondents"])})
        row_class = pd.Series(np.where(part["area_level"].str.lower() == "england", "england", ""),
                              index=part.index, dtype="str")
        blocks.append(f"<div><h3>{_esc(measures.label(code))}</h3>"
                      + _table(table, ["Estimate", ci_label, "Respondents"], row_class) + "</div>")
    return "<h2 id=regions>Regions</h2><div class=grid>" + "".join(blocks) + "</div>"


def _councils_section(ascof: pd.DataFrame, measures: Measures) -> str:
    councils = _level(ascof, "council")
    councils = councils[councils["breakdown"] == "total"]
    if councils.empty:
        return "<h2 id=councils>Councils</h2><p class=note>ascof.csv holds no council figures.</p>"
    cell = councils.assign(cell=_with_margin(councils["estimate"], councils["margin_of_error"]))
    wide = cell.pivot(index=["area_name", "area_code"], columns="measure", values="cell")
    codes = [c for c in measures.codes if c in wide.columns]
    wide = wide[codes].fillna("").reset_index().sort_values(["area_name", "area_code"], kind="stable")
    wide = wide.rename(columns={"area_name": "Council", "area_code": "Code"})
    titles = {c: measures.names.get(c, "") for c in codes}
    return ("<h2 id=councils>Councils</h2><p class=note>Estimate ± margin of error (95%) for every council "
            f"and measure, {len(wide):,} councils. Hover a measure code for its name.</p><div class=wide>"
            + _table(wide, codes, titles=titles) + "</div>")


# -------------------------------------------------------------------------------------------- plots

def _plots_section(plots: list[Path]) -> str:
    if not plots:
        return "<h2 id=plots>Plots</h2><p class=note>No plots in this run (run with <code>--plots</code>).</p>"
    figures, left_out, budget = [], [], PLOT_BUDGET_BYTES
    for path in plots:  # a few files: each is read once
        data = path.read_bytes()
        if not data.startswith(PNG_SIGNATURE):
            left_out.append(f"{path.name} (not a PNG file)")
        elif len(data) > budget:
            left_out.append(path.name)
        else:
            budget -= len(data)
            caption = path.stem.replace("_", " ").replace("-", " ")
            figures.append(f'<figure><img alt="{_esc(caption)}" src="data:image/png;base64,'
                           f'{base64.b64encode(data).decode("ascii")}"><figcaption>{_esc(path.name)}'
                           "</figcaption></figure>")
    note = ""
    if left_out:
        note = (f"<p class=note>Not embedded, to keep this page small enough to send "
                f"({len(left_out)}; see the plots folder): {_esc(', '.join(left_out))}.</p>")
    return "<h2 id=plots>Plots</h2>" + "".join(figures) + note


# ------------------------------------------------------------------------------------- data quality

def _as_count(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def reconcile(run: dict, ledger: pd.DataFrame | None) -> pd.DataFrame:
    """Row counts as run.json records them beside the ledger's own counts, one line per count.

    Columns ``item, run_json, ledger, agree``; ``ledger`` is None without a ledger, and a count
    run.json does not record (or records as something other than a whole number) never agrees.
    """
    excluded = run.get("excluded") or {}
    if not isinstance(excluded, dict):
        excluded = {}
    recorded = {"Rows read": run.get("rows_read"), "Rows used": run.get("rows_used")}
    recorded.update({f"Excluded: {reason}": count for reason, count in excluded.items()})
    from_ledger: dict[str, int | None] = {k: None for k in recorded}
    if ledger is not None:
        reasons = ledger.loc[~ledger["used"], "reason"].str.strip()
        counts = reasons.where(reasons != "", NO_REASON).value_counts(sort=False)
        from_ledger = {"Rows read": len(ledger), "Rows used": int(ledger["used"].sum())}
        from_ledger.update({f"Excluded: {r}": int(counts.get(r, 0)) for r in excluded})
        from_ledger.update({f"Excluded: {r}": int(n) for r, n in counts.items()})
    items = list(dict.fromkeys([*recorded, *from_ledger]))
    run_counts = [_as_count(recorded.get(i, 0 if i.startswith("Excluded") else None)) for i in items]
    ledger_counts = [from_ledger.get(i) for i in items]
    agree = [r is not None and (l is None or r == l) for r, l in zip(run_counts, ledger_counts)]
    frame = pd.DataFrame({"item": items, "run_json": run_counts, "ledger": ledger_counts, "agree": agree})
    read, used = _as_count(run.get("rows_read")), _as_count(run.get("rows_used"))
    excl = [_as_count(v) for v in excluded.values()]
    if read is not None and used is not None and None not in excl and read != used + sum(excl):
        extra = pd.DataFrame({"item": ["Rows read = used + excluded (run.json)"],
                              "run_json": [used + sum(excl)], "ledger": [read], "agree": [False]})
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def _quality_section(run: dict, ledger: pd.DataFrame | None, problems: pd.DataFrame | None) -> str:
    counts = reconcile(run, ledger)
    shown = pd.DataFrame({
        "Rows": counts["item"],
        "run.json": counts["run_json"].map(lambda v: "not recorded" if v is None or pd.isna(v) else f"{int(v):,}"),
        "ledger.csv": counts["ledger"].map(lambda v: "—" if v is None or pd.isna(v) else f"{int(v):,}"),
        "Agree": np.where(counts["agree"], "yes", "NO"),
    })
    table = _table(shown, ["run.json", "ledger.csv"],
                   pd.Series(np.where(counts["agree"], "", "differs"), index=counts.index, dtype="str"))
    parts = ["<h2 id=quality>Data quality</h2><h3>Rows read, used and excluded</h3>"]
    if ledger is None:
        parts.append("<div class=warning><strong>Warning:</strong> ledger.csv is missing, so the row counts "
                     "below (from run.json) could not be checked against the row-by-row ledger.</div>")
    elif not counts["agree"].all():
        differing = counts.loc[~counts["agree"], "item"].tolist()
        parts.append("<div class=warning><strong>Warning: run.json and ledger.csv disagree</strong> on "
                     f"{_esc('; '.join(differing))}. The figures may not come from the rows this ledger "
                     "lists; rerun before publishing.</div>")
    else:
        parts.append("<div class=ok>Every input row is accounted for: run.json and ledger.csv agree.</div>")
    parts.append(table)

    parts.append("<h3>Problems found in the return</h3>")
    if problems is None:
        parts.append("<p class=note>No problems.csv in this run folder.</p>")
    elif problems.empty:
        parts.append("<p>No problems were found.</p>")
    else:
        by_rule = (problems.groupby(["severity", "rule"], sort=False).size().rename("Count").reset_index()
                   .sort_values(["Count", "severity", "rule"], ascending=[False, True, True], kind="stable"))
        by_rule["Count"] = by_rule["Count"].map("{:,}".format)
        severities = problems["severity"].value_counts()
        summary = ", ".join(f"{n:,} {s}" for s, n in severities.items())
        first = problems[PROBLEM_COLUMNS].head(PROBLEMS_LISTED)
        first = first.rename(columns=str.capitalize)
        parts += [f"<p>{len(problems):,} problems ({_esc(summary)}).</p>",
                  _table(by_rule.rename(columns={"severity": "Severity", "rule": "Rule"}), ["Count"]),
                  f"<h3>First {len(first)} problems</h3><div class=wide>", _table(first, ["Row"]), "</div>"]
    return "".join(parts)


# ---------------------------------------------------------------------------------- method, origin

def _method_section(run: dict, ci_label: str) -> str:
    rules = publishing_rules()
    options = run.get("options") if isinstance(run.get("options"), dict) else {}
    method = str(options.get("ci") or "wald")
    survey = str(run.get("survey", "")).lower()
    legend = "".join(f"<li><strong>{_esc(k)}</strong> {_esc(v)}</li>" for k, v in rules["legend"].items())
    return (
        "<h2 id=method>Method</h2>"
        "<p><strong>Weighting.</strong> Each respondent is weighted by the eligible population of their "
        "council stratum divided by the number in that stratum who answered the question (per-item "
        "weights, NHS Digital's method). Council figures combine the council's strata; regional and "
        f"England figures treat every council × stratum as a stratum. {_esc(STRATA_NOTE.get(survey, ''))}</p>"
        f"<p><strong>Intervals.</strong> {_esc(ci_label)}: {_esc(CI_METHODS.get(method, method))}, from the "
        "stratified variance with finite population correction. Margin of error = 1.96 × standard error "
        "(percentage points for percentages).</p>"
        f"<p><strong>Published figures.</strong> {_esc(rules['method'])}</p>"
        f"<p><strong>Suppression.</strong> A measure is suppressed where fewer than "
        f"{_esc(rules['ascof']['min_base'])} people answered it, for the total and for each split "
        f"separately; every figure of that row is replaced by a label:</p><ul>{legend}</ul>")


def _provenance_section(run: RunFolder) -> str:
    r = run.run
    options = r.get("options") if isinstance(r.get("options"), dict) else {}
    seconds = r.get("seconds")
    took = f"{seconds:.1f} s" if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else _show(seconds)
    pairs = [("Input file", f"<span class=mono>{_esc(_show(r.get('input')))}</span>"),
             ("Input checksum (SHA-256)", f"<span class=mono>{_esc(_show(r.get('checksum')))}</span>"),
             ("surveykit version (run)", _esc(_show(r.get("version")))),
             ("surveykit version (report)", _esc(surveykit.__version__)),
             ("Run created", _esc(_show(r.get("created")))),
             ("Run time", _esc(took)),
             ("Councils", _esc(_show(r.get("councils")))),
             ("Output folder", f"<span class=mono>{_esc(run.folder.resolve())}</span>")]
    pairs += [(f"Option: {k}", _esc("none" if v is None else _show(v))) for k, v in options.items()]
    return "<h2 id=provenance>Provenance</h2>" + _kv(pairs)


# --------------------------------------------------------------------------------------------- page

def _ci_label(run: dict) -> str:
    options = run.get("options") if isinstance(run.get("options"), dict) else {}
    level = options.get("level", 0.95)
    try:
        return f"{float(level) * 100:g}% CI"
    except (TypeError, ValueError):
        return "95% CI"


def render_report(run: RunFolder) -> str:
    """The whole page as one HTML string."""
    r = run.run
    survey = str(r.get("survey", "")).lower()
    title = f"{SURVEY_NAMES.get(survey, 'Survey')} ({survey.upper() or '?'}) {r.get('year', '')}: ASCOF results"
    measures = _measures(run.ascof, r)
    ci_label = _ci_label(r)
    facts = [f"{_show(r.get('councils'))} councils"]
    used, read = _as_count(r.get("rows_used")), _as_count(r.get("rows_read"))
    if used is not None and read is not None:
        facts.append(f"{used:,} of {read:,} rows used")
    facts.append(f"run {_show(r.get('created'))}")
    partial = partial_areas(run.ascof, r)
    if partial:
        facts.append(f"{len(partial)} area(s) built from part of the country")
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (
        ("england", "England"), ("regions", "Regions"), ("councils", "Councils"), ("plots", "Plots"),
        ("quality", "Data quality"), ("method", "Method"), ("provenance", "Provenance")))
    sections = [
        _headline_section(run.ascof, measures, ci_label, r),
        _regions_section(run.ascof, measures, ci_label, r),
        _councils_section(run.ascof, measures),
        _plots_section(run.plots),
        _quality_section(r, run.ledger, run.problems),
        _method_section(r, ci_label),
        _provenance_section(run),
    ]
    return ("<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{_esc(title)}</title><style>{CSS}</style></head><body>"
            f"<header><h1>{_esc(title)}</h1><p>{_esc(' · '.join(facts))}</p></header>"
            f"<main><nav>{nav}</nav>{_partial_warning(partial)}" + "\n".join(sections) +
            f"<p class=note>Made by surveykit {_esc(surveykit.__version__)} from the files in this run's "
            "output folder. Figures are as published: rounded and suppressed.</p></main></body></html>\n")


def write_report(out_dir) -> Path:
    """Write ``DIR/report.html`` for the run in ``out_dir`` (atomically) and return its path."""
    from surveykit.errors import command_guard

    with command_guard(out_dir):
        run = read_run_folder(out_dir)
        page = render_report(run)
    return atomic_write(run.folder / REPORT_NAME, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
