"""Runs every notebook in `notebooks/` at its CI size and checks the git hygiene."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT = 300  # seconds per cell; a CI-size notebook takes well under a minute
INSTALL_LINES = (
    "import sys",
    'if "google.colab" in sys.modules:',
    '    %pip install -q "keras_rnncr[examples,music] @ '
    'git+https://github.com/keras-rnncr/keras_rnncr"',
)

sys.path.insert(0, str(NOTEBOOKS_DIR))
from strip_outputs import has_outputs  # noqa: E402


def _ids(paths):
    return [path.stem for path in paths]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_runs_at_ci_size(path, tmp_path, monkeypatch):
    """Executes the notebook top to bottom, in a temporary directory."""
    monkeypatch.setenv("KERAS_RNNCR_NOTEBOOK_SIZE", "ci")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        message = re.sub(r"\x1b\[[0-9;]*m", "", str(error))  # no terminal colours
        pytest.fail(f"{path.name} failed in a cell:\n{message}", pytrace=False)


def _tracked_notebooks():
    """The notebooks that git tracks or would add (not ignored)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
            cwd=NOTEBOOKS_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):  # not a git checkout
        return NOTEBOOKS
    return sorted(NOTEBOOKS_DIR / name for name in listed if name.endswith(".ipynb"))


TRACKED = _tracked_notebooks()


@pytest.mark.parametrize("path", TRACKED, ids=_ids(TRACKED))
def test_notebook_is_stripped_and_installs_on_colab(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert not has_outputs(notebook), (
        f"{path.name} has outputs; run `python notebooks/strip_outputs.py`."
    )
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert len(code) >= 2, f"{path.name} needs the install and parameters cells"
    install = tuple(line for line in code[0].source.splitlines() if line.strip())
    assert install == INSTALL_LINES, (
        f"The first code cell of {path.name} must be the Colab install cell."
    )
    parameters = code[1].source
    assert "KERAS_RNNCR_NOTEBOOK_SIZE" in parameters and "SIZE" in parameters, (
        f"The second code cell of {path.name} must read the notebook size."
    )


def test_has_outputs_sees_outputs_and_counts():
    """The hygiene check itself can fail."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("1 + 1"))
    assert not has_outputs(notebook)
    notebook.cells[0].execution_count = 1
    assert has_outputs(notebook)
    notebook.cells[0].execution_count = None
    notebook.cells[0].outputs.append(
        nbformat.v4.new_output("execute_result", {"text/plain": "2"})
    )
    assert has_outputs(notebook)


def test_strip_outputs_script(tmp_path):
    notebook = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=3)
    cell.outputs.append(nbformat.v4.new_output("stream", text="1\n"))
    notebook.cells.append(cell)
    path = tmp_path / "dirty.ipynb"
    nbformat.write(notebook, path)
    script = NOTEBOOKS_DIR / "strip_outputs.py"
    check = subprocess.run(
        [sys.executable, str(script), "--check", str(path)], capture_output=True
    )
    assert check.returncode == 1
    subprocess.run([sys.executable, str(script), str(path)], check=True)
    assert not has_outputs(nbformat.read(path, as_version=4))
    check = subprocess.run(
        [sys.executable, str(script), "--check", str(path)], capture_output=True
    )
    assert check.returncode == 0
    assert os.path.getsize(path) > 0
