"""The main job: one return (file or folder) to every published table, the Ledger and the workbook.

read → validate → weight → score → estimate → tabulate → write, in that order, each step in its own
module. This file only sequences them, times them and says what happened. Everything is written into a
fresh folder that replaces ``--out`` whole at the end (publish/atomic.py).
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from surveykit import __version__
from surveykit.errors import SurveyKitError, command_guard
from surveykit.fit import check_shape
from surveykit.publish.atomic import OutputFolder, atomic_write, check_out, recover
from surveykit.publish.csv import write_csv
from surveykit.problems import INVISIBLE, visible
from surveykit.questionnaire import load_spec
from surveykit.questions import question_tables
from surveykit.read import file_checksum, read_councils, read_population, read_raw
from surveykit.contained import Alongside
from surveykit.until_exit import hold
from surveykit.plot_server import PlotServer
from surveykit.resources import bundled_path
from surveykit.results import area_levels, ascof
from surveykit.publish.rules import publish_ascof, publish_questions
from surveykit.validate import validate
from surveykit.weights import DEFAULT_LONELY, weight
from surveykit.publish.annex import annex_notes, annex_tables
from surveykit.publish.answer_tables import answers_sheets
from surveykit.publish.ascof_tables import ascof_sheets, data_quality_sheets
from surveykit.publish.workbook import write_workbook

DEMO = {"ascs": ("demo-ascs-return.csv", "demo-ascs-population.csv", "demo-councils.csv"),
        "sace": ("demo-sace-return.csv", "demo-sace-population.csv", "demo-councils.csv")}
EXIT_CLEAN, EXIT_ERROR, EXIT_PROBLEMS = 0, 2, 3


def read_return(path, survey: str, year: str, population=None, councils=None, strict: bool = False,
                progress=None):
    """Read and validate a return: a `SurveyReturn` (data, spec, ledger, problems, populations).

    `population` and `councils` are tables (from `read_population`/`read_councils`) or paths; an official
    workbook carries its own populations, so `population` may be left out for one. A population table that
    does not fit the survey is refused before the return is read (surveykit/fit.py)."""
    spec = load_spec(survey, year)
    if isinstance(population, (str, Path)):
        population = read_population(population)
    if isinstance(councils, (str, Path)):
        councils = read_councils(councils)
    if population is not None:
        check_shape(spec, population, population.attrs.get("source"), path)
    raw = read_raw(path, spec, progress=progress)
    return validate(raw, spec, population=population, councils=councils, strict=strict)


class _Steps:
    """Prints each step and its time on stderr (unless quiet), and keeps the timings."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.start = time.perf_counter()
        self.times = {}

    def __call__(self, name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        if not self.quiet:
            print(f"  {name} ...", end="", file=sys.stderr, flush=True)
        try:
            result = fn(*args, **kwargs)
        except BaseException:
            if not self.quiet:
                print(" stopped", file=sys.stderr, flush=True)
            raise
        self.times[name] = round(time.perf_counter() - t0, 3)
        if not self.quiet:
            print(f" {self.times[name]:.2f} s", file=sys.stderr, flush=True)
        return result

    @property
    def total(self):
        return time.perf_counter() - self.start


def run_job(return_path, *, survey, year, population=None, councils=None, out, breakdowns=None,
            ci="logit", framework=None, strict=False, plots=False, spine=(), average=None, england=None,
            quiet=False) -> dict:
    """Run everything and write DIR/ascof.csv, questions.csv, ledger.csv, problems.csv, results.xlsx,
    annex.xlsx (ASCS) and run.json (and plots/). Returns the run summary (also in run.json); its ``exit_status``
    is 3 when error-severity problems were found, else 0.

    Every option is checked before any work (the output folder, --ci, --breakdowns, --framework, --spine),
    and the return, populations and council lookup against each other before estimating (surveykit/fit.py).
    ``average`` is the annex tables' average row: ``(name, councils)``, over those councils or, with none
    given, every council in the return (default: every council, "18 CASSR Average"). ``england``: England and
    region rows for a one-council return too (None: only for returns of several councils; False: council rows
    only)."""
    options = {"survey": survey, "year": year, "population": str(population or ""),
               "councils": str(councils or ""), "out": str(out),
               "breakdowns": " ".join(breakdowns or []), "ci": ci, "framework": framework or "",
               "strict": strict, "plots": plots, "spine": " ".join(map(str, spine or [])), "quiet": quiet,
               "average": average[0] if average else "",
               "average_councils": (" ".join(map(str, average[1])) or "every council in the return")
               if average else "",
               "england": {None: "auto", True: "always", False: "never"}[None if england is None else bool(england)]}
    with command_guard(return_path):
        return _run_job(return_path, options, survey=survey, year=year, population=population, councils=councils,
                        out=out, breakdowns=breakdowns, ci=ci, framework=framework, strict=strict, plots=plots,
                        spine=spine, quiet=quiet, average=average, england=england)


def _run_job(return_path, options, *, survey, year, population, councils, out, breakdowns, ci, framework,
             strict, plots, spine, quiet, average, england) -> dict:
    out = check_out(out)
    recover(out)   # a run killed mid-swap left the previous results aside: put them back first
    step = _Steps(quiet)
    spec = step("questionnaire", load_spec, survey, year)
    _check_options(spec, ci, breakdowns, framework)
    pop = step("populations", read_population, population) if population else None
    check_shape(spec, pop, population, return_path)
    lookup = step("council lookup", read_councils, councils) if councils else None
    _check_spine(spine, plots, lookup, known_from=pop)
    raw = step("read return", read_raw, return_path, spec, progress=None if not quiet else False)
    # the figures' own process imports matplotlib while the return is validated, and draws once the ASCOF
    # measures exist (plot_server.py)
    plotting = PlotServer(spec, spine, progress=not quiet) if plots else None
    with _cancelled_on_error(plotting):
        ret = step("validate", validate, raw, spec, population=pop, councils=lookup, strict=strict)
        if ret.population is None:
            raise SurveyKitError("no eligible populations: give a population file (--population); only the "
                                 "official workbook carries its own", file=return_path)
    has_annex = spec.survey == "ascs"
    options = {**options, "population_used": ret.population_source, "lonely": DEFAULT_LONELY,
               "variance": "stratified (council x stratum), per-item weights; splits: NHS Digital breakdown"}
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    notes = {"input_file": str(return_path), "checksum": raw.checksum, "options": options, "created": created}

    with _cancelled_on_error(plotting), OutputFolder(out) as folder:
        annex = None
        try:
            # the annex (tables and workbook) is the largest single piece: made in a child beside the rest,
            # which weights the return itself (the same weights, on the core that would wait for the parent's).
            # With --plots no core waits: the child starts once the parent has weighted, and uses its weights
            def start_annex(design=None):
                return Alongside(_write_annex, ret, lookup, _annex_average(average), england, folder / "annex.xlsx",
                                 notes, f"{spec.title}: annex tables", design, what="the annex tables")

            annex = start_annex() if has_annex and plotting is None else None
            design = step("weight and score", weight, ret, None, lookup, lonely=DEFAULT_LONELY)
            if has_annex and plotting is not None:
                annex = start_annex(design)
            levels = [name for name, _ in area_levels(design, england)]
            _check_spine(spine, plots, lookup, ret)
            coverage_problems = design.coverage.problems(levels, england, strict=strict)
            if len(coverage_problems):
                ret.problems = pd.concat([ret.problems, coverage_problems], ignore_index=True)
            omitted = dict(ret.omitted)
            if "england" not in levels:
                omitted["England and region rows"] = ("a return of one council: its England would be that "
                                                      "council (--england always adds them)" if england is None
                                                      else "not asked for")
                if plots:
                    omitted["plots"] = ("funnel and caterpillar plots compare councils with England, which this "
                                        "run has not")
                    plots = False
                    plotting.cancel()
                    plotting = None
            if not has_annex:
                omitted["annex.xlsx"] = ("surveykit builds the ASCS's annex tables (T1a-T6) only; the SACE's "
                                         "answers by area are results.xlsx's 'Answers by area' and 'Margins of "
                                         "error' sheets")
            run = _run_summary(return_path, raw, ret, design, options, population, councils, survey, year,
                               omitted, levels, created)
            results = step("ASCOF measures", ascof, design, breakdowns=breakdowns, ci=ci, framework=framework,
                           england=england)
            if plotting is not None:   # the figures need only the ASCOF results: drawn beside the rest
                plotting.draw(results, folder / "plots")
            questions = step("question tables", question_tables, design, england=england)
            published, published_q = publish_ascof(results), publish_questions(questions)

            def write_all():
                write_csv(published, folder / "ascof.csv")
                write_csv(published_q, folder / "questions.csv")
                write_csv(ret.ledger, folder / "ledger.csv")
                write_csv(ret.problems, folder / "problems.csv")
                write_workbook(_sheets(published, None if has_annex else published_q, ret, lookup,
                                       run["coverage"]["partial"]), folder / "results.xlsx", notes=notes,
                               title=f"{spec.title}: ASCOF measures" + ("" if has_annex else " and answers"))

            step("write tables", write_all)
            if annex is not None:
                own = step("annex tables and annex.xlsx (waited for)", annex.result)
                step.times["annex tables and annex.xlsx (alongside)"] = own
            if plotting is not None:
                step("plots (waited for)", plotting.wait)
        except BaseException:
            if annex is not None:
                annex.cancel()
            if plotting is not None:
                plotting.cancel()
            raise
        run["seconds"] = round(step.total, 2)
        run["step_seconds"] = step.times
        atomic_write(folder / "run.json", lambda tmp: Path(tmp).write_text(json.dumps(run, indent=2)))
    if not quiet:
        _print_summary(run, out)
    hold(raw, ret, design, results, questions, published, published_q, annex)
    return run


@contextmanager
def _cancelled_on_error(job):
    """``job`` (the figures' server) stopped if the block fails, so that no process is left waiting."""
    try:
        yield
    except BaseException:
        if job is not None:
            job.cancel()
        raise


def _run_summary(return_path, raw, ret, design, options, population, councils, survey, year, omitted, levels,
                 created) -> dict:
    """What run.json says: the inputs and their checksums, the options, counts, coverage and exit status."""
    summary = ret.summary()
    excluded = {k.removeprefix("excluded: "): int(v) for k, v in summary.items() if k.startswith("excluded")}
    inputs = {"return": {"path": str(return_path), "sha256": raw.checksum}}
    for name, path in (("population", population), ("councils", councils)):
        if path:
            inputs[name] = {"path": str(path), "sha256": file_checksum(path)}
    files = ret.files
    skipped = [] if files is None else files.loc[files["status"] == "skipped", ["file", "reason"]].to_dict("records")
    errors = ret.errors
    return {"survey": survey, "year": year, "input": str(return_path), "checksum": raw.checksum,
            "version": __version__, "options": options, "inputs": inputs,
            "rows_read": int(summary["rows read"]), "rows_used": int(summary["used"]), "excluded": excluded,
            "empty_form_rows": ret.empty_form_rows, "skipped_files": skipped,
            "omitted": omitted, "councils": int(design.data["council"].nunique()),
            "coverage": design.coverage.as_dict(levels),
            "problems": int(len(ret.problems)), "errors": errors,
            "exit_status": EXIT_PROBLEMS if errors else EXIT_CLEAN, "created": created}


def _write_annex(ret, lookup, average, england, path, notes, title, design=None) -> float:
    """NHS Digital's annex tables T1a-T6 written to ``path``, with the workbook's own Contents and Notes (the
    annex's numbered notes); the seconds it took, its weighting included unless given the run's ``design``."""
    start = time.perf_counter()
    design = weight(ret, None, lookup, lonely=DEFAULT_LONELY) if design is None else design
    tables = annex_tables(design, ret, lookup, average, england)
    write_workbook(_shown(tables), path, notes=notes, title=title, numbered_notes=annex_notes())
    hold(design, tables)
    return round(time.perf_counter() - start, 3)


def _annex_average(average):
    """--average (name, councils) as the annex's average: a name over every council, or {name: councils}."""
    if not average:
        return None
    name, chosen = average
    return {name: list(chosen)} if chosen else name


def _check_options(spec, ci, breakdowns, framework) -> None:
    """--ci, --breakdowns and --framework, checked against the questionnaire before any file is read."""
    from surveykit.ci_methods import METHODS

    if ci not in METHODS:
        raise SurveyKitError(f"--ci {ci}: not an interval method; choose one of {', '.join(METHODS)}")
    unknown = [b for b in breakdowns or [] if b not in spec.groupings]
    if unknown:
        raise SurveyKitError(f"--breakdowns {unknown[0]}: not a breakdown of {spec.survey.upper()} {spec.year}; "
                             f"choose from {', '.join(spec.groupings)}")
    if framework is not None and framework not in spec.code_sets:
        raise SurveyKitError(f"--framework {framework}: not a framework surveykit knows; choose one of "
                             f"{', '.join(spec.code_sets)}")


def _check_spine(spine, plots, lookup, ret=None, known_from=None) -> None:
    """--spine councils must be councils of the return (or the lookup, or the population table), checked before
    the work: against the tables before the return is read, and against the return before estimating."""
    if not spine:
        return
    if not plots:
        raise SurveyKitError("--spine draws plots: add --plots")
    known = None
    if ret is not None:
        known = set(ret.data[ret.spec.council_column].astype("str"))
    elif lookup is not None:
        known = set(lookup["council"].astype("str"))
    elif known_from is not None:
        known = set(known_from["council"].astype("str"))
    if known is not None:
        unknown = [str(c) for c in spine if str(c) not in known]
        if unknown:
            where = "the return" if ret is not None else ("the council lookup" if lookup is not None
                                                          else "the population table")
            shown = ", ".join(sorted(known)[:8]) + (" ..." if len(known) > 8 else "")
            raise SurveyKitError(f"--spine {' '.join(unknown)}: not a council of {where} "
                                 f"(councils: {shown or 'none'})")


def _sheets(published: pd.DataFrame, published_q, ret, councils=None, partial=()) -> list:
    """results.xlsx: one sheet per ASCOF measure, the answers by area and their margins of error where there is
    no annex to hold them (the SACE; the ASCS's are annex.xlsx's T1a and T5), then data quality."""
    answers = [] if published_q is None else answers_sheets(published_q, ret.spec, councils)
    figures = _shown([*ascof_sheets(published, ret.spec, councils), *answers], partial)
    return [*figures, *_shown(data_quality_sheets(ret))]


def _shown(sheets: list, partial=()) -> list:
    """Sheets as a spreadsheet can hold them: text from the user's files with a control character in it (a
    council name in the lookup) shown escaped; and, given areas built from part of the country, a line under
    each title naming them."""
    note = [visible(f"Built from part of the country (see Problems): {'; '.join(partial)}.")] if partial else []
    out = []
    for sheet in sheets:
        frame = sheet.frame
        text = [c for c in frame.columns if sheet.formats.get(c, "text") == "text"      # text columns only
                and frame[c].map(lambda v: isinstance(v, str) and bool(INVISIBLE.search(v))).any()]
        if text:
            frame = frame.assign(**{c: frame[c].map(lambda v: visible(v) if isinstance(v, str) else v)
                                    for c in text})
        lines = [visible(line) for line in sheet.lines]
        out.append(replace(sheet, frame=frame, lines=lines[:1] + note + lines[1:], title=visible(sheet.title)))
    return out


def _print_summary(run: dict, out: Path) -> None:
    """What was read and used, where each output is, and what the exit status means."""
    out = Path(out)
    annex = "annex.xlsx" not in (run.get("omitted") or {})
    lines = [f"surveykit {run['version']}: {run['survey'].upper()} {run['year']} from {run['input']}",
             f"  rows read {run['rows_read']}, used {run['rows_used']}"]
    if run.get("empty_form_rows"):
        lines.append(f"  empty rows of the official form skipped (not people): {run['empty_form_rows']}")
    lines += [f"  excluded ({reason}): {n}" for reason, n in run["excluded"].items()]
    for skipped in run.get("skipped_files") or []:
        lines.append(f"  workbook left out: {skipped['file']}: {skipped['reason']}")
    for output, why in (run.get("omitted") or {}).items():
        lines.append(f"  omitted {output}: {why}")
    for label in (run.get("coverage") or {}).get("partial") or []:
        lines.append(f"  built from part of the country: {label}")
    lines.append(f"  councils: {run['councils']}; problems reported: {run['problems']} ({run['errors']} errors); "
                 f"time: {run['seconds']:.2f} s")
    outputs = [(str(out / "ascof.csv"), "every measure for England, regions and councils, as published"),
               (str(out / "questions.csv"), "the weighted answers to every question"),
               (str(out / "ledger.csv"), "one row per input row: used, or why not"),
               (str(out / "problems.csv"), "every problem found, with file, row and column"),
               (str(out / "results.xlsx"), "the ASCOF measures" + ("" if annex else ", the answers")
                                           + " and data quality, with method and options")]
    if annex:
        outputs.append((str(out / "annex.xlsx"), "NHS Digital's annex tables T1a-T6: the answers by council, "
                                                 "group and answer, response rates"))
    outputs.append((str(out / "run.json"), "this summary: counts, options, timings"))
    if run["options"].get("plots") and "plots" not in (run.get("omitted") or {}):
        figures = len(list((out / "plots").glob("*.png")))
        outputs.append((f"{out / 'plots'}/", f"{figures} plots, each as PNG and SVG"))
    width = max(len(path) for path, _ in outputs)
    lines.append("written:")
    lines += [f"  {path:<{width}}  {what}" for path, what in outputs]
    lines.append(f"  one page to send to colleagues: surveykit report {out}")
    if run["exit_status"] == EXIT_PROBLEMS:
        lines.append(f"exit status 3: everything was written, but {run['errors']} error(s) were found in the "
                     f"input: see {out / 'problems.csv'}")
    else:
        lines.append("exit status 0: ran clean (2: could not run; 3: ran, but found errors in the input)")
    print("\n".join(lines))


def run_demo(*, survey="ascs", out="results", **options) -> dict:
    """Run the main job on the bundled synthetic return."""
    from surveykit.synth import DEMOS

    ret, pop, councils = DEMO[survey]
    return run_job(bundled_path("bundled", ret), survey=survey, year=DEMOS[survey],
                   population=bundled_path("bundled", pop), councils=bundled_path("bundled", councils),
                   out=out, **options)
