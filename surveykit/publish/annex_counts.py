"""The annex's questions and their sufficient statistics (the counting half of ``publish/annex.py``).

``annex_questions`` lays a questionnaire out as the annex shows it: one variable per column of answers (an item, a
version of an easy-read item, an "excluding" copy, a multi-choice part) and the question blocks over them.
``Counts`` codes every variable's answers once and keeps what every annex table is estimated from: per-stratum
answer counts, each variable's per-stratum weight N_h / m_h(base) and finite population correction, and (for the
group tables) the respondent x answer matrix of weights. See ``publish/annex.py`` for the estimator and NHS Digital's rules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BLOCK_ROWS = 4096      # respondents a group table's weighted answers are made for at a time (6 MB nationally)


# ------------------------------------------------------------------------ the questions as the annex shows them

@dataclass(frozen=True)
class Variable:
    """One column of answers: an item, a version of an easy-read item, an "excluding" copy, a multi-choice part."""
    key: str
    question: str                 # the question it comes from (T3's [z] where a question meets itself)
    codes: tuple[int, ...]        # every code it takes (a multi-choice part: 1 selected, 2 not)
    base: str                     # whose respondents in a stratum weight it (a version: the combined item)
    population: str | None        # the named population it is weighted by (Q2c), None: the stratum's
    version: str | None = None    # "Std", "ER" or "Comb" for the versions of an easy-read item
    asked_of_some: bool = False   # not asked of everyone (Q2c): [z] against the easy-read version


@dataclass(frozen=True)
class QuestionBlock:
    """One question block: its heading, its answer columns (variable, code) and their labels."""
    key: str
    title: str
    cells: tuple[tuple[str, int], ...]
    labels: tuple[str, ...]
    respondents: str              # the variable whose respondents the block's total shows
    excluding: bool = False       # an "excluding ..." block: a column of T1-T3, never a row of T3
    multi: bool = False           # a multi-choice question: its parts are the answers

    def column(self, var: str, code: int) -> str:
        return f"{self.key}|{var}" if self.multi else f"{self.key}|{code}"


def numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    return pd.to_numeric(data[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def natural_order(code: str):
    """Sort key of a council or region code: numbers as numbers (102 before 1000), then text."""
    return (0, int(code), "") if code.isdigit() else (1, 0, code)


def clean_text(value) -> str:
    """A code or name as text, trimmed; "" for missing (None, NaN, or the text "nan" a lookup read as text)."""
    text = "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value).strip()
    return "" if text.lower() in ("nan", "none", "<na>") else text


def codes_of(values: pd.Series, wanted) -> tuple[np.ndarray, list[str]]:
    """Each row's position in ``wanted`` (-1: none), from the distinct values (text compared trimmed); with
    ``wanted`` None, positions in the sorted distinct values themselves, which are returned."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    texts = [clean_text(u) for u in uniques]
    if wanted is None:
        wanted = sorted({t for t in texts if t}, key=natural_order)
    position = pd.Index(list(wanted), dtype=object).get_indexer(pd.Index(texts, dtype=object))
    position = np.append(position, -1)          # the sentinel -1 reads the appended -1
    return position[codes], list(wanted)


def question_number(spec, name: str) -> str:
    return spec.annex.numbers.get(name, name[1:] if name.startswith("q") else name)


def annex_questions(spec, data: pd.DataFrame):
    """(variables, their values, blocks) in the annex's order: the spec's items in column order, each easy-read
    item three ways, an item a measure excludes codes from also without them, a multi-choice question as one
    block of its parts (and without its "none" part)."""
    words = spec.annex
    variables: dict[str, Variable] = {}
    values: dict[str, np.ndarray] = {}
    blocks: list[QuestionBlock] = []
    part_of = {p: mc for mc in spec.multi_choice.values() for p in mc.parts}
    excluded = {m.item: tuple(m.exclude) for m in spec.measures.values()
                if m.kind == "proportion" and m.exclude and m.item in spec.items}

    def add(var: Variable, x: np.ndarray):
        variables[var.key] = var
        values[var.key] = x

    def labels_of(item, codes, override):
        return {**codes, **override.get(item.name, {})}

    for name, item in spec.items.items():
        if name in part_of:
            mc = part_of[name]
            if name != mc.parts[0] or any(p not in data.columns for p in mc.parts):
                continue
            n, text = question_number(spec, mc.name), words.text.get(mc.name, mc.text)
            for p in mc.parts:
                part = spec.items[p]
                add(Variable(p, mc.name, tuple(sorted(part.codes)), p, part.population,
                             asked_of_some=bool(part.asked_of)), numeric(data, p))
            labels = tuple(words.text.get(p, spec.items[p].text) for p in mc.parts)
            blocks.append(QuestionBlock(mc.name, f"Question {n} - {text}", tuple((p, 1) for p in mc.parts),
                                        labels, mc.parts[0], multi=True))
            if mc.none_part is not None:
                others = [p for p in mc.parts if p != mc.none_part]
                answered_none_only = (np.column_stack([values[p] for p in others]) == 2).all(axis=1)
                keys = []
                for p in others:
                    key = f"{mc.name}Excl{p[len(mc.name):]}" if p.startswith(mc.name) else f"{p}Excl"
                    add(Variable(key, mc.name, variables[p].codes, key, variables[p].population,
                                 asked_of_some=variables[p].asked_of_some),
                        np.where(answered_none_only, np.nan, values[p]))
                    keys.append(key)
                none_label = words.text.get(mc.none_part, spec.items[mc.none_part].text)
                title = f'Question {n} excluding those who answered "{none_label}" - {text}'
                blocks.append(QuestionBlock(f"{mc.name}Excl", title, tuple((k, 1) for k in keys),
                                            tuple(words.text.get(p, spec.items[p].text) for p in others), keys[0],
                                            excluding=True, multi=True))
            continue
        if name not in data.columns:
            continue
        n, text = question_number(spec, name), words.text.get(name, item.text)
        some = bool(item.asked_of)
        er = item.easy_read
        if er is not None:
            if er.combined_name not in data.columns or spec.questionnaire_column not in data.columns:
                continue
            x, version = numeric(data, name), numeric(data, spec.questionnaire_column)
            is_er = np.isin(version, er.questionnaire_values)
            standard = ~np.isnan(version) & ~is_er & np.isin(x, list(item.codes))
            easy = is_er & np.isin(x, list(er.codes))
            comb = er.combined_name
            versions = [(f"{name}Std", "Std", item.codes, np.where(standard, x, np.nan),
                         labels_of(item, item.codes, words.codes), f"Question {n} - {text}"),
                        (f"{name}ER", "ER", er.codes, np.where(easy, x, np.nan),
                         labels_of(item, er.codes, words.easy_read_codes),
                         f"Question {n} easy-read - {er.text or text}"),
                        (comb, "Comb", er.combined_labels, numeric(data, comb), er.combined_labels,
                         f"Question {n} combined - {text}")]
            for key, kind, codes, x_version, labels, title in versions:
                add(Variable(key, name, tuple(sorted(codes)), comb, item.population, kind, some), x_version)
                blocks.append(QuestionBlock(key, title, tuple((key, c) for c in codes), tuple(labels.values()), key))
            continue
        labels = labels_of(item, item.codes, words.codes)
        add(Variable(name, name, tuple(sorted(item.codes)), name, item.population, asked_of_some=some),
            numeric(data, name))
        blocks.append(QuestionBlock(name, f"Question {n} - {text}", tuple((name, c) for c in item.codes),
                                    tuple(labels.values()), name))
        if name in excluded:
            key, left = f"{name}Excl", [c for c in item.codes if c not in excluded[name]]
            x = values[name]
            add(Variable(key, name, tuple(sorted(left)), key, item.population, asked_of_some=some),
                np.where(np.isin(x, excluded[name]), np.nan, x))
            shown = " or ".join(f'"{labels[c]}"' for c in excluded[name])
            blocks.append(QuestionBlock(key, f"Question {n} excluding those who answered {shown} - {text}",
                                        tuple((key, c) for c in left), tuple(labels[c] for c in left), key,
                                        excluding=True))
    return variables, values, blocks


# --------------------------------------------------------------------------------- sufficient statistics

class Counts:
    """Every annex variable's answers, coded once: per-stratum counts, per-item weights, the answer matrix.

    Answer j (of variable v(j)) of respondent i in stratum h weighs W[h, v] = N_h / m_h(base of v), N_h the
    population v is weighted by; f[h, v] = 1 - m_h(base) / N_h is its finite population correction.
    """

    def __init__(self, design, variables: dict[str, Variable], values: dict[str, np.ndarray]):
        data = design.data
        council, councils = codes_of(data["council"], None)
        number = data["stratum_number"].to_numpy(dtype=np.int64)
        self.h, strata = pd.factorize(council * (number.max(initial=0) + 1) + number, sort=True)
        self.H = len(strata)
        self.stratum_council = np.asarray(councils, dtype=object)[strata // (number.max(initial=0) + 1)]
        self.populations = {None: self._per_stratum(data["N_h"])}
        for var in variables.values():
            if var.population is not None and var.population not in self.populations:
                column = f"N_h_{var.population}"   # as ReturnDesign.for_population: the stratum's if absent
                self.populations[var.population] = (self._per_stratum(data[column]) if column in data.columns
                                                    else self.populations[None])
        self.keys = list(variables)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.variables = variables
        V = len(self.keys)
        offsets = np.cumsum([0] + [len(variables[k].codes) for k in self.keys])
        self.J = int(offsets[-1])
        self.offset = {k: int(offsets[i]) for i, k in enumerate(self.keys)}
        self.var_of = np.repeat(np.arange(V), np.diff(offsets))
        K = np.full((len(data), V), -1, dtype=np.int32)   # answer numbers (J of them) fit; half int64's memory
        for v, key in enumerate(self.keys):   # one vector operation per variable, not per row or group
            var = variables[key]
            codes = np.asarray(var.codes, dtype=float)
            x = values[key]
            at = np.clip(np.searchsorted(codes, x), 0, len(codes) - 1)
            covered = self.populations[var.population][self.h] > 0   # a stratum its population leaves out
            K[:, v] = np.where((codes[at] == x) & covered, offsets[v] + at, -1)
        self.K = K
        valid = K >= 0
        flat = np.repeat(self.h, V).reshape(len(data), V)[valid] * self.J + K[valid]
        self.n = np.bincount(flat, minlength=self.H * self.J).reshape(self.H, self.J).astype(float)
        self.to_var = np.zeros((self.J, V))
        self.to_var[np.arange(self.J), self.var_of] = 1.0
        self.m = self.n @ self.to_var                     # m[h, v]: respondents in h answering v
        base = np.array([self.index[variables[k].base] for k in self.keys], dtype=np.int64)
        self.m_base = self.m[:, base]
        P = np.column_stack([self.populations[variables[k].population] for k in self.keys]) if V else \
            np.zeros((self.H, 0))
        with np.errstate(divide="ignore", invalid="ignore"):
            self.W = np.where(self.m_base > 0, P / self.m_base, 0.0)
            self.f = np.where(P > 0, 1 - self.m_base / P, 0.0)

    def _per_stratum(self, column: pd.Series) -> np.ndarray:
        out = np.zeros(self.H)
        out[self.h] = pd.to_numeric(column).to_numpy(dtype=float)
        return out

    def weighted_answer_blocks(self):
        """The respondent x answer matrix of each answer's weight W[h, v] (0 where not given), a block of
        respondents at a time, into one buffer used again: (first row, last row + 1, block). Whole, a national
        return's (33,000 x 185, 50 MB) cost more to lay out in fresh memory than the products made with it."""
        N, rows = len(self.K), BLOCK_ROWS
        buffer = np.zeros((min(rows, N), self.J))
        for start in range(0, N, rows):
            stop = min(start + rows, N)
            block = buffer[:stop - start]
            block[...] = 0.0
            K = self.K[start:stop]
            r, v = np.nonzero(K >= 0)
            block[r, K[r, v]] = self.W[self.h[start + r], v]
            yield start, stop, block

    def answered(self, answers: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Respondent x answer membership (0/1) of the given answers (global indices), straight from the codes;
        written into ``out`` (respondents x answers, float) when given."""
        if out is None:
            out = np.empty((len(self.K), len(answers)))
        out[...] = self.K[:, self.var_of[answers]] == answers.astype(self.K.dtype)[None, :]
        return out

    # ---- areas: unions of whole strata (T1, T5)
    def areas(self, A: np.ndarray) -> dict[str, np.ndarray]:
        """Estimates for areas (rows of A, 0/1 over strata): est and respondents per answer, their totals per
        variable, and NHS Digital's variance of each percentage (before its 1/pop² and 100²)."""
        Wj, fj, mj, n = self.W[:, self.var_of], self.f[:, self.var_of], self.m[:, self.var_of], self.n
        with np.errstate(divide="ignore", invalid="ignore"):
            ss = np.where(mj > 1, Wj * Wj * fj * n * (mj - n) / (mj - 1), 0.0)
        est, resp, var = A @ (Wj * n), A @ n, A @ ss
        return {"est": est, "resp": resp, "var": var, "pop": est @ self.to_var, "base": resp @ self.to_var}

    # ---- groups of respondents (T2, T3)
    def groups(self, R: np.ndarray, row_population: list[str | None] | None = None) -> dict[str, np.ndarray]:
        """Estimates for groups of respondents (columns of R, 0/1 per respondent): the membership times the
        weighted answers (summed over blocks of respondents), which is the per-stratum cross-tabulation summed
        over strata, and times who answered each variable (the group tables have no margins, so no per-answer
        counts).

        A group (a T3 row) whose variable is weighted by a population of its own, P, is weighted by P for every
        column, as NHS Digital do: W[h, v] N^P_h / N^v_h, so its membership is scaled instead of the answers."""
        base = (R.astype(np.float32, copy=False).T @ (self.K >= 0).astype(np.float32)).astype(float)   # per variable
        row_population = np.array(row_population if row_population is not None else [None] * R.shape[1],
                                  dtype=object)
        answer_population = np.array([self.variables[k].population for k in self.keys], dtype=object)[self.var_of]
        scaled = []        # (rows of that population, answers weighted by another, their memberships scaled)
        for population in set(row_population) - {None}:
            cols = np.flatnonzero(row_population == population)
            for other in set(answer_population):
                with np.errstate(divide="ignore", invalid="ignore"):
                    scale = np.where(self.populations[other] > 0,
                                     self.populations[population] / self.populations[other], 0.0)
                scaled.append((cols, np.flatnonzero(answer_population == other), R[:, cols] * scale[self.h][:, None]))
        est = np.zeros((R.shape[1], self.J))
        products = [np.zeros((len(cols), self.J)) for cols, _, _ in scaled]
        for start, stop, block in self.weighted_answer_blocks():
            est += R[start:stop].T @ block
            for product, (_, _, members) in zip(products, scaled):
                # the few rows times every answer, then the answers wanted: no copy of the block's columns
                product += members[start:stop].T @ block
        for product, (cols, answers, _) in zip(products, scaled):
            est[np.ix_(cols, answers)] = product[:, answers]
        return {"est": est, "pop": est @ self.to_var, "base": base}


def not_applicable(counts: Counts) -> np.ndarray:
    """T3's [z] (row variable x column variable), NHS Digital's rule: a question against itself (any version, part
    or "excluding" copy), two different versions of the questionnaire, or a question not asked of everyone (Q2c)
    against the easy-read version."""
    v = [counts.variables[k] for k in counts.keys]
    question = np.array([x.question for x in v], dtype=object)
    version = np.array([x.version or "" for x in v], dtype=object)
    some = np.array([x.asked_of_some for x in v], dtype=bool)
    has, easy = version != "", version == "ER"
    return ((question[:, None] == question[None, :])
            | (has[:, None] & has[None, :] & (version[:, None] != version[None, :]))
            | ((easy[:, None] | easy[None, :]) & (some[:, None] | some[None, :])))
