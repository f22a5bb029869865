"""Strips outputs and execution counts from notebooks before they go into git.

Usage:

    python notebooks/strip_outputs.py             # every notebooks/*.ipynb
    python notebooks/strip_outputs.py a.ipynb     # given notebooks
    python notebooks/strip_outputs.py --check     # exit 1 if any has outputs
"""

import argparse
import pathlib
import sys

import nbformat

# Cell metadata that records a run rather than the notebook's content.
RUN_METADATA = ("execution", "collapsed", "scrolled")


def has_outputs(notebook):
    """True if any code cell has outputs, an execution count or run metadata."""
    return any(
        cell.get("outputs")
        or cell.get("execution_count") is not None
        or any(key in cell.get("metadata", {}) for key in RUN_METADATA)
        for cell in notebook.cells
        if cell.cell_type == "code"
    )


def strip(notebook):
    """Removes outputs, execution counts and run metadata, in place."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
            for key in RUN_METADATA:
                cell.metadata.pop(key, None)
    notebook.metadata.pop("widgets", None)
    return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=pathlib.Path)
    parser.add_argument(
        "--check", action="store_true", help="only report; exit 1 if any has outputs"
    )
    args = parser.parse_args(argv)
    paths = args.paths or sorted(pathlib.Path(__file__).parent.glob("*.ipynb"))
    dirty = []
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        if not has_outputs(notebook):
            continue
        dirty.append(path)
        if not args.check:
            nbformat.write(strip(notebook), path)
    verb = "has outputs" if args.check else "stripped"
    for path in dirty:
        print(f"{path}: {verb}")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
