"""Generates the dummy data for the `ptb_char` builder tests.

The tests call `write_dummy_data(root)` on a temporary folder (the fixtures are
not kept in git); `python keras_rnncr/datasets/ptb_char/make_dummy_data.py [ROOT]`
writes them to ROOT (default: `dummy_data/` beside this file). Writes invented
sentences (not Penn Treebank text) in the two layouts the
builder reads:

- `download/simple-examples/data/`: what extracting
  `simple-examples.tgz` gives, with `ptb.char.*.txt` (characters separated by
  spaces, `_` between words) next to the word-level `ptb.*.txt`.
- `manual/`: a `manual_dir` with only the word-level files.

The splits have 5, 3 and 3 sentences, none shared between splits.
"""

import pathlib
import sys

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
    """Writes `download/` and `manual/` under `root`."""
    root = pathlib.Path(root)
    download = root / "download" / "simple-examples" / "data"
    for split, sentences in _SENTENCES.items():
        # Word-level files start and end every line with a space, like Mikolov's.
        words = [f" {sentence} \n" for sentence in sentences]
        chars = [" ".join(sentence.replace(" ", "_")) + "\n" for sentence in sentences]
        _write(download, f"ptb.{split}.txt", words)
        _write(download, f"ptb.char.{split}.txt", chars)
        _write(root / "manual", f"ptb.{split}.txt", words)


if __name__ == "__main__":
    write_dummy_data(sys.argv[1] if len(sys.argv) > 1 else _HERE)
