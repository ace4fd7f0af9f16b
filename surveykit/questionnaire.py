"""Load and check a questionnaire spec (`questionnaires/<survey>/<year>.yaml`).

A spec is data: the data-return columns in order, the question items and their codes, the easy-read
versions and how they combine, the stratum rules, the breakdown groupings and the ASCOF measure recipes.
Keeping these in YAML lets a year be corrected without a release; this module only reads them, checks
them (so a bad spec fails with the file and the YAML key path, never later with a KeyError) and applies
the two derivations every user needs (`derive_stratum`, `combine_easy_read`).

Vocabulary (also documented at the top of `questionnaires/ascs/2020-21.yaml`):

- ``columns``: name -> ``aliases``, ``kind`` (string|integer|number|code), ``codes`` ({code: label} or
  a name from ``scales``) or ``range`` ([lo, hi], ``.inf`` unbounded), ``required``; a column with
  ``text`` is a question item and may have ``easy_read`` (``questionnaire``, ``codes``, ``combine``,
  ``combined_name``). ``combine`` is restricted to ``x``, ``x+k``, ``x-k``, ``min(e,k)``, ``max(e,k)``.
- conditions (strata ``when``, measure ``filter``, effect ``when``): ``{col: [codes]}``,
  ``{col: {not: [codes]}}``, ``{col: {lt|le|gt|ge: number}}``; keys are ANDed; missing never matches.
- ``strata``: ``requires`` and ordered ``rules`` (first match wins).
- ``groupings``: ``{column, map}`` or ``{column, bins, labels}`` (left-closed start values).
- ``measures``: ``kind`` proportion (``item``, ``success``, ``exclude``), score (``items``, ``points``,
  ``item_points``, ``multiplier``, ``constant``) or adjusted (``current``: a score recipe; ``expected``:
  ``constant``, ``sums``, ``item_effects``, ``effects``); optional ``filter``; ``unit`` percent|score;
  ``code_set`` (framework of the key, see ``questionnaires/ascof-codes.yaml``).
- ``annex``: the published annex tables' own words where they differ from the template's: ``numbers`` (an
  item's number in headings, q2a: "2"), ``text`` (an item's or multi-choice question's words), ``codes`` and
  ``easy_read_codes`` (labels of some codes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import yaml

from surveykit.errors import SurveyKitError
from surveykit.resources import bundled_path, bundled_specs
from surveykit.workbook_layout import WorkbookLayout, parse_layout

KINDS = ("string", "integer", "number", "code")
MEASURE_KINDS = ("proportion", "score", "adjusted")
UNITS = ("percent", "score")
COMPARISONS = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}
STRATUM_COLUMN = "stratum"   # the derived stratum, as validate.py names it
CODES_FILE = "ascof-codes.yaml"


def normalise_header(text: Any) -> str:
    """Header text as compared with aliases: no BOM, trimmed, inner spaces collapsed, lower case."""
    return re.sub(r"\s+", " ", str(text).replace("\ufeff", "")).strip().lower()


# ---------------------------------------------------------------------------------------------- shapes

@dataclass(frozen=True)
class EasyReadSpec:
    questionnaire_values: tuple[int, ...]
    codes: dict[int, str]
    combine: str
    combined_name: str
    combine_fn: Callable[[np.ndarray], np.ndarray] = field(repr=False, compare=False)
    text: str | None = None                      # the easy-read version's own wording
    combined_codes: dict[int, str] | None = None  # labels of the combined scale (default: the easy-read codes)

    @property
    def combined_labels(self) -> dict[int, str]:
        return self.combined_codes if self.combined_codes is not None else self.codes


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    aliases: list[str]
    kind: str
    codes: dict[int, str] | None
    range: tuple[float, float] | None
    required: bool
    is_item: bool
    header: str | None = None          # the official workbook's row-1 header text


@dataclass(frozen=True)
class ItemSpec:
    name: str
    text: str
    codes: dict[int, str]
    easy_read: EasyReadSpec | None
    asked_of: tuple["Condition", ...] = ()   # who is asked the item; others' answers are set missing
    population: str | None = None           # a named weighting population instead of the stratum's


@dataclass(frozen=True)
class MultiChoiceSpec:
    """A tick-all-that-apply question whose options are separate columns (q19a, q19b, q19c)."""
    name: str
    text: str
    parts: tuple[str, ...]
    none_part: str | None = None   # the "no help" option the annex also shows the question without


@dataclass(frozen=True)
class AnnexWording:
    """The published annex tables' own words where they differ from the template's (the spec's ``annex``)."""
    numbers: dict[str, str] = field(default_factory=dict)   # item -> its number in headings (q2a: "2")
    text: dict[str, str] = field(default_factory=dict)      # item or multi-choice question -> its words
    codes: dict[str, dict[int, str]] = field(default_factory=dict)            # item -> {code: label}
    easy_read_codes: dict[str, dict[int, str]] = field(default_factory=dict)  # item -> {easy-read code: label}


@dataclass(frozen=True)
class Condition:
    """One test on one column: op is "in", "not" (values = codes) or lt/le/gt/ge (values = (number,))."""
    column: str
    op: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class StratumRule:
    stratum: int
    label: str
    when: tuple[Condition, ...]


@dataclass(frozen=True)
class GroupingSpec:
    name: str
    column: str
    map: dict[int, str] | None = None
    bins: tuple[float, ...] | None = None
    labels: tuple[str, ...] | None = None

    @property
    def categories(self) -> list[str]:
        """Group labels in publication order (first appearance), without duplicates."""
        source = self.map.values() if self.map is not None else self.labels
        return list(dict.fromkeys(source))

    def make(self, df: pd.DataFrame) -> pd.Series:
        """The breakdown column for `df`: a categorical of labels, NaN where the value has no group. Codes are
        worked out on the numbers (a value's group, or a bin [lo, hi) as pd.cut's right=False), not by matching
        label strings: 16 breakdowns of a national return in milliseconds."""
        values = _numeric(df, self.column)
        categories = self.categories
        if self.map is not None:
            keys = np.array(list(self.map), dtype=float)
            order = np.argsort(keys)
            keys, groups = keys[order], np.array([categories.index(v) for v in self.map.values()])[order]
            at = np.clip(np.searchsorted(keys, values), 0, max(len(keys) - 1, 0))
            found = keys[at] == values if len(keys) else np.zeros(len(values), dtype=bool)
        else:
            bins = np.asarray(self.bins, dtype=float)
            groups = np.array([categories.index(v) for v in self.labels])
            at = np.searchsorted(bins, values, side="right") - 1
            found = (at >= 0) & (at < len(groups))
            at = np.clip(at, 0, len(groups) - 1)
        codes = np.where(found, groups[at] if len(groups) else -1, -1)
        return pd.Series(pd.Categorical.from_codes(codes, categories=categories, ordered=True),
                         index=df.index, name=self.name)


@dataclass(frozen=True)
class ExpectedSpec:
    """Expected value from need (1J): constant + Σ sums + item effects + conditional effects."""
    constant: float
    sums: tuple[tuple[float, float, tuple[str, ...]], ...]   # (coefficient, offset, items)
    item_effects: dict[str, dict[int, float]]
    effects: tuple[tuple[tuple[Condition, ...], float], ...]


@dataclass(frozen=True)
class MeasureSpec:
    code: str
    name: str
    description: str
    kind: str
    unit: str
    code_set: str | None
    filter: tuple[Condition, ...] = ()
    item: str | None = None
    success: tuple[int, ...] = ()
    exclude: tuple[int, ...] = ()
    items: tuple[str, ...] = ()
    points: dict[str, dict[int, float]] = field(default_factory=dict)   # per item, fully resolved
    multiplier: float = 1.0
    constant: float = 0.0
    expected: ExpectedSpec | None = None
    population: str | None = None   # a named weighting population instead of the stratum's

    @property
    def columns(self) -> list[str]:
        """Every data column the measure reads (for checks and for choosing what to pass on)."""
        cols = [c.column for c in self.filter]
        cols += [self.item] if self.item else []
        cols += list(self.items)
        if self.expected is not None:
            for _, _, items in self.expected.sums:
                cols += list(items)
            cols += list(self.expected.item_effects)
            for when, _ in self.expected.effects:
                cols += [c.column for c in when]
        return list(dict.fromkeys(cols))


@dataclass(frozen=True)
class Questionnaire:
    survey: str
    year: str
    title: str
    source: str
    missing_codes: list[int]
    respondent_column: str
    respondent_value: int
    id_column: str
    council_column: str
    questionnaire_column: str | None
    columns: dict[str, ColumnSpec] = field(repr=False)
    items: dict[str, ItemSpec] = field(repr=False)
    strata: list[tuple[int, str]] = field(repr=False)
    stratum_requires: list[str] = field(repr=False)
    stratum_rules: list[StratumRule] = field(repr=False)
    groupings: dict[str, GroupingSpec] = field(repr=False)
    measures: dict[str, MeasureSpec] = field(repr=False)
    code_sets: dict[str, dict[str, str | None]] = field(repr=False)
    populations: dict[str, str] = field(default_factory=dict, repr=False)      # name -> what it counts
    multi_choice: dict[str, MultiChoiceSpec] = field(default_factory=dict, repr=False)
    workbook: WorkbookLayout | None = field(default=None, repr=False)
    non_respondent_values: dict[str, int] = field(default_factory=dict, repr=False)   # e.g. Advocate: 2
    annex: AnnexWording = field(default_factory=AnnexWording, repr=False)   # the annex tables' own words
    changes: str = ""   # the year's differences from the previous year, as its file states them

    # -- lookups
    @property
    def combined_names(self) -> dict[str, str]:
        """Combined easy-read column name -> the item it comes from (q1Comb -> q1)."""
        return {i.easy_read.combined_name: i.name for i in self.items.values() if i.easy_read}

    def codes_of(self, name: str) -> dict[int, str] | None:
        """Codes of a column, item or combined easy-read column (the easy-read codes), else None."""
        if name in self.combined_names:
            return self.items[self.combined_names[name]].easy_read.combined_labels
        col = self.columns.get(name)
        return None if col is None else col.codes

    def column_lookup(self) -> dict[str, str]:
        """Normalised header text (see `normalise_header`) -> canonical column name.

        Canonical names and aliases, in data-return order. Readers should try an exact match of the
        whole header first, then (as NHS Digital's config does for the Excel return) the first alias
        that is a substring of the header.
        """
        lookup: dict[str, str] = {}
        for col in self.columns.values():
            for text in [col.name, *col.aliases]:
                lookup.setdefault(normalise_header(text), col.name)
        return lookup

    def match_header(self, header: Any) -> str | None:
        """Canonical column for a header as found in a return, or None.

        An exact (normalised) match wins; otherwise the longest alias contained in the header, so
        "Population In Stratum" is PopInStratum, not Stratum, and "Language" is not Age.
        """
        lookup = self._lookup
        text = normalise_header(header)
        if text in lookup:
            return lookup[text]
        inside = [alias for alias in lookup if alias and alias in text]
        return lookup[max(inside, key=len)] if inside else None

    @property
    def _lookup(self) -> dict[str, str]:
        cached = self.__dict__.get("_lookup_cache")
        if cached is None:
            cached = self.column_lookup()
            object.__setattr__(self, "_lookup_cache", cached)
        return cached

    # -- derivations
    def derive_stratum(self, df: pd.DataFrame) -> pd.Series:
        """Stratum per row by the ordered rules (first match wins); <NA> if a required column is
        missing for that row or no rule matches."""
        _require_columns(df, self.stratum_requires + [c.column for r in self.stratum_rules for c in r.when],
                         "deriving the stratum")
        known = np.ones(len(df), dtype=bool)
        for col in self.stratum_requires:
            known &= ~np.isnan(_numeric(df, col))
        masks = [_conditions_mask(df, rule.when) for rule in self.stratum_rules]
        chosen = np.select(masks, [rule.stratum for rule in self.stratum_rules], default=0) if masks \
            else np.zeros(len(df), dtype=int)
        stratum = pd.Series(pd.array(chosen, dtype="Int64"), index=df.index, name=STRATUM_COLUMN)
        return stratum.where(known & (chosen != 0))

    def combine_easy_read(self, df: pd.DataFrame) -> pd.DataFrame:
        """`df` with each easy-read item's combined column added (q1Comb ...).

        Easy-read rows keep their code; standard rows are mapped by the item's `combine` expression.
        A code not valid for the row's version, or a row whose questionnaire version is unknown, gives
        NaN: the two scales differ, so guessing the version would misplace answers.
        """
        er_items = [i for i in self.items.values() if i.easy_read and i.name in df.columns]
        if not er_items:
            return df
        _require_columns(df, [self.questionnaire_column], "combining easy-read items")
        version = _numeric(df, self.questionnaire_column)
        known = ~np.isnan(version)
        new = {}
        for item in er_items:
            er = item.easy_read
            x = _numeric(df, item.name)
            is_er = np.isin(version, er.questionnaire_values)
            std = np.where(np.isin(x, list(item.codes)), er.combine_fn(x), np.nan)
            easy = np.where(np.isin(x, list(er.codes)), x, np.nan)
            new[er.combined_name] = np.where(is_er, easy, np.where(known, std, np.nan)).astype(float)
        return df.assign(**new)

    def breakdown(self, df: pd.DataFrame, name: str) -> pd.Series:
        """The breakdown column `name` (a grouping) for `df`."""
        if name not in self.groupings:
            raise SurveyKitError(f"unknown breakdown {name!r}; this questionnaire has: "
                                 f"{', '.join(self.groupings)}", file=self.source)
        return self.groupings[name].make(df)

    def measure_code(self, code: str, framework: str) -> str | None:
        """The code of measure `code` (keyed in its spec code set) in `framework`; None if it has none."""
        if framework not in self.code_sets:
            raise SurveyKitError(f"unknown framework {framework!r}; known: {', '.join(self.code_sets)}")
        measure = self.measures[code]
        if measure.code_set is None:
            return code
        return self.code_sets[framework].get(code)


# ------------------------------------------------------------------------------------------ vectorised

def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    """Column as float64 numpy (NaN for missing or non-numeric), whatever dtype it arrived in."""
    return pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _require_columns(df: pd.DataFrame, columns, doing: str) -> None:
    for col in columns:
        if col not in df.columns:
            raise SurveyKitError(f"column {col!r} is needed for {doing} but is not in the data", column=col)


def _conditions_mask(df: pd.DataFrame, conditions: tuple[Condition, ...]) -> np.ndarray:
    """Rows meeting every condition; a missing value never meets one."""
    mask = np.ones(len(df), dtype=bool)
    for cond in conditions:
        v = _numeric(df, cond.column)
        if cond.op == "in":
            mask &= np.isin(v, cond.values)
        elif cond.op == "not":
            mask &= ~np.isnan(v) & ~np.isin(v, cond.values)
        else:
            with np.errstate(invalid="ignore"):
                mask &= COMPARISONS[cond.op](v, cond.values[0])
    return mask


def conditions_mask(df: pd.DataFrame, conditions) -> np.ndarray:
    """Public form of the condition test, for the scorers (boolean numpy array)."""
    return _conditions_mask(df, tuple(conditions))


# --------------------------------------------------------------------------------- combine expressions

_TOKEN = re.compile(r"\s*(?:(x)|(\d+)|(min|max)|([-+(),]))")


def parse_combine(expr: str) -> Callable[[np.ndarray], np.ndarray]:
    """Compile a combine expression of the restricted form into a numpy function; ValueError if not.

    Grammar: e := t (("+"|"-") INT)* ; t := "x" | ("min"|"max") "(" e "," INT ")". No eval.
    """
    if not isinstance(expr, str):
        raise ValueError("not text")
    tokens, pos = [], 0
    text = expr.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected {text[pos:]!r}")
        tokens.append(next(g for g in m.groups() if g is not None))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    tokens.append("$")
    at = [0]

    def peek():
        return tokens[at[0]]

    def take(expected=None):
        tok = tokens[at[0]]
        if expected is not None and tok != expected:
            raise ValueError(f"expected {expected!r}, found {tok!r}")
        at[0] += 1
        return tok

    def integer():
        tok = take()
        if not tok.isdigit():
            raise ValueError(f"expected a whole number, found {tok!r}")
        return int(tok)

    def term():
        tok = take()
        if tok == "x":
            return lambda x: x
        if tok in ("min", "max"):
            take("(")
            inner = expression()
            take(",")
            k = integer()
            take(")")
            op = np.minimum if tok == "min" else np.maximum
            return lambda x: op(inner(x), k)
        raise ValueError(f"unexpected {tok!r}")

    def expression():
        fn = term()
        while peek() in ("+", "-"):
            sign = 1 if take() == "+" else -1
            k = sign * integer()
            fn = (lambda f, k: (lambda x: f(x) + k))(fn, k)
        return fn

    fn = expression()
    if peek() != "$":
        raise ValueError(f"unexpected {peek()!r}")
    return fn


# --------------------------------------------------------------------------------------------- loading

class _Spec:
    """Walks the parsed YAML, raising SurveyKitError with the file and the key path of any problem."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, path: str, message: str):
        raise SurveyKitError(f"{path}: {message}" if path else message, file=self.file)

    def mapping(self, value, path, allowed, required=()):
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, found {_show(value)}")
        for key in value:
            if key not in allowed:
                self.fail(path, f"unknown key {key!r} (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                self.fail(path, f"missing required key {key!r}")
        return value

    def text(self, value, path, allow_none=False):
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or not value.strip():
            hint = " (quote it: YAML reads Yes/No/On/Off as true/false)" if isinstance(value, bool) else ""
            self.fail(path, f"expected text, found {_show(value)}{hint}")
        return value

    def integer(self, value, path):
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"code {_show(value)} is not an integer")
        return value

    def number(self, value, path):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            self.fail(path, f"expected a number, found {_show(value)}")
        return float(value)

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, found {_show(value)}")
        return value

    def sequence(self, value, path, allow_empty=False):
        if not isinstance(value, list) or (not value and not allow_empty):
            self.fail(path, f"expected a {'' if allow_empty else 'non-empty '}list, found {_show(value)}")
        return value

    def each(self, value, path, check, allow_empty=False) -> list:
        """check(element, "path[i]") for every element of a list at `path`."""
        return [check(v, f"{path}[{i}]") for i, v in enumerate(self.sequence(value, path, allow_empty))]

    def codes(self, value, path, scales=None):
        if isinstance(value, str) and scales is not None:
            if value not in scales:
                self.fail(path, f"unknown scale {value!r} (scales: {', '.join(scales) or 'none'})")
            return scales[value]
        if not isinstance(value, dict) or not value:
            self.fail(path, f"expected a mapping of code: label, found {_show(value)}")
        return {self.integer(k, f"{path}"): self.text(v, f"{path}.{k}") for k, v in value.items()}

    def code_list(self, value, path, valid: dict | None, what: str):
        self.sequence(value, path)
        out = []
        for i, code in enumerate(value):
            self.integer(code, f"{path}[{i}]")
            if valid is not None and code not in valid:
                self.fail(f"{path}[{i}]", f"{code} is not a code of {what} (codes: {_codes_text(valid)})")
            out.append(code)
        return tuple(out)


def _show(value) -> str:
    return "nothing" if value is None else repr(value)


def _codes_text(codes: dict) -> str:
    return ", ".join(str(c) for c in codes)


_TOP_KEYS = ("survey", "year", "title", "changes", "missing_codes", "respondent", "id_column", "council_column",
             "questionnaire_column", "scales", "columns", "multi_choice", "populations", "non_respondents",
             "strata", "groupings", "measures", "workbook", "annex")
_TOP_REQUIRED = ("survey", "year", "missing_codes", "respondent", "id_column", "council_column",
                 "columns", "strata", "measures")
_COLUMN_KEYS = ("aliases", "header", "kind", "codes", "range", "required", "text", "easy_read", "asked_of",
                "population")
_EASY_KEYS = ("questionnaire", "codes", "combine", "combined_name", "text", "combined_codes")
_EASY_REQUIRED = ("questionnaire", "codes", "combine", "combined_name")
_MEASURE_COMMON = ("name", "description", "kind", "unit", "code_set", "filter", "population")
_MEASURE_KIND_KEYS = {   # kind -> (allowed, required) beyond the common keys
    "proportion": (("item", "success", "exclude"), ("item", "success")),
    "score": (("items", "points", "item_points", "multiplier", "constant"), ("items",)),
    "adjusted": (("current", "expected"), ("current", "expected")),
}
_SCORE_KEYS = _MEASURE_KIND_KEYS["score"][0]
_EXPECTED_KEYS = ("constant", "sums", "item_effects", "effects")


def _parse(raw, file: str, code_sets: dict) -> Questionnaire:
    s = _Spec(file)
    s.mapping(raw, "", _TOP_KEYS, _TOP_REQUIRED)
    scales = {name: s.codes(codes, f"scales.{name}")
              for name, codes in s.mapping(raw.get("scales") or {}, "scales", list(raw.get("scales") or {})).items()}
    columns, items = _parse_columns(s, raw["columns"], scales)
    p = _Parts(s, columns, items)

    resp = s.mapping(raw["respondent"], "respondent", ("column", "value"), ("column", "value"))
    respondent_column = p.known_column(resp["column"], "respondent.column")
    respondent_value = s.integer(resp["value"], "respondent.value")
    if columns[respondent_column].codes and respondent_value not in columns[respondent_column].codes:
        s.fail("respondent.value", f"{respondent_value} is not a code of {respondent_column!r}")
    questionnaire_column = raw.get("questionnaire_column")
    if questionnaire_column is not None:
        p.known_column(questionnaire_column, "questionnaire_column")
    elif p.combined:
        first = next(iter(p.combined.values())).name
        s.fail(f"columns.{first}.easy_read", "easy-read versions need a questionnaire_column to tell them apart")
    requires, rules = p.strata(raw["strata"])
    populations = {str(k): s.text(v, f"populations.{k}")
                   for k, v in s.mapping(raw.get("populations") or {}, "populations",
                                         list(raw.get("populations") or {})).items()}
    asked_of = {}
    for name, c in raw["columns"].items():   # conditions may name any column, so parsed once all are known
        if name in items and "asked_of" in c:
            asked_of[name] = p.conditions(c["asked_of"], f"columns.{name}.asked_of")
        if name in items and items[name].population is not None and items[name].population not in populations:
            s.fail(f"columns.{name}.population", f"{items[name].population!r} is not one of populations "
                                                 f"({', '.join(populations) or 'none declared'})")
    items = {n: (ItemSpec(i.name, i.text, i.codes, i.easy_read, asked_of[n], i.population) if n in asked_of else i)
             for n, i in items.items()}
    measures = {str(code): p.measure(str(code), m, code_sets)
                for code, m in s.mapping(raw["measures"], "measures", list(raw["measures"] or {})).items()}
    for code, m in measures.items():
        if m.population is not None and m.population not in populations:
            s.fail(f"measures.{code}.population", f"{m.population!r} is not one of populations "
                                                  f"({', '.join(populations) or 'none declared'})")
    workbook = parse_layout(s, raw["workbook"], "workbook", columns) if raw.get("workbook") is not None else None
    if workbook is not None and workbook.eligible_population is not None:
        for name in workbook.eligible_population.populations:
            if name not in populations:
                s.fail(f"workbook.eligible_population.populations.{name}", "not one of populations")
    return Questionnaire(
        survey=s.text(raw["survey"], "survey"), year=str(raw["year"]),
        title=str(raw.get("title") or f"{raw['survey']} {raw['year']}"), source=file,
        missing_codes=s.each(raw["missing_codes"], "missing_codes", s.integer, allow_empty=True),
        respondent_column=respondent_column, respondent_value=respondent_value,
        id_column=p.known_column(raw["id_column"], "id_column"),
        council_column=p.known_column(raw["council_column"], "council_column"),
        questionnaire_column=questionnaire_column, columns=columns, items=items,
        strata=sorted((r.stratum, r.label) for r in rules), stratum_requires=requires, stratum_rules=rules,
        groupings={name: p.grouping(name, g) for name, g in (raw.get("groupings") or {}).items()},
        measures=measures, code_sets=_framework_maps(code_sets), populations=populations,
        multi_choice=_parse_multi_choice(s, raw.get("multi_choice") or {}, items),
        workbook=workbook, changes=str(raw.get("changes") or "").strip(),
        annex=_parse_annex(s, raw.get("annex") or {}, items, raw.get("multi_choice") or {}),
        non_respondent_values=_non_respondents(s, p, raw.get("non_respondents") or {}))


def _non_respondents(s: _Spec, p, raw) -> dict[str, int]:
    """Columns whose value is fixed for people who did not respond (NHS Digital: Advocate and Interpreter 2)."""
    out = {}
    for column, value in s.mapping(raw, "non_respondents", list(raw)).items():
        p.known_column(column, f"non_respondents.{column}")
        codes = p.codes_of(column)
        if codes is not None and s.integer(value, f"non_respondents.{column}") not in codes:
            s.fail(f"non_respondents.{column}", f"{value} is not a code of {column!r}")
        out[column] = value
    return out


def _parse_multi_choice(s: _Spec, raw, items) -> dict[str, MultiChoiceSpec]:
    out = {}
    for name, q in s.mapping(raw, "multi_choice", list(raw)).items():
        path = f"multi_choice.{name}"
        s.mapping(q, path, ("text", "parts", "none_part"), ("text", "parts"))
        parts = tuple(s.each(q["parts"], f"{path}.parts", s.text))
        for i, part in enumerate(parts):
            if part not in items:
                s.fail(f"{path}.parts[{i}]", f"{part!r} is not an item of this questionnaire")
        none_part = q.get("none_part")
        if none_part is not None and none_part not in parts:
            s.fail(f"{path}.none_part", f"{none_part!r} is not one of the parts")
        out[str(name)] = MultiChoiceSpec(str(name), s.text(q["text"], f"{path}.text"), parts, none_part)
    return out


def _parse_annex(s: _Spec, raw, items, multi_choice) -> AnnexWording:
    """``annex``: numbers, text, codes and easy_read_codes, each keyed by an item (text and numbers also by
    a multi-choice question); a code must be one of the item's (easy-read) codes."""
    s.mapping(raw, "annex", ("numbers", "text", "codes", "easy_read_codes"))
    named = {**{n: None for n in items}, **{str(n): None for n in multi_choice}}

    def keyed(key, allowed):
        table = s.mapping(raw.get(key) or {}, f"annex.{key}", list(raw.get(key) or {}))
        for name in table:
            if name not in allowed:
                s.fail(f"annex.{key}.{name}", f"{name!r} is not an item of this questionnaire")
        return table

    numbers = {n: s.text(str(v) if isinstance(v, int) else v, f"annex.numbers.{n}")
               for n, v in keyed("numbers", named).items()}
    text = {n: s.text(v, f"annex.text.{n}") for n, v in keyed("text", named).items()}
    labels = {}
    for key in ("codes", "easy_read_codes"):
        labels[key] = {}
        for name, table in keyed(key, items).items():
            item = items[name]
            valid = item.codes if key == "codes" else (item.easy_read.codes if item.easy_read else {})
            codes = s.codes(table, f"annex.{key}.{name}")
            for code in codes:
                if code not in valid:
                    s.fail(f"annex.{key}.{name}.{code}", f"{code} is not a code of {name!r} "
                                                          f"(codes: {_codes_text(valid) or 'none'})")
            labels[key][name] = codes
    return AnnexWording(numbers, text, labels["codes"], labels["easy_read_codes"])


def _framework_maps(code_sets: dict) -> dict[str, dict[str, str | None]]:
    """framework -> {code in the base framework: code in that framework (None: no code)}."""
    base = code_sets["base"]
    maps = {base: {c: c for c in code_sets["codes"]}}
    for fw in code_sets["frameworks"]:
        if fw != base:
            maps[fw] = {c: entry.get(fw) for c, entry in code_sets["codes"].items()}
    return maps


class _Parts:
    """Parses the sections that refer to columns and items (strata, groupings, measures)."""

    def __init__(self, s: _Spec, columns: dict[str, ColumnSpec], items: dict[str, ItemSpec]):
        self.s, self.columns, self.items = s, columns, items
        self.combined = {i.easy_read.combined_name: i for i in items.values() if i.easy_read}
        for name, item in self.combined.items():
            if name in columns:
                s.fail(f"columns.{item.name}.easy_read.combined_name", f"{name!r} is already a column")

    def known_column(self, name, path, derived=False):
        extra = (STRATUM_COLUMN, *self.combined) if derived else ()
        if not isinstance(name, str) or (name not in self.columns and name not in extra):
            self.s.fail(path, f"{_show(name)} is not a column of this questionnaire")
        return name

    def item_name(self, name, path):
        if not isinstance(name, str) or (name not in self.items and name not in self.combined):
            self.s.fail(path, f"{_show(name)} is not an item of this questionnaire")
        return name

    def codes_of(self, name):
        if name in self.combined:
            return self.combined[name].easy_read.combined_labels
        return self.columns[name].codes if name in self.columns else None

    def conditions(self, value, path) -> tuple[Condition, ...]:
        s, out = self.s, []
        for col, test in s.mapping(value, path, list(value) if isinstance(value, dict) else ()).items():
            self.known_column(col, path, derived=True)
            cpath, valid = f"{path}.{col}", self.codes_of(col)
            if isinstance(test, list):
                out.append(Condition(col, "in", s.code_list(test, cpath, valid, f"{col!r}")))
                continue
            s.mapping(test, cpath, ("not", *COMPARISONS))
            if len(test) != 1:
                s.fail(cpath, "give exactly one test (not, lt, le, gt, ge); use separate conditions to combine")
            op, arg = next(iter(test.items()))
            if op == "not":
                out.append(Condition(col, "not", s.code_list(arg, f"{cpath}.not", valid, f"{col!r}")))
            else:
                out.append(Condition(col, op, (s.number(arg, f"{cpath}.{op}"),)))
        return tuple(out)

    def strata(self, raw) -> tuple[list[str], list[StratumRule]]:
        s = self.s
        s.mapping(raw, "strata", ("requires", "rules"), ("requires", "rules"))
        requires = s.each(raw["requires"], "strata.requires", self.known_column, allow_empty=True)
        rules: list[StratumRule] = []
        for i, rule in enumerate(s.sequence(raw["rules"], "strata.rules")):
            path = f"strata.rules[{i}]"
            s.mapping(rule, path, ("stratum", "label", "when"), ("stratum", "label", "when"))
            number = s.integer(rule["stratum"], f"{path}.stratum")
            if number < 1 or number in [r.stratum for r in rules]:
                s.fail(f"{path}.stratum", f"stratum {number} must be a positive whole number used once")
            rules.append(StratumRule(number, s.text(rule["label"], f"{path}.label"),
                                     self.conditions(rule["when"] or {}, f"{path}.when")))
        return requires, rules

    def grouping(self, name, g) -> GroupingSpec:
        s, path = self.s, f"groupings.{name}"
        s.mapping(g, path, ("column", "map", "bins", "labels"), ("column",))
        col = self.known_column(g["column"], f"{path}.column", derived=True)
        if ("map" in g) == ("bins" in g):
            s.fail(path, "give either map or bins (with labels)")
        if "map" in g:
            return GroupingSpec(name, col, map=s.codes(g["map"], f"{path}.map"))
        bins = tuple(s.each(g["bins"], f"{path}.bins", s.number))
        if len(bins) < 2 or any(b >= a for a, b in zip(bins[1:], bins)):
            s.fail(f"{path}.bins", "needs at least two values, strictly increasing")
        labels = tuple(s.each(g.get("labels"), f"{path}.labels", s.text))
        if len(labels) != len(bins) - 1 or len(set(labels)) != len(labels):
            s.fail(f"{path}.labels", f"needs {len(bins) - 1} distinct labels, one per bin")
        return GroupingSpec(name, col, bins=bins, labels=labels)

    def measure(self, code: str, m, code_sets: dict) -> MeasureSpec:
        s, path = self.s, f"measures.{code}"
        s.mapping(m, path, (*_MEASURE_COMMON, *dict.fromkeys(k for a, _ in _MEASURE_KIND_KEYS.values() for k in a)),
                  ("name", "kind", "unit"))
        kind = m["kind"]
        if kind not in MEASURE_KINDS:
            s.fail(f"{path}.kind", f"{_show(kind)} is not a measure kind ({', '.join(MEASURE_KINDS)})")
        allowed, required = _MEASURE_KIND_KEYS[kind]
        s.mapping(m, path, (*_MEASURE_COMMON, *allowed), required)
        if m["unit"] not in UNITS:
            s.fail(f"{path}.unit", f"{_show(m['unit'])} is not a unit ({', '.join(UNITS)})")
        code_set = m.get("code_set")
        if code_set is not None and code_set not in code_sets["frameworks"]:
            s.fail(f"{path}.code_set", f"{_show(code_set)} is not a framework in {CODES_FILE} "
                                       f"({', '.join(code_sets['frameworks'])})")
        if code_set == code_sets["base"] and code not in code_sets["codes"]:
            s.fail(f"{path}.code_set", f"{code!r} is not a code of {code_set} in {CODES_FILE}")
        common = dict(code=code, name=s.text(m["name"], f"{path}.name"),
                      description=s.text(m.get("description", m["name"]), f"{path}.description"),
                      kind=kind, unit=m["unit"], code_set=code_set,
                      filter=self.conditions(m.get("filter") or {}, f"{path}.filter"),
                      population=s.text(m["population"], f"{path}.population") if "population" in m else None)
        if kind == "proportion":
            item = self.item_name(m["item"], f"{path}.item")
            what = f"item {item!r}"
            success = s.code_list(m["success"], f"{path}.success", self.codes_of(item), what)
            exclude = s.code_list(m["exclude"], f"{path}.exclude", self.codes_of(item), what) \
                if m.get("exclude") else ()
            if set(success) & set(exclude):
                s.fail(f"{path}.exclude", f"codes {sorted(set(success) & set(exclude))} are also in success")
            return MeasureSpec(**common, item=item, success=success, exclude=exclude)
        if kind == "score":
            return MeasureSpec(**common, **self.score_recipe(m, path))
        current = s.mapping(m["current"], f"{path}.current", _SCORE_KEYS, ("items",))
        return MeasureSpec(**common, **self.score_recipe(current, f"{path}.current"),
                           expected=self.expected(m["expected"], f"{path}.expected"))

    def score_recipe(self, r, path) -> dict:
        """items, per-item points (item_points override points), multiplier, constant."""
        s = self.s
        items = tuple(s.each(r["items"], f"{path}.items", self.item_name))
        overrides = s.mapping(r.get("item_points") or {}, f"{path}.item_points", items)
        points = {}
        for it in items:
            table = overrides.get(it, r.get("points"))
            if table is None:
                s.fail(f"{path}.points", f"no points for item {it!r} (give points or item_points.{it})")
            ppath = f"{path}.item_points.{it}" if it in overrides else f"{path}.points"
            points[it] = _points(s, table, ppath, self.codes_of(it), it)
        return dict(items=items, points=points, multiplier=s.number(r.get("multiplier", 1), f"{path}.multiplier"),
                    constant=s.number(r.get("constant", 0), f"{path}.constant"))

    def expected(self, e, path) -> ExpectedSpec:
        s = self.s
        s.mapping(e, path, _EXPECTED_KEYS, ("constant",))
        sums = []
        for i, term in enumerate(s.sequence(e.get("sums") or [], f"{path}.sums", True)):
            tpath = f"{path}.sums[{i}]"
            s.mapping(term, tpath, ("coefficient", "offset", "items"), ("coefficient", "items"))
            items = tuple(s.each(term["items"], f"{tpath}.items", self.item_name))
            sums.append((s.number(term["coefficient"], f"{tpath}.coefficient"),
                         s.number(term.get("offset", 0), f"{tpath}.offset"), items))
        item_effects = {}
        raw_effects = e.get("item_effects") or {}
        for it, table in s.mapping(raw_effects, f"{path}.item_effects", list(raw_effects)).items():
            self.item_name(it, f"{path}.item_effects.{it}")
            item_effects[it] = _points(s, table, f"{path}.item_effects.{it}", self.codes_of(it), it)
        effects = []
        for i, eff in enumerate(s.sequence(e.get("effects") or [], f"{path}.effects", True)):
            fpath = f"{path}.effects[{i}]"
            s.mapping(eff, fpath, ("when", "effect"), ("when", "effect"))
            effects.append((self.conditions(eff["when"], f"{fpath}.when"), s.number(eff["effect"], f"{fpath}.effect")))
        return ExpectedSpec(s.number(e["constant"], f"{path}.constant"), tuple(sums), item_effects, tuple(effects))


def _points(s: _Spec, table, path, valid: dict | None, item: str) -> dict[int, float]:
    """A code -> number table covering every code of `item`, so no valid answer silently scores NaN."""
    if not isinstance(table, dict) or not table:
        s.fail(path, f"expected a mapping of code: number, found {_show(table)}")
    out = {}
    for code, value in table.items():
        s.integer(code, path)
        if valid is not None and code not in valid:
            s.fail(path, f"{code} is not a code of item {item!r} (codes: {_codes_text(valid)})")
        out[code] = s.number(value, f"{path}.{code}")
    if valid is not None and set(valid) - set(out):
        s.fail(path, f"no value for code(s) {_codes_text(sorted(set(valid) - set(out)))} of item {item!r}")
    return out


def _parse_columns(s: _Spec, raw_columns, scales):
    s.mapping(raw_columns, "columns", list(raw_columns) if isinstance(raw_columns, dict) else ())
    if not raw_columns:
        s.fail("columns", "no columns")
    columns: dict[str, ColumnSpec] = {}
    items: dict[str, ItemSpec] = {}
    seen_alias: dict[str, str] = {}
    for name, c in raw_columns.items():
        path = f"columns.{name}"
        if not isinstance(name, str):
            s.fail(path, "column names must be text")
        s.mapping(c, path, _COLUMN_KEYS, ("kind",))
        kind = c["kind"]
        if kind not in KINDS:
            s.fail(f"{path}.kind", f"{_show(kind)} is not a column kind ({', '.join(KINDS)})")
        aliases = s.each(c.get("aliases", []), f"{path}.aliases", s.text, allow_empty=True)
        for text in [name, *aliases]:
            other = seen_alias.setdefault(normalise_header(text), name)
            if other != name:
                s.fail(f"{path}.aliases", f"header {text!r} already names column {other!r}")
        codes = s.codes(c["codes"], f"{path}.codes", scales) if "codes" in c else None
        if (codes is not None) != (kind == "code"):
            s.fail(path, "a column of kind code needs codes" if kind == "code" else f"codes need kind code, not {kind}")
        rng = None
        if "range" in c:
            r = s.sequence(c["range"], f"{path}.range")
            if len(r) != 2:
                s.fail(f"{path}.range", "expected [lo, hi]")
            rng = (s.number(r[0], f"{path}.range[0]"), s.number(r[1], f"{path}.range[1]"))
            if rng[0] > rng[1]:
                s.fail(f"{path}.range", f"lo {rng[0]} is above hi {rng[1]}")
        is_item = "text" in c
        if "easy_read" in c and not is_item:
            s.fail(f"{path}.easy_read", "only question items (columns with text) have easy-read versions")
        if is_item and codes is None:
            s.fail(f"{path}.codes", "a question item needs codes")
        required = s.boolean(c.get("required", False), f"{path}.required")
        header = s.text(c["header"], f"{path}.header") if "header" in c else None
        columns[name] = ColumnSpec(name, aliases, kind, codes, rng, required, is_item, header)
        for key in ("asked_of", "population"):
            if key in c and not is_item:
                s.fail(f"{path}.{key}", "only question items (columns with text) have this")
        if is_item:
            items[name] = ItemSpec(name, s.text(c["text"], f"{path}.text"), codes,
                                   _parse_easy_read(s, c.get("easy_read"), f"{path}.easy_read", codes),
                                   population=s.text(c["population"], f"{path}.population") if "population" in c
                                   else None)
    return columns, items


def _parse_easy_read(s: _Spec, er, path, standard_codes) -> EasyReadSpec | None:
    if er is None:
        return None
    s.mapping(er, path, _EASY_KEYS, _EASY_REQUIRED)
    values = tuple(s.each(er["questionnaire"], f"{path}.questionnaire", s.integer))
    codes = s.codes(er["codes"], f"{path}.codes")
    try:
        fn = parse_combine(er["combine"])
    except ValueError as exc:
        s.fail(f"{path}.combine", f"{_show(er['combine'])} is not a supported combine expression ({exc}); "
                                  "use x, x+k, x-k, min(e,k), max(e,k), e.g. 'min(max(x-1,1),5)'")
    mapped = fn(np.array(sorted(standard_codes), dtype=float))
    bad = [(c, int(v)) for c, v in zip(sorted(standard_codes), mapped) if v not in codes]
    if bad:
        s.fail(f"{path}.combine", f"maps standard code {bad[0][0]} to {bad[0][1]}, which is not an easy-read code "
                                  f"({_codes_text(codes)})")
    combined = s.codes(er["combined_codes"], f"{path}.combined_codes") if "combined_codes" in er else None
    if combined is not None and set(combined) != set(codes):
        s.fail(f"{path}.combined_codes", f"needs exactly the easy-read codes ({_codes_text(codes)})")
    return EasyReadSpec(values, codes, er["combine"], s.text(er["combined_name"], f"{path}.combined_name"), fn,
                        s.text(er["text"], f"{path}.text") if "text" in er else None, combined)


# ------------------------------------------------------------------------------------------ public API

# libyaml's loader when PyYAML was built with it: the same YAML, parsed about ten times faster.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, shown: str):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SurveyKitError("file not found", file=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SurveyKitError(f"cannot read the file ({exc})", file=shown) from None
    try:
        return yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SurveyKitError(f"not valid YAML{where}: {getattr(exc, 'problem', None) or exc}", file=shown) from None


@lru_cache(maxsize=None)
def load_code_sets() -> dict:
    """The framework code sets from `questionnaires/ascof-codes.yaml`: frameworks, base, codes."""
    shown = f"questionnaires/{CODES_FILE}"
    raw = _read_yaml(bundled_path("questionnaires", CODES_FILE), shown)
    s = _Spec(shown)
    s.mapping(raw, "", ("frameworks", "codes"), ("frameworks", "codes"))
    raw_frameworks = s.mapping(raw["frameworks"], "frameworks", list(raw["frameworks"] or {}))
    frameworks = {k: s.text(v, f"frameworks.{k}") for k, v in raw_frameworks.items()}
    base = next(iter(frameworks))
    codes = {}
    for code, entry in s.mapping(raw["codes"], "codes", list(raw["codes"] or {})).items():
        path = f"codes.{code}"
        s.mapping(entry, path, (*frameworks, "confidence", "note"))
        codes[str(code)] = {fw: (None if entry.get(fw) is None else str(entry[fw])) for fw in frameworks if fw != base}
        codes[str(code)].update(confidence=entry.get("confidence"), note=entry.get("note"))
    return {"frameworks": frameworks, "base": base, "codes": codes}


def load_spec_file(path) -> Questionnaire:
    """Load and check a questionnaire spec from any path (errors name this path)."""
    return _parse(_read_yaml(Path(path), str(path)), str(path), load_code_sets())


def available_specs() -> list[tuple[str, str]]:
    """(survey, year) of every bundled spec, sorted."""
    return bundled_specs()


@lru_cache(maxsize=None)
def load_spec(survey: str, year: str) -> Questionnaire:
    """The bundled spec for `survey` and `year` (e.g. "ascs", "2020-21"); cached, treat as read-only."""
    survey, year = str(survey).lower(), str(year)
    if (survey, year) not in available_specs():
        have = ", ".join(f"{s} {y}" for s, y in available_specs())
        raise SurveyKitError(f"no bundled questionnaire for {survey} {year} (bundled: {have})")
    shown = f"questionnaires/{survey}/{year}.yaml"
    spec = _parse(_read_yaml(bundled_path("questionnaires", survey, f"{year}.yaml"), shown), shown, load_code_sets())
    if (spec.survey, spec.year) != (survey, year):
        raise SurveyKitError(f"survey/year say {spec.survey} {spec.year}, the file name says {survey} {year}",
                             file=shown)
    return spec
