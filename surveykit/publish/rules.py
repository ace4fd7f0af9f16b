"""Published results tables: suppression symbols and rounding, applied only at the edge.

Estimators hand over unrounded tidy frames; this module turns them into the strings that get
published ("67.7", "6515", "[c]") following the rules in ``_bundled/publishing.yaml``. Suppression
replaces every value of a row, so no figure for a small group can be read off a neighbouring column.
Functions return new frames; the raw results stay as they were.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from functools import cache

import numpy as np
import pandas as pd
import yaml

from surveykit.errors import SurveyKitError
from surveykit.resources import bundled_path

# A scaled value this close (relative) to a half is re-rounded on its decimal text; further away,
# binary floating-point error (about 1e-16 relative) cannot move it across the half.
_NEAR_HALF = 1e-9


@cache
def bundled_yaml(name: str, what: str) -> dict:
    """A YAML file of ``surveykit/_bundled`` (``what`` it holds names it in the error), read once."""
    path = bundled_path("bundled", name)
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise SurveyKitError(f"cannot read {what}: {exc}", file=path) from exc


def publishing_rules() -> dict:
    """The bundled publishing rules, read once."""
    return bundled_yaml("publishing.yaml", "the publishing rules")


def numbered_notes() -> list[str]:
    """The notes tables cite, in their published order: note N is item N - 1."""
    return [" ".join(str(text).split()) for text in (publishing_rules().get("notes") or {}).values()]


def note_ref(*keys: str) -> str:
    """How a table cites notes by their keys in the publishing rules: "[note 1]", "[notes 1, 2]"."""
    order = list(publishing_rules().get("notes") or {})
    unknown = [k for k in keys if k not in order]
    if unknown:
        raise KeyError(f"no note {unknown[0]!r} in the publishing rules (notes: {', '.join(order)})")
    numbers = [str(order.index(k) + 1) for k in keys]
    return f"[note {numbers[0]}]" if len(numbers) == 1 else f"[notes {', '.join(numbers)}]"


def measure_decimals(code: str) -> int:
    """Decimal places a measure's estimate is published to (publishing.yaml): 3 for 1J and ASCOT, else 1."""
    section = publishing_rules()["ascof"]
    return int((section.get("decimals_by_measure") or {}).get(str(code), section["values"]["estimate"]["decimals"]))


def symbols_line() -> str:
    """The line under a table's title that says what its symbols mean, citing their notes."""
    labels = publishing_rules()["labels"]
    return (f"Symbols: {labels['low']} suppressed (fewer than 3 respondents), {labels['none']} no respondents, "
            f"{labels['not_available']} not available, {labels['not_applicable']} not applicable "
            f"{note_ref('suppressed', 'no_respondents', 'not_available', 'not_applicable')}.")


def symbols() -> frozenset[str]:
    """Every symbol a published cell may hold instead of a number ("[c]", "[w]", "[x]", "[z]")."""
    return frozenset(publishing_rules()["labels"].values())


# ----------------------------------------------------------------------------------------- rounding

def _multiples(x, step: Fraction) -> tuple[np.ndarray, np.ndarray]:
    """Nearest multiple of ``step`` as an integer count of steps, halves away from zero.

    Returns (k, ok): x ≈ k·step where ok, NaN/inf inputs give ok False. Ties are judged on the
    decimal a person reads (``repr`` of the float), so 2.675 → 2.68 although the binary double
    is 2.67499999999999982236431605997495353221893310546875.
    """
    values = np.asarray(x, dtype="float64")
    flat = values.ravel()
    ok = np.isfinite(flat)
    scaled = np.abs(np.where(ok, flat, 0.0)) * (step.denominator / step.numerator)
    k = np.floor(scaled + 0.5)
    distance = np.abs(scaled - np.floor(scaled) - 0.5)
    near = ok & (distance <= _NEAR_HALF * np.maximum(scaled, 1.0))
    if near.any():
        quantum = Decimal(step.numerator) / Decimal(step.denominator)
        k[near] = [
            float((Decimal(repr(abs(float(v)))) / quantum).quantize(Decimal(1), ROUND_HALF_UP))
            for v in flat[near]
        ]
    k = np.where(flat < 0, -k, k)
    return k.reshape(values.shape), ok.reshape(values.shape)


def _from_multiples(values: np.ndarray, k: np.ndarray, ok: np.ndarray, step: Fraction) -> np.ndarray:
    """k·step as the nearest double (one correctly rounded division), no -0.0; NaN and inf kept."""
    out = (k * step.numerator) / step.denominator + 0.0
    return np.where(ok, out, values)


def _like_input(x, result: np.ndarray):
    """Hand the result back in the shape the caller gave: scalar, Series or array."""
    if isinstance(x, pd.Series):
        return pd.Series(result, index=x.index, name=x.name, dtype="float64")
    if np.ndim(x) == 0:
        return float(result)
    return result


def _as_float(x):
    """Float values of x; a non-number is a user-fixable error, not a traceback."""
    try:
        return pd.to_numeric(x) if isinstance(x, pd.Series) else np.asarray(x, dtype="float64")
    except (TypeError, ValueError) as exc:
        raise SurveyKitError(f"cannot round non-numeric values: {exc}") from exc


def round_half_away(x, ndigits: int = 0):
    """Round to ``ndigits`` decimals, halves away from zero, as published tables do.

    Correct on the decimal value as printed: 0.05 → 0.1, 2.25 → 2.3, -2.25 → -2.3, 2.675 → 2.68.
    NaN stays NaN. Works on scalars, arrays and Series (returning the same kind).
    """
    step = Fraction(1, 10**ndigits) if ndigits >= 0 else Fraction(10 ** (-ndigits))
    values = _as_float(x)
    k, ok = _multiples(values, step)
    return _like_input(x, _from_multiples(values, k, ok, step))


def round_to(x, base):
    """Round to the nearest multiple of ``base`` (5 for counts, 10 for weighted counts), halves away."""
    step = Fraction(str(base))
    if step <= 0:
        raise SurveyKitError(f"rounding base must be positive, got {base!r}")
    values = _as_float(x)
    k, ok = _multiples(values, step)
    return _like_input(x, _from_multiples(values, k, ok, step))


# ---------------------------------------------------------------------------------------- formatting

def _format_decimals(values: pd.Series, decimals: pd.Series) -> pd.Series:
    """Exact published text of each value at its own number of decimals ("" where missing).

    Built from integer multiples, so the text never shows float noise (0.30000000000000004).
    """
    at, texts = [], []
    for nd in pd.unique(decimals):  # a handful of precisions, not a loop over rows
        rows = np.flatnonzero((decimals == nd).to_numpy())
        nd = int(nd)
        k, ok = _multiples(values.to_numpy(dtype="float64")[rows], Fraction(1, 10**nd))
        k = np.where(ok, k, 0).astype("int64")
        magnitude = np.abs(k)
        whole = pd.Series(magnitude // 10**nd, dtype="int64").astype("str")
        text = whole
        if nd > 0:
            frac = pd.Series(magnitude % 10**nd, dtype="int64").astype("str").str.zfill(nd)
            text = whole + "." + frac
        sign = pd.Series(np.where(k < 0, "-", ""), dtype="str")
        at.append(rows)
        texts.append((sign + text).where(ok, ""))
    if not texts:
        return pd.Series("", index=values.index, dtype="str")
    if len(texts) == 1:
        out = texts[0]
    else:   # each precision's texts put back in row order at once (assigning into a text Series by mask is slow)
        out = pd.concat(texts, ignore_index=True).iloc[np.argsort(np.concatenate(at), kind="stable")]
    out.index = values.index
    return out


def _format_multiples(values: pd.Series, base) -> pd.Series:
    """Counts rounded to a multiple of ``base`` as integer text ("" where missing)."""
    step = Fraction(str(base))
    k, ok = _multiples(values.to_numpy(dtype="float64"), step)
    counts = (np.where(ok, k, 0) * step.numerator // step.denominator).astype("int64")
    text = pd.Series(counts, index=values.index, dtype="int64").astype("str")
    return text.where(ok, "")


def _numeric_column(frame: pd.DataFrame, column: str) -> pd.Series:
    try:
        return pd.to_numeric(frame[column]).astype("float64")
    except (TypeError, ValueError) as exc:
        raise SurveyKitError(f"expected numbers: {exc}", column=column) from exc


def _require(frame: pd.DataFrame, columns, what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SurveyKitError(f"{what} lack column(s) {', '.join(missing)}", column=missing[0])


def _base_labels(base, min_base: int, also_low=None) -> np.ndarray:
    """What a row's figures are published as by its base, for an array of any shape: "[x]" base unknown, "[w]"
    nobody, "[c]" fewer than ``min_base`` (or ``also_low`` where anyone answered), "" the figures."""
    labels = publishing_rules()["labels"]
    base = np.asarray(base, dtype="float64")
    low = (base > 0) & (base < min_base)
    if also_low is not None:
        low |= np.asarray(also_low, dtype=bool) & (base > 0)
    return np.select([np.isnan(base), base == 0, low], [labels["not_available"], labels["none"], labels["low"]], "")


def question_labels(base) -> np.ndarray:
    """``_base_labels`` of a question for an area or group (its base: how many answered it): "[c]" for 1 to
    ``low_respondents_max``. The question tables and every annex table use this one rule."""
    return _base_labels(base, publishing_rules()["low_respondents_max"] + 1)


def margin_labels(respondents) -> np.ndarray:
    """Where an answer's margin of error is withheld although its question is published, by how many gave the
    answer: "[w]" nobody, "[c]" too few (at most ``margin_needs_respondents_above``), else ""."""
    rules = publishing_rules()
    labels = rules["labels"]
    respondents = np.asarray(respondents, dtype="float64")
    few = respondents <= rules["questions"]["margin_needs_respondents_above"]
    return np.where(few, np.where(respondents == 0, labels["none"], labels["low"]), "")


def _publish(frame: pd.DataFrame, section: dict, row_label: pd.Series,
             decimals_for: dict[str, pd.Series]) -> pd.DataFrame:
    """Rounded text for every published value column; the row label replaces every value it covers."""
    not_available = publishing_rules()["labels"]["not_available"]
    present = [c for c in section["values"] if c in frame.columns]
    out = frame[[c for c in section["id_columns"] if c in frame.columns]].copy()
    suppressed = row_label != ""
    for column in present:
        rule = section["values"][column]
        if rule.get("text"):
            out[column] = frame[column].fillna("").astype("str").where(~suppressed, row_label)
            continue
        values = _numeric_column(frame, column)
        if "nearest" in rule:
            text = _format_multiples(values, rule["nearest"])
        else:
            decimals = decimals_for.get(column, pd.Series(rule["decimals"], index=frame.index))
            text = _format_decimals(values, decimals)
        text = text.where(text != "", not_available)
        out[column] = text.where(~suppressed, row_label)
    return out


def publish_ascof(results: pd.DataFrame) -> pd.DataFrame:
    """Published ASCOF table from tidy unrounded results (docs/contracts.md, "ASCOF results").

    A measure is suppressed where its base is below ``min_base`` (each split separately) or the
    results already say ``suppressed``: every value of that row, its note included, becomes the
    label. Other values are rounded as text; a missing value reads "[x]" and the note says why
    where the estimator knew. Extra columns (df, deff ...) are not published.
    """
    rules = publishing_rules()
    section = rules["ascof"]
    base_column = section["base_column"]
    _require(results, ["measure", "estimate", base_column], "ASCOF results")
    base = _numeric_column(results, base_column)
    extra = None
    if "suppressed" in results.columns:
        try:
            extra = results["suppressed"].astype("boolean").fillna(False).astype(bool)
        except (TypeError, ValueError) as exc:
            raise SurveyKitError(f"expected true/false: {exc}", column="suppressed") from exc
    row_label = pd.Series(_base_labels(base.to_numpy(), section["min_base"],
                                      None if extra is None else extra.to_numpy()), index=base.index, dtype="str")

    default_decimals = {c: r["decimals"] for c, r in section["values"].items() if r.get("per_measure")}
    by_measure = section.get("decimals_by_measure") or {}
    decimals_for = {}
    measure = results["measure"].astype("str")
    for column, default in default_decimals.items():
        decimals_for[column] = measure.map(by_measure).fillna(default).astype("int64")
    out = _publish(results, section, row_label, decimals_for)
    out["suppressed"] = (row_label != "").to_numpy()
    return out


def publish_questions(questions: pd.DataFrame) -> pd.DataFrame:
    """Published question table: weighted percentage answering each code, by area.

    The whole question in an area is suppressed by its base (those answering the question):
    "[w]" none, "[c]" 1-2, as NHS Digital's annex tables do. Below that, an answer given by 1 or 2
    people is published (its percentage rests on the whole base), but one given by nobody has no
    margin of error ("[w]": no respondents) and one given by one person has none either ("[c]").
    """
    rules = publishing_rules()
    section = rules["questions"]
    base_column = section["base_column"]
    _require(questions, ["question", "answer", "percent", base_column], "question tables")
    base = _numeric_column(questions, base_column)
    row_label = pd.Series(question_labels(base.to_numpy()), index=questions.index, dtype="str")
    out = _publish(questions, section, row_label, {})

    if "margin_of_error" in out.columns and "respondents" in questions.columns:
        margin = margin_labels(_numeric_column(questions, "respondents").to_numpy())
        no_margin = (row_label == "").to_numpy() & (margin != "")
        out["margin_of_error"] = out["margin_of_error"].where(~no_margin, pd.Series(margin, index=out.index))
    answer = questions["answer"]
    if pd.api.types.is_numeric_dtype(answer) and bool((answer.dropna() % 1 == 0).all()):
        out["answer"] = answer.astype("Int64")
    return out
