"""NHS Digital's ASCS annex tables as published sheets: T1a-T6, with Contents and Notes.

``annex_sheets(design, survey_return)`` builds every sheet as a ``PublishedSheet`` (rounded numbers, symbols
as text), named as NHS Digital name them; ``publish/workbook.py`` renders them. What each holds, and how:

- T1a, T1b, T5 (answers by council): per council, average group, England and region, each question's weighted
  percentages (T1a, with its respondents), weighted counts (T1b, with its total) and margins of error (T5).
- T2a, T2b (answers by demographic): the same by every demographic group of ``_bundled/annex.yaml``.
- T3a, T3b (answers by response): the same among those who gave each answer to each question; "[z]" where a
  question meets itself, a different version of the questionnaire, or Q2c meets the easy-read version.
- T4 (response rates): the survey's per council (from the ledger: every sampled row) and each question's.
- T6 (demographics): the estimated profile of the eligible population of the councils in the return.

The estimator is NHS Digital's (docs/maths.md and stratification.py in NHSDigital/ASC-User-Survey): within a
council-stratum h, a group g's population is N_h m_hg / m_h (m counting those who answered the question's
base), its answer j's estimated population N_h n_hgj / m_h, so an area or group's percentage is
Σ N_h n_hgj / m_h over Σ N_h m_hg / m_h and its variance Σ N_hg² (1 − m_h/N_h) p(1 − p) / (m_hg − 1), over
(Σ N_hg)², a cell of one respondent adding nothing; the margin of error is 1.96 SE. For a plain question the
base is the question itself (so g = h and it is the textbook stratified estimator); for the standard and the
easy-read version of Q1 and Q2 it is the combined question, so each version is a group of it, as NHS Digital
weight them; Q2c is weighted by its own population. All of it is linear in per-stratum counts, so each table is
one pass: per-stratum answer counts by ``np.bincount`` for T1 and T5 (areas are whole strata), and for T2 and
T3 one product of the group-membership matrix with the weighted answer matrix (stratum x group x answer,
summed over strata by the product). No loop runs per council or per group.

Publishing (``_bundled/publishing.yaml``): a question an area or group has no respondents to is "[w]", 1 or 2
"[c]", in every cell of that question (percentages, weighted counts, respondents, margins), so a withheld figure
appears nowhere else; and where one version of Q1 or Q2 is "[c]" the other is too (in every row the standard and
the easy-read weighted counts add up to the combined ones). A council in the lookup but not in the return is
"[x]"; an answer nobody gave has no margin ("[w]"), one person gave "[c]". Percentages and margins to 1 dp,
weighted counts to the nearest 10, respondents to the nearest 5, halves away from zero. Figures that could be
had by differencing rows (England less every other council, a section's total less its other groups) are not
withheld, as NHS Digital do not withhold them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.publish.annex_counts import (Counts, QuestionBlock, annex_questions, clean_text, codes_of,
                                            natural_order, not_applicable, numeric, question_number)
from surveykit.publish.rules import (bundled_yaml, margin_labels, publishing_rules, question_labels,
                                     round_half_away, round_to)
from surveykit.publish.sheet import Block, PublishedSheet, Section
from surveykit.questionnaire import conditions_mask
from surveykit.results import NHS_Z, area_levels
from surveykit.validate import REASONS
from surveykit.weights import ENGLAND

_NO_COUNCIL = set(REASONS[:2])           # rows no council can be given ("no council code", "unknown council")
_NOT_RESPONDED = set(REASONS[2:4])       # sampled but did not respond ("response missing or invalid", ...)


def annex_layout() -> dict:
    """The annex's sheet names, titles, headers, notes and row sections (``_bundled/annex.yaml``), read once."""
    return bundled_yaml("annex.yaml", "the annex layout")


# --------------------------------------------------------------------------------------- rows: the areas

@dataclass(frozen=True)
class _Areas:
    """The area rows of T1, T4 and T5: councils in the return, average groups, England, regions, then the
    lookup's councils not in the return. ``M`` (rows x councils of the return) says which councils each holds."""
    code: np.ndarray        # CASSR code ("" for averages, England, regions)
    ons: np.ndarray
    name: np.ndarray
    kind: np.ndarray        # "council", "average", "england", "region", "absent"
    available: np.ndarray   # False: every cell "[x]" (a council not in the return, a region without one)
    M: np.ndarray
    councils: list[str]     # the councils of the return, in row order

    @property
    def ids(self) -> np.ndarray:
        return np.column_stack([self.code, self.ons, self.name]).astype(object)


def _lookup(design, councils) -> pd.DataFrame:
    table = councils if councils is not None else getattr(design, "councils", None)
    columns = ("council", "council_name", "region_code", "region_name", "ons_code")
    if table is None:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    if "council" not in table.columns:
        raise SurveyKitError("the council lookup needs a council column (council, council_name, region_code, "
                             "region_name, ons_code)")
    out = pd.DataFrame({c: table[c].map(clean_text) if c in table.columns else "" for c in columns}, dtype=object)
    return out.drop_duplicates("council").reset_index(drop=True)


def _averages(average, participating: list[str]) -> list[tuple[str, list[str]]]:
    name = annex_layout()["areas"]["average"]
    if average is None:
        groups = [(name.format(n=len(participating)), participating)]
    elif isinstance(average, str):
        groups = [(average, participating)]
    elif isinstance(average, Mapping):
        groups = [(str(k), [clean_text(c) for c in v]) for k, v in average.items()]
    else:
        codes = [clean_text(c) for c in average]
        groups = [(name.format(n=len(set(codes))), codes)]
    for group, codes in groups:
        unknown = sorted(set(codes) - set(participating), key=natural_order)
        if unknown or not codes:
            raise SurveyKitError(f"average group {group!r} names councils not in this return: "
                                 f"{', '.join(unknown) or 'none given'}")
    return [(group, sorted(set(codes), key=natural_order)) for group, codes in groups]


def _areas(design, survey_return, councils, average, england=None) -> _Areas:
    spec = design.spec
    ledger = survey_return.ledger
    in_ledger = codes_of(ledger.loc[~ledger["reason"].isin(_NO_COUNCIL), spec.council_column], None)[1]
    participating = sorted(set(codes_of(design.data["council"], None)[1]) | set(in_ledger), key=natural_order)
    lookup = _lookup(design, councils)
    P = len(participating)
    part = pd.DataFrame({"council": participating}, dtype=object).merge(lookup, on="council", how="left")
    part = part.fillna("")
    averages = _averages(average, participating)
    regions = lookup[lookup["region_code"] != ""].drop_duplicates("region_code")
    regions = regions.iloc[sorted(range(len(regions)), key=lambda i: natural_order(regions["region_code"].iloc[i]))]
    absent = lookup[~lookup["council"].isin(participating)]
    absent = absent.iloc[sorted(range(len(absent)), key=lambda i: natural_order(absent["council"].iloc[i]))]
    is_in = np.array([np.isin(participating, codes) for _, codes in averages], dtype=float).reshape(-1, P)
    in_region = (regions["region_code"].to_numpy(dtype=object)[:, None]
                 == part["region_code"].to_numpy(dtype=object)[None, :]).astype(float)
    M = np.vstack([np.eye(P), is_in, np.ones((1, P)), in_region, np.zeros((len(absent), P))])
    A, R, X = len(averages), len(regions), len(absent)
    england_name = annex_layout()["areas"]["england"]

    def named(frame, name, code):   # a name, or the code where the lookup has none
        return np.where(frame[name] != "", frame[name], frame[code])

    code = np.concatenate([part["council"], [""] * (A + 1 + R), absent["council"]]).astype(object)
    ons = np.concatenate([part["ons_code"], [""] * A, [ENGLAND[0]], regions["region_code"],
                          absent["ons_code"]]).astype(object)
    name = np.concatenate([named(part, "council_name", "council"), [g for g, _ in averages], [england_name],
                           named(regions, "region_name", "region_code"),
                           named(absent, "council_name", "council")]).astype(object)
    kind = np.repeat(np.array(["council", "average", "england", "region", "absent"]), [P, A, 1, R, X])
    available = np.concatenate([np.ones(P + A + 1, bool), in_region.any(axis=1), np.zeros(X, bool)])
    if getattr(design, "coverage", None) is not None:
        # England and regions as the ASCOF tables publish them (fit.py rules 5-6): "[x]" for a return of one
        # council (its England would be that council), named "(partial: ...)" where built from part of the country
        levels = [level for level, _ in area_levels(design, england)]
        available[kind == "england"] &= "england" in levels
        available[kind == "region"] &= "region" in levels
        labels = design.coverage.names(levels)
        name = np.array([labels.get(o, n) if k in ("england", "region") and a else n
                         for o, n, k, a in zip(ons, name, kind, available)], dtype=object)
    return _Areas(code, ons, name, kind, available, M, participating)


# ---------------------------------------------------------------------------------------- publishing

def _published(values: np.ndarray, labels: np.ndarray, kind: str) -> np.ndarray:
    """Rounded numbers (kind: "percent" 1 dp, "count10" / "count5" whole multiples) with labels in place."""
    if kind == "percent":
        numbers = round_half_away(values, 1).astype(object)
    else:
        step = 10 if kind == "count10" else 5
        rounded = round_to(np.where(np.isfinite(values), values, 0.0), step)
        numbers = rounded.astype(np.int64).astype(object)
    not_available = publishing_rules()["labels"]["not_available"]
    labels = np.where((labels == "") & ~np.isfinite(values), not_available, labels)
    out = np.asarray(numbers, dtype=object)
    mask = labels != ""
    out[mask] = labels[mask]
    return out


def _frame(columns: list[str], parts: list[np.ndarray]) -> pd.DataFrame:
    body = np.concatenate([p.reshape(len(p), -1) for p in parts], axis=1) if parts else np.zeros((0, 0))
    return pd.DataFrame(body, columns=columns, dtype=object)


def _lines(extra_blank: bool = False) -> list[str]:
    text = annex_layout()["lines"]
    return [text["one_table"], text["freeze"]] + ([""] if extra_blank else [])


# ------------------------------------------------------------------------------------ the question tables

def _answer_columns(counts: Counts, blocks: list[QuestionBlock], total: str | None):
    """T1-T3's value columns: (column ids, answer index j, variable index v, is-total, header blocks). A block's
    total (``total``: "Respondents", "Total weighted respondents", or None for none) follows its answers."""
    ids, j, v, is_total, header = [], [], [], [], []
    for i, b in enumerate(blocks):
        cols = [b.column(var, code) for var, code in b.cells]
        j += [counts.offset[var] + counts.variables[var].codes.index(code) for var, code in b.cells]
        v += [counts.index[var] for var, _ in b.cells]
        is_total += [False] * len(cols)
        labels = list(b.labels)
        if total is not None:
            cols.append(f"{b.key}|{total}")
            labels.append(total)
            j.append(-1)
            v.append(counts.index[b.respondents])
            is_total.append(True)
        ids += cols
        header.append(Block(b.title, tuple(cols), tuple(labels), gap_after=0 if i == len(blocks) - 1 else 1))
    return ids, np.array(j, dtype=np.int64), np.array(v, dtype=np.int64), np.array(is_total, dtype=bool), header


def _question_labels(counts: Counts, base: np.ndarray) -> np.ndarray:
    """Each row's label for each variable (rows x variables): [w] none answered, [c] 1-2. The standard and the
    easy-read version of a question add up to the combined one in every row (their weights are the same), so
    where one version is [c] the other is withheld too: otherwise combined minus the other would show it."""
    labels = question_labels(base)
    low = publishing_rules()["labels"]["low"]
    versions: dict[str, dict[str, int]] = {}
    for key, var in counts.variables.items():
        if var.version in ("Std", "ER"):
            versions.setdefault(var.question, {})[var.version] = counts.index[key]
    for pair in versions.values():
        if len(pair) == 2:
            std, er = pair["Std"], pair["ER"]
            withheld_std, withheld_er = labels[:, std] == low, labels[:, er] == low
            labels[:, std] = np.where(withheld_er & (labels[:, std] == ""), low, labels[:, std])
            labels[:, er] = np.where(withheld_std & (labels[:, er] == ""), low, labels[:, er])
    return labels


def _value_parts(counts, stats, j, v, is_total, what: str, row_labels: np.ndarray | None = None):
    """Published values of T1-T3's columns: ``what`` is "percent" (totals: respondents), "count" (totals: the
    weighted total) or "margin"; ``row_labels`` ("" or a label per row) overrides every cell of a row."""
    labels = _question_labels(counts, stats["base"])[:, v]
    if row_labels is not None:
        labels = np.where(row_labels[:, None] != "", row_labels[:, None], labels)
    answer, total = ~is_total, is_total
    ja = j[answer]
    out = np.empty(labels.shape, dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        pop = stats["pop"][:, v]
        if what == "percent":
            out[:, answer] = _published(100 * stats["est"][:, ja] / pop[:, answer], labels[:, answer], "percent")
            out[:, total] = _published(stats["base"][:, v[total]], labels[:, total], "count5")
        elif what == "count":
            out[:, answer] = _published(stats["est"][:, ja], labels[:, answer], "count10")
            out[:, total] = _published(pop[:, total], labels[:, total], "count10")
        else:
            margin = margin_labels(stats["resp"][:, ja])
            cell = labels[:, answer]
            out[:, answer] = _published(100 * NHS_Z * np.sqrt(stats["var"][:, ja]) / pop[:, answer],
                                        np.where(cell == "", margin, cell), "percent")
    return out


# ------------------------------------------------------------------------------------------- the builder

class _Annex:
    def __init__(self, design, survey_return, councils, average, england=None):
        if survey_return is None:
            survey_return = getattr(design, "survey_return", None)
        if survey_return is None or getattr(survey_return, "ledger", None) is None:
            raise SurveyKitError("the annex's response rates need the validated return (its ledger)")
        self.design, self.ret, self.spec = design, survey_return, design.spec
        self.layout = annex_layout()
        self.variables, self.values, self.blocks = annex_questions(self.spec, design.data)
        self.counts = Counts(design, self.variables, self.values)
        self.areas = _areas(design, survey_return, councils, average, england)

    # ---- T1a, T1b, T5
    def area_sheets(self) -> list[PublishedSheet]:
        c, areas = self.counts, self.areas
        S = np.zeros((len(areas.councils), c.H))     # council x stratum
        S[pd.Index(areas.councils).get_indexer(c.stratum_council), np.arange(c.H)] = 1.0
        stats = c.areas(areas.M @ S)
        x = publishing_rules()["labels"]["not_available"]
        row_labels = np.where(areas.available, "", x).astype(object)
        ids = areas.ids
        h = self.layout["headers"]
        out = []
        for key, what, total in (("t1a", "percent", h["respondents"]), ("t1b", "count", h["weighted_respondents"]),
                                 ("t5", "margin", None)):
            sheet = self.layout["sheets"][key]
            cols, j, v, is_total, qblocks = _answer_columns(c, self.blocks, total)
            values = _value_parts(c, stats, j, v, is_total, what, row_labels)
            frame = _frame(["cassr_code", "ons_code", "cassr_name"] + cols, [ids, values])
            header = Block("", ("cassr_code", "ons_code", "cassr_name"),
                           (h["cassr_code"], h["ons_code"], sheet["area_name"]))
            formats = {"cassr_code": "text", "ons_code": "text", "cassr_name": "text"}
            number = "count" if what == "count" else "percent"
            formats.update({col: ("count" if t and what != "margin" else number) for col, t in zip(cols, is_total)})
            out.append(PublishedSheet(sheet["name"], sheet["title"], _lines(key == "t5"), frame, [header, *qblocks],
                                      formats, freeze_columns=3, widths={"cassr_name": 40.0}))
        return out

    # ---- T2a, T2b, T3a, T3b
    def _group_sheets(self, keys, sections, R, row_population, z=None) -> list[PublishedSheet]:
        """T2 or T3 from row sections [(title, [labels])] and the membership matrix R (respondents x rows)."""
        c = self.counts
        stats = c.groups(R, row_population)
        labels_col = [label for _, rows in sections for label in rows]
        h = self.layout["headers"]
        out = []
        for key, what, total in ((keys[0], "percent", h["respondents"]), (keys[1], "count", h["weighted_respondents"])):
            sheet = self.layout["sheets"][key]
            cols, j, v, is_total, qblocks = _answer_columns(c, self.blocks, total)
            values = _value_parts(c, stats, j, v, is_total, what)
            if z is not None:
                values[z[:, v]] = "[z]"
            frame = _frame(["group"] + cols, [np.array(labels_col, dtype=object), values])
            blocks_out = [Block("", ("group",), (sheet["group"],)), *qblocks]
            formats = {"group": "text"}
            formats.update({col: ("count" if (t or what == "count") else "percent") for col, t in zip(cols, is_total)})
            out.append(PublishedSheet(sheet["name"], sheet["title"], _lines(), frame, blocks_out, formats,
                                      _sections(sections), freeze_columns=1, widths={"group": 45.0}))
        return out

    def _average_columns(self):
        """The average groups' names and membership columns (respondents x groups)."""
        areas = self.areas
        rows = np.flatnonzero(areas.kind == "average")
        council = codes_of(self.design.data["council"], areas.councils)[0]
        return list(areas.name[rows]), areas.M[rows].T[council]

    def demographic_sheets(self) -> list[PublishedSheet]:
        data, spec = self.design.data, self.spec
        names, average = self._average_columns()
        sections = [(self.layout["areas"]["average_section"], names)]
        groups = []
        for section in self.layout["demographics"]:
            rows = section.get("rows") or [{"grouping": section["grouping"], "group": g, "label": g}
                                           for g in _categories(spec, section)]
            rows = pd.DataFrame([r for r in rows if r["grouping"] in data.columns], columns=["grouping", "group",
                                                                                               "label"])
            if len(rows):
                groups.append(rows)
                sections.append((section["title"], list(rows["label"])))
        # the membership matrix made once at its full width (no stacking copy of 30,000 x 60)
        R = np.zeros((len(data), average.shape[1] + sum(len(rows) for rows in groups)), dtype=np.float32)
        R[:, :average.shape[1]] = average
        at = average.shape[1]
        for rows in groups:
            for grouping, picked in rows.groupby("grouping", sort=False):   # one-hot per grouping, not per group
                codes = codes_of(data[grouping], list(picked["group"]))[0]
                R[:, at + picked.index.to_numpy()] = codes[:, None] == np.arange(len(picked))[None, :]
            at += len(rows)
        return self._group_sheets(("t2a", "t2b"), sections, R, None)

    def response_sheets(self) -> list[PublishedSheet]:
        c = self.counts
        names, average = self._average_columns()
        sections = [(self.layout["areas"]["average_section"], names)]
        row_j, row_var, row_pop = [], [], [None] * len(names)
        for b in self.blocks:
            if b.excluding:
                continue
            sections.append((b.title, list(b.labels)))
            for (var, code) in b.cells:
                row_j.append(c.offset[var] + c.variables[var].codes.index(code))
                row_var.append(var)
                row_pop.append(c.variables[var].population)
        R = np.empty((len(average), average.shape[1] + len(row_j)), dtype=np.float32)   # in place, not stacked
        R[:, :average.shape[1]] = average
        c.answered(np.asarray(row_j, dtype=np.int64), out=R[:, average.shape[1]:])
        z_var = not_applicable(c)[[c.index[r] for r in row_var]]
        z = np.vstack([np.zeros((len(names), len(c.keys)), dtype=bool), z_var])
        return self._group_sheets(("t3a", "t3b"), sections, R, row_pop, z)

    # ---- T4
    def response_rate_sheet(self) -> PublishedSheet:
        spec, data, ledger = self.spec, self.design.data, self.ret.ledger
        layout = self.layout["sheets"]["t4"]
        members = self.areas.councils
        M = self.areas.M
        sampled = ~ledger["reason"].isin(_NO_COUNCIL)
        responded = sampled & ~ledger["reason"].isin(_NOT_RESPONDED)
        ledger_council = codes_of(ledger[spec.council_column], members)[0]   # -1: no council, or another

        def per_council(mask, index):
            keep = mask & (index >= 0)
            return np.bincount(index[keep], minlength=len(members)).astype(float)

        numerators = [M @ per_council(responded.to_numpy(), ledger_council)]
        denominators = [M @ per_council(sampled.to_numpy(), ledger_council)]
        council = codes_of(data["council"], members)[0]
        everyone = np.ones(len(data), dtype=bool)
        headers = []
        ids = []
        for name in self.layout["response_rates"]:
            column, item = _rate_column(spec, name)
            if column is None or column not in data.columns:
                continue
            asked = (conditions_mask(data, item.asked_of) if item.asked_of and
                     all(cond.column in data.columns for cond in item.asked_of) else everyone)
            answered = ~np.isnan(numeric(data, column)) & asked
            numerators.append(M @ per_council(answered, council))
            denominators.append(M @ per_council(asked, council))
            headers.append(f"Question {question_number(spec, item.name if name not in spec.multi_choice else name)}")
            ids.append(f"rate|{name}")
        num, den = np.column_stack(numerators), np.column_stack(denominators)
        rules = publishing_rules()
        x = rules["labels"]["not_available"]
        available = self.areas.available
        labels = np.where(den == 0, rules["labels"]["none"],
                          np.where((num > 0) & (num <= rules["low_respondents_max"]), rules["labels"]["low"], ""))
        labels = np.where(available[:, None], labels, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            values = _published(100 * num / den, labels, "percent")
        area_ids = self.areas.ids
        columns = ["cassr_code", "ons_code", "cassr_name", "rate|survey"] + ids
        frame = _frame(columns, [area_ids, values])
        h = self.layout["headers"]
        blocks = [Block("", ("cassr_code", "ons_code", "cassr_name"), (h["cassr_code"], h["ons_code"],
                                                                       layout["area_name"])),
                  Block(layout["overall"], ("rate|survey",), (layout["overall_label"],), gap_after=1)]
        if ids:
            blocks.append(Block(layout["questions"], tuple(ids), tuple(headers)))
        formats = {"cassr_code": "text", "ons_code": "text", "cassr_name": "text"}
        formats.update({col: "percent" for col in columns[3:]})
        return PublishedSheet(layout["name"], layout["title"], _lines(), frame, blocks, formats, freeze_columns=3,
                              widths={"cassr_name": 40.0})

    # ---- T6
    def demographics_sheet(self) -> PublishedSheet:
        spec, data, c = self.spec, self.design.data, self.counts
        layout = self.layout["sheets"]["t6"]
        sections, group_codes, n_groups = [], [], []
        for section in self.layout["profile"]:
            if "grouping" in section:
                if section["grouping"] not in data.columns:
                    continue
                categories = _categories(spec, section)
                codes = codes_of(data[section["grouping"]], categories)[0]
                labels = list(categories)
            else:
                column = section["column"]
                if column not in data.columns or not spec.columns[column].codes:
                    continue
                table = spec.columns[column].codes
                codes = pd.Categorical(numeric(data, column), categories=[float(k) for k in table]).codes
                labels = list(table.values())
            sections.append((section["title"], labels))
            group_codes.append(np.asarray(codes, dtype=np.int64))
            n_groups.append(len(labels))
        offsets = np.cumsum([0] + n_groups)
        G = int(offsets[-1])
        D = len(n_groups)
        if D:
            K = np.column_stack(group_codes)
            valid = K >= 0
            flat = (np.repeat(c.h, D).reshape(len(data), D) * G + (K + offsets[:-1]))[valid]
            n = np.bincount(flat, minlength=c.H * G).reshape(c.H, G).astype(float)
        else:
            n = np.zeros((c.H, 0))
        section_of = np.repeat(np.arange(D), n_groups)
        to_section = np.zeros((G, D))
        to_section[np.arange(G), section_of] = 1.0
        m = n @ to_section
        N = c.populations[None]
        with np.errstate(divide="ignore", invalid="ignore"):
            W = np.where(m > 0, N[:, None] / m, 0.0)
            est = (W[:, section_of] * n).sum(axis=0)
            pop = (W * m).sum(axis=0)[section_of]
            percent = 100 * est / pop
        labels = question_labels(n.sum(axis=0))
        values = [_published(est, labels, "count10"), _published(percent, labels, "percent")]
        row_labels = np.array([label for _, rows in sections for label in rows], dtype=object)
        frame = _frame(["group", "population", "percent"], [row_labels, *values])
        blocks = [Block("", ("group",), (layout["group"],)),
                  Block(layout["heading"], ("population", "percent"), (layout["population"], layout["percent"]))]
        return PublishedSheet(layout["name"], layout["title"], _lines(), frame, blocks,
                              {"group": "text", "population": "count", "percent": "percent"}, _sections(sections),
                              freeze_columns=1, widths={"group": 45.0})

    # ---- Contents and Notes
    def notes_sheet(self) -> PublishedSheet:
        sheet = self.layout["sheets"]["notes"]
        notes = self.layout["notes"]
        frame = pd.DataFrame({"note": [f"note {k}" for k in notes], "text": [str(t).strip() for t in notes.values()]},
                             dtype=object)
        return PublishedSheet(sheet["name"], sheet["title"], [self.layout["lines"]["one_table"]], frame,
                              [Block("", ("note", "text"), tuple(sheet["header"]))], {"note": "text", "text": "text"},
                              widths={"note": 12.0, "text": 100.0})

    def contents_sheet(self, sheets: list[PublishedSheet]) -> PublishedSheet:
        sheet = self.layout["sheets"]["contents"]
        frame = pd.DataFrame({"sheet": [s.name for s in sheets], "title": [s.title for s in sheets]}, dtype=object)
        return PublishedSheet(sheet["name"], sheet["title"], [self.layout["lines"]["one_table"]], frame,
                              [Block("", ("sheet", "title"), tuple(sheet["header"]))],
                              {"sheet": "text", "title": "text"}, widths={"sheet": 32.0, "title": 90.0})


def _categories(spec, section) -> list[str]:
    grouping = spec.groupings.get(section["grouping"])
    categories = list(grouping.categories) if grouping is not None else []
    order = section.get("order")
    if order:
        categories = [g for g in order if g in categories] + [g for g in categories if g not in order]
    return categories


def _sections(sections) -> list[Section]:
    out, first = [], 0
    for title, rows in sections:
        if rows:
            out.append(Section(title, first, first + len(rows) - 1))
        first += len(rows)
    return out


def _rate_column(spec, name: str):
    """(data column, item) counted in T4 for ``name``: an item, a combined easy-read item, a multi-choice question."""
    if name in spec.multi_choice:
        part = spec.multi_choice[name].parts[0]
        return part, spec.items[part]
    if name in spec.combined_names:
        return name, spec.items[spec.combined_names[name]]
    if name in spec.items:
        return name, spec.items[name]
    return None, None


def annex_notes() -> list[str]:
    """The numbered notes the annex tables cite as "[note N]", in order (note 1 first)."""
    notes = annex_layout()["notes"]
    return [str(notes[k]).strip() for k in sorted(notes)]


def annex_sheets(design, survey_return, councils=None, average=None, england=None) -> list[PublishedSheet]:
    """NHS Digital's annex tables for a weighted ASCS return, one ``PublishedSheet`` each, in the annex's order:
    Contents, Notes, T1a, T1b, T2a, T2b, T3a, T3b, T4, T5, T6.

    ``design`` comes from ``surveykit.weight``; ``survey_return`` is the validated return (its ledger counts every
    sampled person for the response rates). ``councils`` is the council lookup (``council, council_name,
    region_code, region_name, ons_code``; default the design's): its regions get rows, and its councils not in
    the return are listed with "[x]". ``average`` is the average row: None for every council of the return
    ("18 CASSR Average" for 18), a name for that group, a list of council codes, or {name: codes} for several.
    ``england`` as for ``ascof``: the England and region rows are "[x]" for a return of one council unless True,
    and an area built from part of the country is named so (fit.py rules 5-6). T2, T3 and T6 cover every council
    of the return (as NHS Digital's do), T2 and T3 with the average group(s) as their first rows. T4's survey rate
    counts the ledger's sampled rows (every row with a known council) and its respondents; a question's rate, and
    T6, the respondents the design holds (those with a stratum and a population: NHS Digital also count
    respondents without a stratum in T4, and non-respondents' recorded demographics in T6, which a validated
    return does not keep).
    """
    annex = _Annex(design, survey_return, councils, average, england)
    tables = _tables(annex)
    notes = annex.notes_sheet()
    return [annex.contents_sheet([notes, *tables]), notes, *tables]


def annex_tables(design, survey_return, councils=None, average=None, england=None) -> list[PublishedSheet]:
    """``annex_sheets`` without its Contents and Notes: T1a-T6 only, for a workbook writer that makes its own
    (``write_workbook``, given ``annex_notes()`` as the numbered notes)."""
    return _tables(_Annex(design, survey_return, councils, average, england))


def _tables(annex: _Annex) -> list[PublishedSheet]:
    t1a, t1b, t5 = annex.area_sheets()
    t2a, t2b = annex.demographic_sheets()
    t3a, t3b = annex.response_sheets()
    return [t1a, t1b, t2a, t2b, t3a, t3b, annex.response_rate_sheet(), t5, annex.demographics_sheet()]
