"""The notebooks run top to bottom on the bundled synthetic data, and are committed without outputs.

Each notebook carries its own checks of the numbers it shows (by-hand estimates, R `survey` to
1e-9, 278 responses for N = 1000), so executing it here also checks those values. The kernel is a
private kernel spec written by ipykernel for the interpreter running pytest, so the notebooks use
this environment's surveykit whatever kernels the machine has installed.
"""

import sys
from pathlib import Path

import nbformat
import pytest
from ipykernel.kernelspec import write_kernel_spec
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = ["01-quickstart.ipynb", "02-statisticians-tour.ipynb", "03-council-report.ipynb"]
CELL_TIMEOUT = 120  # seconds per cell; each notebook takes a few seconds in all


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory):
    """A kernel spec named python3 (as the notebooks ask) that runs this very interpreter."""
    folder = tmp_path_factory.mktemp("kernels")
    write_kernel_spec(folder / "python3")
    specs = KernelSpecManager(kernel_dirs=[str(folder)])
    assert specs.get_kernel_spec("python3").argv[0] == sys.executable
    return specs


def test_every_notebook_is_here():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code, "a notebook with no code"
    for cell in code:
        assert cell.outputs == [], f"cell {cell.id} has stored outputs; clear them before committing"
        assert cell.execution_count is None, f"cell {cell.id} has an execution count"
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_runs_top_to_bottom(name, kernel_specs):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    kernel = KernelManager(kernel_name="python3", kernel_spec_manager=kernel_specs)
    client = NotebookClient(nb, km=kernel, timeout=CELL_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    # every cell that draws a figure shows it inline
    for cell in code:
        if "_plot(" in cell.source:
            assert any("image/png" in o.get("data", {}) for o in cell.outputs), \
                f"cell {cell.id} draws a figure but shows none"
