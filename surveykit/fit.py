"""Do the return, the eligible populations and the council lookup fit each other? Checked before estimating.

England's and each region's figures are sums over council strata, so a population table or council lookup
that does not fit the return gives figures that look right and are not: the other survey's populations
weight every person wrongly, and a council missing from either table silently drops out of England. The
three inputs are therefore checked against each other, and every mismatch is a problem naming both files.

The rules:

1. Shape. A population table gives each council the survey's strata, numbered as its questionnaire numbers
   them: ASCS 1-4, SACE 1 only. Any other shape (the other survey's table; a stratum's columns missing) is
   refused before the return is read (exit 2, one line naming the population file and the return), because
   every weight would be wrong. ``check_shape``.
2. Every council of the return is in the population table and in the council lookup. A council missing from
   either has its rows left out (Ledger "unknown council", one problem per row) and gets one "population
   file does not fit" or "council lookup does not fit" problem (error) naming both files. ``council_problems``.
3. Every council stratum with respondents has a population no smaller than its respondents. A stratum with
   none gets "no population for stratum" (error, one per row, rows left out); a population smaller than the
   stratum's respondents cannot weight them (each would stand for less than one person): "population smaller
   than sample" (error) and the stratum's rows are left out (Ledger "eligible population smaller than
   respondents"). A sub-population (Q2c, 1J) smaller than its stratum's respondents is the same error, and the
   stratum's whole population weights that item there. A council with rows left out by rules 2-3 no longer
   counts as whole (rule 5). (validate.py applies this rule.)
4. The population table and the lookup list the same councils. A council in one and not the other that the
   return does not hold changes no figure, but one of the tables is probably wrong or another year's:
   "population and lookup differ" (warning), one problem per direction naming both files.
5. Coverage. England is every council the lookup lists, plus any council that both the return and the
   population table hold but the lookup lacks; without a lookup, every council of the population table or
   the return (and, with neither a lookup nor a population file, each workbook of a folder that could not be
   read). A region is the councils the lookup places in it. An area some of whose councils do not contribute
   whole (respondents in the return, no rows left out by rules 2-3) is partial: its name says so in every
   output ("England (partial: 140 of 152 councils)", "North East (partial: 10 of 12 councils)"; a region
   "may be partial" when some of England's councils are in no region of the lookup), and one "area built from
   part of the country" problem (error, so exit status 3) names the councils missing, the return and the table
   that defines the area. ``Coverage``.
6. A return of one council gets council rows only: its "England" would be that council. ``england=True``
   asks for England and region rows from whatever councils the return holds (labelled partial as in rule 5,
   but as a warning, "average of part of the country", since it was asked for); ``england=False`` gives
   council rows only whatever the return. ``Coverage.levels``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from surveykit.errors import SurveyKitError
from surveykit.problems import Problems

ENGLAND_CODE = "E92000001"
SHOWN = 10   # council codes listed in one message
# Ledger reasons that leave a council's rows out because the tables do not fit the return (rules 2-3)
MISFIT_REASONS = ("unknown council", "no eligible population", "eligible population smaller than respondents")


def _codes(values) -> list[str]:
    """The distinct codes among ``values``, as text, blanks left out (each distinct value looked at once: a
    national return's 80,000 council cells hold 152)."""
    distinct = (values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)).unique()
    return sorted({str(v).strip() for v in distinct if str(v).strip() not in ("", "nan", "<NA>", "None")})


def _listed(codes, limit: int = SHOWN) -> str:
    codes = list(codes)
    more = f" and {len(codes) - limit} more" if len(codes) > limit else ""
    return ", ".join(codes[:limit]) + more


def _name(path) -> str:
    return Path(str(path)).name if path else ""


# ------------------------------------------------------------------------------------------- rule 1

def strata_text(numbers) -> str:
    numbers = sorted(int(h) for h in numbers)
    if not numbers:
        return "no strata"
    if numbers == list(range(numbers[0], numbers[-1] + 1)) and len(numbers) > 1:
        return f"strata {numbers[0]}-{numbers[-1]}"
    return ("stratum " if len(numbers) == 1 else "strata ") + ", ".join(map(str, numbers))


def check_shape(spec, population: pd.DataFrame | None, population_file=None, return_file=None) -> None:
    """Rule 1: the population table gives each council exactly the survey's strata; else SurveyKitError."""
    if population is None or not len(population):
        return
    wanted = sorted(h for h, _ in spec.strata)
    have = sorted(int(h) for h in pd.unique(population["stratum"]))
    if have == wanted:
        return
    survey = spec.survey.upper()
    other = {"ASCS": "SACE", "SACE": "ASCS"}.get(survey)
    hint = ""
    if other and ((survey == "ASCS" and have == [1]) or (survey == "SACE" and have == [1, 2, 3, 4])):
        hint = f": is it {other}'s population table?"
    elif set(have) < set(wanted):
        missing = sorted(set(wanted) - set(have))
        hint = f": the columns of {strata_text(missing)} are missing"
    against = f" {_name(return_file)}" if return_file else " the return"
    raise SurveyKitError(
        f"does not fit{against} ({survey} {spec.year}): it gives each council {strata_text(have)}, and "
        f"{survey} has {len(wanted)} {'stratum' if len(wanted) == 1 else 'strata'} per council "
        f"({strata_text(wanted)}){hint}", file=population_file)


# ------------------------------------------------------------------------------------- rules 2 and 4

def council_problems(problems: Problems, council: np.ndarray, counted: np.ndarray, source,
                     pop: pd.DataFrame | None, pop_file, lookup: pd.DataFrame | None, lookup_file) -> None:
    """Rules 2 and 4: one problem per council of the return missing from a table, and the tables' differences.

    ``council``: each row's council code; ``counted``: rows that have one (not blank)."""
    return_name = _name(source)
    in_return = pd.Series(council[counted]).value_counts().sort_index()
    tables = [(t, f, rule) for t, f, rule in ((pop, pop_file, "population file does not fit"),
                                              (lookup, lookup_file, "council lookup does not fit")) if t is not None]
    for table, file, rule in tables:
        listed = set(table["council"].astype("str").str.strip())
        missing = [c for c in in_return.index if c not in listed]
        what = "population table" if rule.startswith("population") else "council lookup"
        problems.add(rule, [str(file)] * len(missing), [None] * len(missing), "", missing,
                     [f"council {c} has {int(in_return[c])} row(s) in {return_name} but is not in this {what}: its "
                      "rows are left out, and England and its region are built without it" for c in missing])
    if pop is None or lookup is None:
        return
    pop_codes = set(pop["council"].astype("str").str.strip())
    lookup_codes = set(lookup["council"].astype("str").str.strip())
    held = set(in_return.index)
    only_pop = sorted(pop_codes - lookup_codes - held)
    only_lookup = sorted(lookup_codes - pop_codes - held)
    if only_pop:
        problems.one("population and lookup differ", str(lookup_file),
                     f"{len(only_pop)} council(s) of the population table {_name(pop_file)} are not in this lookup "
                     f"({_listed(only_pop)}); {return_name} holds none of them, so no figure changes, but one of the "
                     "two tables may be wrong or another year's", value=only_pop[0])
    if only_lookup:
        problems.one("population and lookup differ", str(pop_file),
                     f"{len(only_lookup)} council(s) of the lookup {_name(lookup_file)} have no population in this "
                     f"table ({_listed(only_lookup)}); {return_name} holds none of them, so no figure changes, but "
                     "one of the two tables may be wrong or another year's", value=only_lookup[0])


# ------------------------------------------------------------------------------------- rules 5 and 6

@dataclass
class Area:
    """One area (England or a region): its councils and those that contribute whole."""
    code: str
    name: str
    councils: list[str]
    whole: list[str]           # councils that contribute whole: respondents, no rows left out by rules 2-3
    used: list[str] = field(default_factory=list)   # councils with any respondent used (the area has rows)
    unplaced: int = 0          # England's councils in no region of the lookup (regions only)

    @property
    def partial(self) -> bool:
        return len(self.whole) < len(self.councils) or self.unplaced > 0

    @property
    def missing(self) -> list[str]:
        whole = set(self.whole)
        return [c for c in self.councils if c not in whole]

    @property
    def label(self) -> str:
        if len(self.whole) < len(self.councils):
            return f"{self.name} (partial: {len(self.whole)} of {len(self.councils)} councils)"
        if self.unplaced:
            return f"{self.name} (may be partial: {self.unplaced} of England's councils are in no region)"
        return self.name

    def as_dict(self) -> dict:
        return {"name": self.label, "councils": len(self.councils), "whole": len(self.whole),
                "partial": self.partial, "missing": self.missing[:200]}


@dataclass
class Coverage:
    """Which councils make up England and each region, which of them the return covers whole (rule 5),
    and which area levels a return gets (rule 6)."""
    england: Area
    regions: dict[str, Area] = field(default_factory=dict)
    return_councils: list[str] = field(default_factory=list)   # councils of England the return holds
    return_file: str = ""
    defined_by: str = ""       # the table that says which councils England has

    def levels(self, england: bool | None = None, has_regions: bool = True) -> list[str]:
        """Area levels to publish: council always; region (with a lookup) and England unless rule 6."""
        if england is False or (england is None and len(self.return_councils) <= 1):
            return ["council"]
        return ["council"] + (["region"] if has_regions else []) + ["england"]

    def area(self, code: str) -> Area | None:
        return self.england if code == self.england.code else self.regions.get(code)

    def names(self, levels) -> dict[str, str]:
        """Area code -> its name with the partial label, for the published levels."""
        out = {}
        if "england" in levels:
            out[self.england.code] = self.england.label
        if "region" in levels:
            out.update({code: area.label for code, area in self.regions.items()})
        return out

    def partial_areas(self, levels) -> list[Area]:
        areas = ([self.england] if "england" in levels else []) + \
                (list(self.regions.values()) if "region" in levels else [])
        return [a for a in areas if a.partial and a.used]

    def problems(self, levels, england: bool | None = None, strict: bool = False) -> pd.DataFrame:
        """Rule 5's problems for the published levels: one per partial area."""
        found = Problems(strict)
        rule = "average of part of the country" if england else "area built from part of the country"
        held = set(self.return_councils)
        return_name = _name(self.return_file)
        areas = self.partial_areas(levels)
        for area in [a for a in areas if len(a.whole) < len(a.councils)]:
            absent = [c for c in area.missing if c not in held]
            left_out = [c for c in area.missing if c in held]
            parts = ([f"{len(left_out)} with rows left out of {return_name} ({_listed(left_out)})"] if left_out
                     else []) + ([f"{len(absent)} not in it ({_listed(absent)})"] if absent else [])
            found.one(rule, return_name,
                      f"{area.name} is built from part of the country: of its {len(area.councils)} councils "
                      f"({self.defined_by}), {len(area.missing)} are missing wholly or in part: {'; '.join(parts)}; "
                      f"published as {area.label!r}", value=area.code)
        unsure = [a for a in areas if len(a.whole) == len(a.councils)]
        if unsure:
            found.one(rule, return_name,
                      f"{unsure[0].unplaced} of England's councils are in no region of {self.defined_by}, so "
                      f"{len(unsure)} region(s) may lack some ({_listed([a.name for a in unsure], 4)}); each is "
                      "published as '<region> (may be partial: ...)'", value=unsure[0].code)
        return found.frame()

    def as_dict(self, levels) -> dict:
        return {"levels": list(levels), "defined_by": self.defined_by,
                "return_councils": len(self.return_councils),
                "england": self.england.as_dict() if "england" in levels else None,
                "regions": ({code: a.as_dict() for code, a in self.regions.items()} if "region" in levels else {}),
                "partial": [a.label for a in self.partial_areas(levels)]}


def coverage(survey_return, lookup: pd.DataFrame | None, population: pd.DataFrame | None,
             used_councils) -> Coverage:
    """Rule 5's areas for a validated return, its lookup and populations; ``used_councils``: each used row's
    council (the rows the estimates are made from)."""
    spec = survey_return.spec
    ledger = survey_return.ledger
    code = ledger[spec.council_column].astype("str").str.strip()
    named = code[~ledger["reason"].eq("no council code")]
    in_return = set(_codes(named))
    pop_file = str(population.attrs.get("source", "")) if population is not None else ""
    if population is None or not pop_file:
        pop_file = getattr(survey_return, "population_source", "") or ""
    pop_codes = set(_codes(population["council"])) if population is not None else set()
    files = getattr(survey_return, "files", None)
    if lookup is not None:
        lookup_codes = _codes(lookup["council"])
        england = set(lookup_codes) | (in_return & pop_codes)
        defined_by = f"the council lookup {_name(lookup.attrs.get('source', 'council lookup'))}"
    else:
        england = pop_codes | in_return
        defined_by = (f"the population table {_name(pop_file)} and the return" if pop_codes
                      else "the return")
    placeholders = []
    if lookup is None and survey_return.population_source == "workbook" and files is not None:
        skipped = files[(files["status"] == "skipped")
                        & ~files["reason"].astype("str").str.contains("is also the council of", regex=False)]
        placeholders = [f"(workbook {f})" for f in skipped["file"]]   # a council whose workbook was not read
    misfit = set(_codes(code[ledger["reason"].isin(MISFIT_REASONS)]))
    used = set(_codes(used_councils))
    whole = sorted((used - misfit) & england)
    everyone = sorted(england) + placeholders
    england_area = Area(ENGLAND_CODE, "England", everyone, whole, sorted(used & england))
    regions: dict[str, Area] = {}
    if lookup is not None:
        region_of = dict(zip(lookup["council"].astype("str").str.strip(), lookup["region_code"].astype("str")))
        names = dict(zip(lookup["region_code"].astype("str"), lookup["region_name"].astype("str")))
        unplaced = sum(1 for c in england if _blank(region_of.get(c)))
        members: dict[str, list[str]] = {}
        for c in sorted(england):
            r = region_of.get(c)
            if not _blank(r):
                members.setdefault(r, []).append(c)
        whole_set = set(whole)
        for r, councils in members.items():
            regions[r] = Area(r, names.get(r, r), councils, [c for c in councils if c in whole_set],
                              [c for c in councils if c in used], unplaced)
    return Coverage(england_area, regions, sorted(in_return & england), str(survey_return.source), defined_by)


def _blank(value) -> bool:
    return value is None or str(value).strip() in ("", "nan", "<NA>", "None")
