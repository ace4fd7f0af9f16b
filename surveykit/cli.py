"""surveykit: weighted ASCOF results, with confidence intervals, from ASCS and SACE survey returns.

The `surveykit` command: argument parsing only; the work is in surveykit.pipeline and friends. Every
problem a user can fix is printed as one line naming file, row and column (exit status 2), never as a
traceback; a run that wrote everything but found errors in its input exits 3.
"""

import argparse
import sys
from pathlib import Path

from surveykit import __version__
from surveykit.errors import SurveyKitError

EXIT_STATUS = ("exit status: 0 ran clean; 2 could not run (one line says why); 3 ran and wrote everything, "
               "but error-severity problems were found in the input (see problems.csv)")


def _add_inputs(p, population_required=False):
    p.add_argument("--survey", choices=["ascs", "sace"], required=True, help="which survey the return is")
    p.add_argument("--year", required=True, help="survey year, e.g. 2021-22")
    p.add_argument("--population", required=population_required, default=None,
                   help="eligible populations (NHS Digital's wide layout or council, stratum, population); "
                        "an official workbook carries its own, and a file given here wins")
    p.add_argument("--councils", help="council lookup (code, name, region) for regional figures")


def _add_shared_options(p):
    p.add_argument("--breakdowns", nargs="*", default=None,
                   help="extra breakdowns beyond the published splits (e.g. stratum support_reason)")
    p.add_argument("--ci", default="logit", help="proportions' interval: logit (default), wald, wald-t, xlogit, asin, beta, wilson")
    p.add_argument("--framework", default=None,
                   help="also label measures with their code in this ASCOF framework (e.g. ascof-2023-24)")
    p.add_argument("--strict", action="store_true", help="stop at the first error in the return")
    p.add_argument("--plots", action="store_true", help="also write funnel and caterpillar plots (PNG and SVG)")
    p.add_argument("--spine", nargs="*", default=[], metavar="COUNCIL",
                   help="with --plots: a spine plot of every measure against England for these councils")
    p.add_argument("--quiet", action="store_true", help="no progress bars or summary")


def build_parser():
    parser = argparse.ArgumentParser(prog="surveykit", description=__doc__.splitlines()[0], epilog=EXIT_STATUS)
    parser.add_argument("--version", action="version", version=f"surveykit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="every ASCOF measure for every council, region and England", epilog=EXIT_STATUS)
    run.add_argument("return_path", metavar="RETURN",
                     help=".sav, .zsav, .csv, an official .xlsx data return, or a folder of them")
    _add_inputs(run)
    run.add_argument("--out", required=True, help="folder for the tables, ledger and workbook")
    _add_shared_options(run)

    check = sub.add_parser("check", help="every problem NHS Digital's validation would raise, before submitting",
                           epilog="exit status: 0 no errors (warnings may be listed); 2 could not read; "
                                  "3 errors found")
    check.add_argument("return_path", metavar="RETURN", help="the data return (.xlsx, .csv, .sav) or a folder")
    _add_inputs(check)
    check.add_argument("--csv", default=None, metavar="FILE", help="also write the problems to this CSV")

    demo = sub.add_parser("demo", help="run on the bundled synthetic return")
    demo.add_argument("--survey", choices=["ascs", "sace"], default="ascs")
    demo.add_argument("--out", default="results", help="output folder (default: results)")
    _add_shared_options(demo)

    synth = sub.add_parser("synth", help="write a realistic synthetic national return")
    synth.add_argument("--survey", choices=["ascs", "sace"], default="ascs")
    synth.add_argument("--year", default=None, help="survey year (default: the latest bundled spec)")
    synth.add_argument("--councils", type=int, default=152)
    synth.add_argument("--respondents", type=int, default=None, help="expected respondents (default: national size)")
    synth.add_argument("--seed", type=int, default=2021,
                       help="random seed (default 2021: the populations in weights/ fit what it writes)")
    synth.add_argument("--format", choices=["csv", "sav", "xlsx"], default="csv",
                       help="xlsx writes one official-layout workbook per council")
    synth.add_argument("--messy", action="store_true", help="inject the problems validation must catch")
    synth.add_argument("--out", required=True)

    report = sub.add_parser("report", help="one self-contained HTML page from a run's output folder")
    report.add_argument("out_dir", metavar="DIR")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        if args.command in ("run", "demo"):
            from surveykit.pipeline import run_demo, run_job
            shared = dict(out=args.out, breakdowns=args.breakdowns, ci=args.ci, framework=args.framework,
                          strict=args.strict, plots=args.plots, spine=args.spine, quiet=args.quiet)
            if args.command == "run":
                run = run_job(args.return_path, survey=args.survey, year=args.year, population=args.population,
                              councils=args.councils, **shared)
            else:
                run = run_demo(survey=args.survey, **shared)
            return run["exit_status"]
        if args.command == "check":
            return _check(args)
        if args.command == "synth":
            from surveykit.pipeline import latest_year
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


if __name__ == "__main__":
    sys.exit(main())
