"""Generates the dummy data for the `ptb_char` builder tests.

The tests call `write_dummy_data(root)` on a temporary folder (the fixtures are
not kept in git); `python keras_rnncr/datasets/ptb_char/make_dummy_data.py [ROOT]`
writes them to ROOT (default: `dummy_data/` beside this file). Writes invented
sentences (not Penn Treebank text) in the layouts the builder reads:

- `download/`: what the pinned download returns, the word-level
  `ptb.{train,valid,test}.txt` (every line starts and ends with a space,
  like Mikolov's).
- `manual/`: a `manual_dir` with only the word-level files.
- `extracted/simple-examples/data/`: a `manual_dir` holding Mikolov's
  extracted archive, with `ptb.char.*.txt` (characters separated by
  spaces, `_` between words) next to the word-level `ptb.*.txt`.
- `archive/simple-examples.tgz`: a `manual_dir` holding the archive itself
  (members `./simple-examples/data/...`, as in Mikolov's).

The splits have 5, 3 and 3 sentences, none shared between splits.
"""

import pathlib
import sys
import tarfile

_HERE = pathlib.Path(__file__).resolve().parent / "dummy_data"
_SENTENCES = {
    "train": [
        "the cat sat on the mat",
        "stocks rose N % in <unk> trading",
        "she said it 's a fine day",
        "the company 's shares fell $ N",
        "we expect more of the same",
    ],
    "valid": [
        "a dog ran across the road",
        "prices were mixed in late trading",
        "he declined to comment",
    ],
    "test": [
        "the board met on <unk>",
        "sales grew N N in the quarter",
        "nobody knows why",
    ],
}


def _write(directory, name, lines):
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text("".join(lines))


def write_dummy_data(root):
    """Writes `download/`, `manual/`, `extracted/` and `archive/` under `root`."""
    root = pathlib.Path(root)
    extracted = root / "extracted" / "simple-examples" / "data"
    for split, sentences in _SENTENCES.items():
        words = [f" {sentence} \n" for sentence in sentences]
        # Written independently of the builder's conversion, which tests
        # compare against it.
        chars = [" ".join(sentence.replace(" ", "_")) + "\n" for sentence in sentences]
        _write(root / "download", f"ptb.{split}.txt", words)
        _write(root / "manual", f"ptb.{split}.txt", words)
        _write(extracted, f"ptb.{split}.txt", words)
        _write(extracted, f"ptb.char.{split}.txt", chars)
    (root / "archive").mkdir(parents=True, exist_ok=True)
    with tarfile.open(root / "archive" / "simple-examples.tgz", "w:gz") as archive:
        archive.add(root / "extracted" / "simple-examples", "./simple-examples")


if __name__ == "__main__":
    write_dummy_data(sys.argv[1] if len(sys.argv) > 1 else _HERE)
