"""Every code block in README.md that shows a command or Python runs as written.

Shell blocks (sh, bash, shell) run with bash -e in a temporary folder that links every top-level entry
of the repository (so `weights/...` and `questionnaires/...` are reachable and whatever a block writes
stays out of the checkout), with `surveykit` on PATH running this checkout's code. Python blocks run
the same way, in a temporary folder that stands for the repository as the working directory, with the
checkout on PYTHONPATH. A block of another language fails the test until it is given one of these.

The set-up block (between <!-- setup --> and <!-- /setup -->) installs surveykit and runs this suite,
so it cannot run inside the suite without reinstalling the environment the suite runs in; .ci/run runs
those lines in a fresh virtual environment, and a test here checks it reads exactly this block.
"""

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
SHELL = {"sh", "bash", "shell"}
PYTHON = {"python", "py"}
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```\s*$", re.S | re.M)


def blocks():
    """(line number, language, code, set-up block?) of every fenced block in README.md."""
    text = README.read_text(encoding="utf-8")
    setup = re.search(r"<!-- setup -->(.*?)<!-- /setup -->", text, re.S)
    found = []
    for match in FENCE.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        in_setup = setup is not None and setup.start() < match.start() < setup.end()
        found.append((line, match.group(1).lower(), match.group(2), in_setup))
    return found


def _repository_view(folder: Path) -> Path:
    """`folder` holding a link to each top-level entry of the repository (not its git metadata)."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in REPO.iterdir():
        if entry.name not in (".git",) and not (folder / entry.name).exists():
            (folder / entry.name).symlink_to(entry, target_is_directory=entry.is_dir())
    return folder


def _environment(folder: Path) -> dict:
    """PATH with a `surveykit` that runs this checkout, and PYTHONPATH pointing at it."""
    bin_dir = folder.parent / "bin"
    bin_dir.mkdir(exist_ok=True)
    shim = bin_dir / "surveykit"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m surveykit.cli "$@"\n')
    shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               MPLBACKEND="Agg")
    return env


RUNNABLE = [b for b in blocks() if not b[3]]


def test_readme_has_the_blocks_this_test_runs():
    languages = [language for _, language, _, _ in RUNNABLE]
    assert languages.count("sh") >= 1 and "python" in languages
    others = [(line, language) for line, language, _, _ in RUNNABLE if language not in SHELL | PYTHON]
    assert others == [], "README code blocks must be sh or python (or be set-up), to be run here"


def _outputs_table() -> list[str]:
    """The files the README says `run` writes to --out (the table after "writes to `--out`")."""
    text = README.read_text(encoding="utf-8")
    table = text[text.index("writes to `--out`"):].split("\n\n", 2)[1]
    return re.findall(r"^\| `([\w./]+)` \|", table, re.M)


def _check_written(folder: Path, code: str) -> None:
    """What each command of a block says it writes is there, read off the command itself."""
    for command in code.replace("\\\n", " ").splitlines():
        command = command.split(" #")[0]
        for out in re.findall(r"^surveykit (?:run|demo) .*--out (\S+)", command):
            for name in _outputs_table():
                if name == "annex.xlsx" and "--survey sace" in command:     # the ASCS's annex only
                    assert not (folder / out / name).exists(), f"{command}: an annex for the SACE"
                elif name != "plots/" or "--plots" in command:
                    assert (folder / out / name.rstrip("/")).exists(), f"{command}: no {out}{name}"
            for council in " ".join(re.findall(r"--spine ((?:\d+ ?)+)", command)).split():
                assert (folder / out / "plots" / f"spine-{council}.png").is_file(), council
        for out in re.findall(r"^surveykit synth .*--out (\S+)", command):
            assert list((folder / out).glob("*-return*")), f"{command}: no return in {out}"
        for out in re.findall(r"^surveykit report (\S+)", command):
            assert (folder / out / "report.html").is_file(), command
    for path in re.findall(r"write_tables\([^,]+, \"([^\"]+)\"\)", code):
        assert (folder / path).is_file(), path


@pytest.mark.slow
@pytest.mark.parametrize("line,language,code", [b[:3] for b in RUNNABLE],
                         ids=[f"README.md:{b[0]}-{b[1]}" for b in RUNNABLE])
def test_readme_block_runs_as_written(line, language, code, tmp_path):
    folder = _repository_view(tmp_path / "repo")
    before = sorted(p.name for p in REPO.iterdir())
    script = tmp_path / ("block.sh" if language in SHELL else "block.py")
    script.write_text(code)
    command = ["bash", "-e", "-o", "pipefail", str(script)] if language in SHELL else [sys.executable, str(script)]
    done = subprocess.run(command, cwd=folder, env=_environment(folder), capture_output=True, text=True)
    assert done.returncode == 0, (f"README.md line {line} ({language}) failed:\n{done.stdout[-3000:]}\n"
                                  f"{done.stderr[-3000:]}")
    assert "Traceback" not in done.stderr
    _check_written(folder, code)
    assert sorted(p.name for p in REPO.iterdir()) == before      # nothing written into the checkout


def test_ci_runs_the_setup_block_as_written(tmp_path):
    """.ci/run reads the set-up commands from README.md; the lines it would run are exactly the
    block's commands, and there are the two the README promises."""
    (setup,) = [code for _, _, code, in_setup in blocks() if in_setup]
    commands = [line for line in setup.splitlines() if line.strip()]
    ci = (REPO / ".ci" / "run").read_text()
    extraction = re.search(r"^(sed -n .*README\.md \| grep .*?) >", ci, re.M).group(1)
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    done = subprocess.run(["bash", "-c", extraction], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == commands
    assert len(commands) == 2 and commands[0].startswith("pip install . && surveykit demo")
