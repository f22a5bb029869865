"""Builds the HTML API reference of keras_rnncr from its docstrings with pdoc.

Usage (from the repository root; needs the `docs` extra):

    pip install -e ".[docs]"
    python docs/build.py            # writes docs/_build/index.html

The build fails (exit status 1) on any warning that pdoc raises while it
documents the package (a submodule that does not import, a name in `__all__`
that does not resolve, an unparsable annotation, ...) and on any backticked
reference to `keras_rnncr.<name>` in a docstring that does not resolve.
Warnings raised while TensorFlow and keras_rnncr themselves are imported are
not pdoc's and are left alone.
"""

import argparse
import importlib
import os
import pathlib
import re
import sys
import warnings

ROOT = pathlib.Path(__file__).resolve().parent
# A backticked dotted name inside the package, e.g. `keras_rnncr.layers.GRU`.
REFERENCE = re.compile(r"`(keras_rnncr(?:\.\w+)+)")


def resolves(dotted):
    """Whether `dotted` names a module or an attribute reachable from one."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        try:
            for attribute in parts[split:]:
                target = getattr(target, attribute)
        except AttributeError:
            return False
        return True
    return False


def check_references(module):
    """Warns about each unresolved `keras_rnncr.*` reference in `module`'s docs."""
    pending = [module]
    while pending:
        doc = pending.pop()
        for dotted in REFERENCE.findall(doc.docstring):
            if not resolves(dotted):
                warnings.warn(
                    f"{doc.fullname}: docstring refers to `{dotted}`, "
                    "which does not resolve",
                    stacklevel=2,
                )
        pending.extend(getattr(doc, "members", {}).values())
        pending.extend(getattr(doc, "submodules", []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=pathlib.Path,
        default=ROOT / "_build",
        help="directory to write the HTML to (default: docs/_build)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    import pdoc
    import pdoc.doc
    import pdoc.render

    import keras_rnncr

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdoc.render.configure(docformat="google", show_source=True)
        pdoc.pdoc("keras_rnncr", output_directory=args.output)
        check_references(pdoc.doc.Module(keras_rnncr))
    for warning in caught:
        print(
            f"{warning.filename}:{warning.lineno}: "
            f"{warning.category.__name__}: {warning.message}",
            file=sys.stderr,
        )
    if caught:
        print(f"docs: {len(caught)} warning(s); failing.", file=sys.stderr)
        return 1
    print(f"docs: wrote {args.output / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
