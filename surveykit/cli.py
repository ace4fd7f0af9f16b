"""The `surveykit` command: argument parsing only; the work is in surveykit.pipeline and friends.

Every problem a user can fix is printed as one line naming file, row and column (exit status 2), never
as a traceback; a run that wrote everything but found errors in its input exits 3. Building the parser
imports nothing heavy (no pandas), so `surveykit --help` answers at once; what only the questionnaires
know (each survey's breakdowns) is read when a help page that shows it is printed.
"""

import argparse
import sys
import textwrap
from pathlib import Path

from surveykit import __version__
from surveykit.ci_methods import METHODS
from surveykit.errors import SurveyKitError
from surveykit.resources import bundled_path, bundled_specs

WIDTH = 92


def _para(text: str, indent: str = "") -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH, initial_indent=indent, subsequent_indent=indent)


EXIT_STATUS = _para("exit status: 0 ran clean; 2 could not run (one line says why); 3 ran and wrote everything, "
                    "but error-severity problems were found in the input (see problems.csv)")
SURVEYS = {"ascs": "the Adult Social Care Survey", "sace": "the Survey of Adult Carers in England"}
OUTPUTS = ("ascof.csv, questions.csv, ledger.csv, problems.csv, results.xlsx, annex.xlsx (the ASCS annex "
           "tables) and run.json (and plots/)")

DESCRIPTION = _para(
    "surveykit turns England's adult social care survey returns, the Adult Social Care Survey (ASCS) and "
    "the Survey of Adult Carers in England (SACE), into weighted ASCOF measures with confidence intervals "
    "for every council, region and England. It reads a council's or a national return (SPSS, CSV, the "
    "official Excel data return or a folder of them), checks it row by row, weights it by eligible "
    "population and writes the published tables (CSV and an Excel workbook), a ledger of every input row, "
    "the problems found, plots and a one-page HTML report.")

EXAMPLES = f"""\
examples:
  surveykit demo --out results/ --plots        the whole job on the bundled synthetic return
  surveykit check return.xlsx --survey ascs --year 2024-25
  surveykit run return.sav --survey ascs --year 2024-25 --population populations.csv --out results/
  surveykit report results/                    results/report.html, to send to colleagues

'surveykit COMMAND --help' lists a command's options, their defaults and their valid values.

{EXIT_STATUS}"""


def _years() -> str:
    """The bundled survey years, one line per survey."""
    by_survey: dict[str, list[str]] = {}
    for survey, year in bundled_specs():
        by_survey.setdefault(survey, []).append(year)
    return "\n".join(f"  {survey}  {' '.join(years)}   ({SURVEYS.get(survey, survey)})"
                     for survey, years in by_survey.items())


def _years_inline() -> str:
    by_survey: dict[str, list[str]] = {}
    for survey, year in bundled_specs():
        by_survey.setdefault(survey, []).append(year)
    return "; ".join(f"{survey} {', '.join(years)}" for survey, years in by_survey.items())


def _frameworks() -> dict[str, str]:
    """The ASCOF code sets in questionnaires/ascof-codes.yaml: name -> description."""
    import yaml

    with open(bundled_path("questionnaires", "ascof-codes.yaml"), encoding="utf-8") as fh:
        return dict(yaml.safe_load(fh)["frameworks"])


def _breakdowns() -> str:
    """Each survey's breakdowns (the groupings of its latest bundled questionnaire); read only when
    a help page shows them."""
    from surveykit.resources import latest_year
    from surveykit.questionnaire import load_spec

    surveys = dict.fromkeys(survey for survey, _ in bundled_specs())
    return "; ".join(f"{s}: {' '.join(load_spec(s, latest_year(s)).groupings)}" for s in surveys)


class _Help(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written; option help wrapped as usual, with "{breakdowns}" and "{frameworks}"
    filled in from the questionnaires only when the help is printed (a run forks its read-ahead sooner)."""

    def _expand_help(self, action):
        text = super()._expand_help(action)
        if "{breakdowns}" in text:
            text = text.replace("{breakdowns}", _breakdowns())
        if "{frameworks}" in text:
            text = text.replace("{frameworks}", ", ".join(_frameworks()))
        return text


def _survey(p, default=None, what="which survey the return is"):
    p.add_argument("--survey", choices=list(dict.fromkeys(s for s, _ in bundled_specs())), default=default,
                   required=default is None,
                   help=(f"{what}: ascs (Adult Social Care Survey) or sace (Survey of Adult Carers in England); "
                         + ("required" if default is None else f"default: {default}")))


def _add_inputs(p):
    _survey(p)
    p.add_argument("--year", required=True, metavar="YEAR",
                   help=f"survey year, required; bundled: {_years_inline()}")
    p.add_argument("--population", default=None, metavar="FILE",
                   help="eligible populations: NHS Digital's wide layout, or columns council, stratum, "
                        "population (CSV); default: none, which only an official workbook can do without, "
                        "as it carries its own (a file given here wins)")
    p.add_argument("--councils", default=None, metavar="FILE",
                   help="council lookup (CSV: council, council_name, region_code, region_name), which "
                        "gives councils their names and regions; default: none (no regional figures)")


def _add_shared_options(p):
    p.add_argument("--breakdowns", nargs="*", default=None, metavar="NAME",
                   help="breakdowns beyond the published splits (Total, Male, Female, 18-64, 65 and over); "
                        "default: none; valid: {breakdowns}")
    p.add_argument("--ci", default="logit", metavar="METHOD",
                   help=f"percentages' interval method, named as R survey names them: {', '.join(METHODS)}; "
                        "default: logit (stays inside 0-100); scores use wald for a method only percentages have")
    p.add_argument("--framework", default=None, metavar="FRAMEWORK",
                   help="also label measures with their code in this ASCOF framework, in the tables and in "
                        "plot titles and file names: {frameworks}; default: none (the "
                        "questionnaire's codes only)")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first error in the return; default: off (every problem is listed in "
                        "problems.csv and the run carries on)")
    p.add_argument("--plots", action="store_true",
                   help="also write plots/: a funnel and a caterpillar plot per measure (PNG and SVG); "
                        "default: off")
    p.add_argument("--spine", nargs="*", default=[], metavar="COUNCIL",
                   help="with --plots, a spine plot of every measure against England for each of these "
                        "councils (codes as in the return, e.g. 211); default: none")
    p.add_argument("--average", nargs="+", default=None, metavar=("NAME", "COUNCIL"),
                   help='an average group to report beside councils, named NAME (e.g. "18 CASSR average"), '
                        "over the councils listed or, with none listed, every council in the return, as "
                        "the annex tables' average row; default: every council in the return, named for "
                        "how many (\"18 CASSR Average\")")
    p.add_argument("--england", choices=["auto", "always", "never"], default="auto",
                   help="England and region rows: auto (unless the return is one council's, whose "
                        "England would be that council), always (from whatever councils the return holds, "
                        "named as built from part of the country) or never; default: auto")
    p.add_argument("--quiet", action="store_true",
                   help="no progress or summary, only errors; default: off")


def build_parser():
    parser = argparse.ArgumentParser(prog="surveykit", description=DESCRIPTION, epilog=EXAMPLES,
                                     formatter_class=_Help)
    parser.add_argument("--version", action="version", version=f"surveykit {__version__}",
                        help="print the version and stop")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    run = sub.add_parser(
        "run", help="every ASCOF measure for every council, region and England, from a return",
        description=_para("Read a return, check it row by row, weight it by eligible population and write "
                          "every ASCOF measure for every council, region and England to --out: "
                          f"{OUTPUTS}."),
        epilog=f"bundled survey years (--survey, --year):\n{_years()}\n\n"
               "example (a synthetic national return, then every output):\n"
               "  surveykit synth --survey ascs --year 2023-24 --format sav --out synthetic/\n"
               "  surveykit run synthetic/ascs-2023-24-return.sav --survey ascs --year 2023-24 \\\n"
               "      --population synthetic/ascs-2023-24-population.csv \\\n"
               "      --councils synthetic/ascs-2023-24-councils.csv --out results/ \\\n"
               "      --framework ascof-2023-24 --plots --spine 211 --average \"Comparator average\" 211 316 404\n\n"
               f"{EXIT_STATUS}",
        formatter_class=_Help)
    run.add_argument("return_path", metavar="RETURN",
                     help="the return: .sav, .zsav, .csv, an official .xlsx data return, or a folder of them "
                          "(read as one national return); the format is read from the file's bytes")
    _add_inputs(run)
    run.add_argument("--out", required=True, metavar="DIR",
                     help="folder for the tables, ledger and workbook, required; replaced whole when the "
                          "run has written everything")
    _add_shared_options(run)

    check = sub.add_parser(
        "check", help="every problem NHS Digital's validation would raise, before submitting",
        description=_para("Read and check a return as NHS Digital's validation does, and list every problem "
                          "with the cell (or line) to fix. Nothing is estimated or written unless --csv is "
                          "given."),
        epilog="example:\n  surveykit check return.xlsx --survey ascs --year 2024-25 --csv problems.csv\n\n"
               "exit status: 0 no errors (warnings may be listed); 2 could not read; 3 errors found",
        formatter_class=_Help)
    check.add_argument("return_path", metavar="RETURN",
                       help="the data return: .xlsx, .csv, .sav, or a folder of them")
    _add_inputs(check)
    check.add_argument("--csv", default=None, metavar="FILE",
                       help="also write the problems to this CSV file; default: none (printed only)")

    demo = sub.add_parser(
        "demo", help="run on the bundled synthetic return",
        description=_para("The whole job of 'surveykit run' on a small synthetic return bundled with "
                          f"surveykit (10 councils), writing {OUTPUTS} to --out."),
        epilog=f"example:\n  surveykit demo --out results/ --plots --spine 209\n\n{EXIT_STATUS}",
        formatter_class=_Help)
    _survey(demo, default="ascs", what="which survey's demo return to run")
    demo.add_argument("--out", default="results", metavar="DIR", help="output folder; default: results")
    _add_shared_options(demo)

    synth = sub.add_parser(
        "synth", help="write a realistic synthetic national return",
        description=_para("Write a seeded synthetic return, as councils send them, with its eligible "
                          "populations and council lookup beside it: <survey>-<year>-return.<format>, "
                          "-population.csv and -councils.csv in --out."),
        epilog="example:\n  surveykit synth --survey ascs --year 2020-21 --format sav --out synthetic/",
        formatter_class=_Help)
    _survey(synth, default="ascs", what="which survey to make a return of")
    synth.add_argument("--year", default=None, metavar="YEAR",
                       help=f"survey year; default: the latest bundled for the survey; bundled: {_years_inline()}")
    synth.add_argument("--councils", type=int, default=152, metavar="N",
                       help="how many councils, up to 152, spread over every region; default: 152 (national)")
    synth.add_argument("--respondents", type=int, default=None, metavar="N",
                       help="expected respondents over those councils; default: the national design's share")
    synth.add_argument("--seed", type=int, default=2021, metavar="N",
                       help="random seed, any whole number; default: 2021 (the populations in weights/ fit "
                            "what it writes)")
    synth.add_argument("--format", choices=["csv", "sav", "xlsx"], default="csv",
                       help="csv, sav (SPSS) or xlsx (one official-layout workbook per council); default: csv")
    synth.add_argument("--messy", action="store_true",
                       help="inject the problems validation must catch; default: off (a clean return)")
    synth.add_argument("--out", required=True, metavar="DIR", help="folder to write to, required")

    report = sub.add_parser(
        "report", help="one self-contained HTML page from a run's output folder",
        description=_para("Write DIR/report.html from what a run left in DIR: headline figures, regions, "
                          "councils, plots, data quality, method and provenance, in one file that needs "
                          "nothing else to open."),
        epilog="example:\n  surveykit report results/",
        formatter_class=_Help)
    report.add_argument("out_dir", metavar="DIR", help="the output folder of 'surveykit run' or 'surveykit demo'")
    return parser


def _average(values):
    """--average NAME [COUNCIL ...] as (name, councils); no councils means every council in the return."""
    if values is None:
        return None
    name, councils = values[0].strip(), [str(c) for c in values[1:]]
    if not name:
        raise SurveyKitError("--average needs a name for the group, e.g. --average \"18 CASSR average\"")
    repeated = sorted({c for c in councils if councils.count(c) > 1})
    if repeated:
        raise SurveyKitError(f"--average {values[0]}: council {repeated[0]} is listed twice")
    return name, councils


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("run", "demo"):
            if args.command == "run":   # a .sav parses while the toolkit is imported (prefetch.py)
                from surveykit.prefetch import start_reading
                start_reading(args.return_path, args.survey, args.year)
            from surveykit.pipeline import run_demo, run_job
            shared = dict(out=args.out, breakdowns=args.breakdowns, ci=args.ci, framework=args.framework,
                          strict=args.strict, plots=args.plots, spine=args.spine, average=_average(args.average),
                          england={"auto": None, "always": True, "never": False}[args.england], quiet=args.quiet)
            if args.command == "run":
                run = run_job(args.return_path, survey=args.survey, year=args.year, population=args.population,
                              councils=args.councils, **shared)
            else:
                run = run_demo(survey=args.survey, **shared)
            return run["exit_status"]
        if args.command == "check":
            return _check(args)
        if args.command == "synth":
            from surveykit.resources import latest_year
            from surveykit.synth import make_return, write_return
            year = args.year or latest_year(args.survey)
            synthetic = make_return(args.survey, year, councils=args.councils,
                                    respondents=args.respondents, seed=args.seed, messy=args.messy)
            written = write_return(synthetic, args.out, fmt=args.format)
            print(f"wrote {len(synthetic.data)} rows ({args.councils} councils) to {Path(args.out)}")
            for path in written.values():
                print(f"  {path}")
        elif args.command == "report":
            from surveykit.report import write_report
            print(write_report(args.out_dir))
    except SurveyKitError as exc:
        print(f"surveykit: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("surveykit: interrupted; nothing half-written was left behind", file=sys.stderr)
        return 130
    except BrokenPipeError:   # output piped into a command that stopped reading (| head): not an error
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 0


def _check(args) -> int:
    from surveykit.check import check_return, format_problems
    from surveykit.publish.csv import write_csv

    ret, problems = check_return(args.return_path, args.survey, args.year, population=args.population,
                                 councils=args.councils)
    print(format_problems(problems))
    errors = int((problems["severity"] == "error").sum())
    summary = ret.summary()
    print(f"\n{summary['rows read']} people checked ({ret.empty_form_rows} empty form rows skipped): "
          f"{errors} errors, {len(problems) - errors} warnings")
    if args.csv:
        write_csv(problems, args.csv)
        print(f"problems written to {args.csv}")
    return 3 if errors else 0


def blas_threads_for_a_run() -> None:
    """A run works in several processes at once (the read-ahead, the annex, the plots' workers), one core each:
    BLAS threads inside them would wait, spinning, for cores the others hold (0.6 CPU seconds of a national run
    on two cores). So BLAS gets one thread per core beyond the first, unless the user set it. Only before numpy
    is imported does this take effect."""
    import os

    spare = str(max(1, (os.cpu_count() or 1) - 1))
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ.setdefault(name, spare)


def command() -> None:
    """The ``surveykit`` command: ``main``, then the exit handlers (read-aheads stopped, worker processes gone),
    then out, without tearing the interpreter down object by object (0.15 s after a national run). Every output
    is written, closed and in place before ``main`` returns."""
    import atexit
    import os

    from surveykit.until_exit import keep_until_exit

    blas_threads_for_a_run()
    keep_until_exit()
    status = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass
    atexit._run_exitfuncs()
    os._exit(status or 0)


if __name__ == "__main__":
    command()
