"""Character-level Penn Treebank of Mikolov et al. (2012)."""

import tensorflow as tf
import tensorflow_datasets.public_api as tfds

_URL = "http://www.fit.vutbr.cz/~imikolov/rnnlm/simple-examples.tgz"
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}
# Where the files may sit, relative to `manual_dir` or the extracted archive.
_SUBDIRS = ("", "simple-examples/data", "data")


def word_line_to_characters(line):
    """Converts a line of `ptb.*.txt` to the text of a `ptb.char.*.txt` line.

    Words are joined with `_` and outer spaces dropped:
    `" aer banknote berlitz \\n"` becomes `"aer_banknote_berlitz"`, the same
    text as the character file's `"a e r _ b a n k n o t e _ b e r l i t z"`
    once its separating spaces are removed.
    """
    return "_".join(line.split())


def char_line_to_characters(line):
    """Removes the single spaces that separate characters in `ptb.char.*.txt`."""
    return "".join(line.split())


class Builder(tfds.core.GeneratorBasedBuilder):
    """Penn Treebank as characters, one sentence per example.

    The character-level language-modelling data of Mikolov et al., "Subword
    language modeling with neural networks" (2012), used by Pascanu, Mikolov
    & Bengio (ICML 2013, Table 1) for next-character and 5-steps-ahead
    prediction in bits per character. Each example's `text` is one sentence
    as a string of characters with `_` at word boundaries (the separating
    spaces of `ptb.char.*.txt` removed), e.g. `"aer_banknote_berlitz"`;
    numbers are `N` and unknown words `<unk>`. The sentence end (newline) is
    not part of `text`; add it as a symbol if the model should predict it.

    Source, in order of preference:

    1. `manual_dir` (or its `simple-examples/data/` or `data/`) holding
       `ptb.char.{train,valid,test}.txt`, or else the word-level
       `ptb.{train,valid,test}.txt`, converted with
       `word_line_to_characters` (words joined by `_`).
    2. Otherwise Mikolov's `simple-examples.tgz`, from which
       `ptb.char.*.txt` is read.
    """

    VERSION = tfds.core.Version("1.0.1")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.0.1": "Sentences keep their file order (a character stream with a "
        "carried state needs it).",
    }

    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Optional. Put `ptb.char.{train,valid,test}.txt` or the word-level
    `ptb.{train,valid,test}.txt` (from simple-examples.tgz, or any copy of
    Mikolov's Penn Treebank files) in `manual_dir`, directly or under
    `simple-examples/data/`. Without them simple-examples.tgz is downloaded.
    """

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({"text": tfds.features.Text()}),
            supervised_keys=None,
            homepage="http://www.fit.vutbr.cz/~imikolov/rnnlm/",
            # Language models that carry the state across segments read the
            # sentences as one stream, so the file order must survive.
            disable_shuffling=True,
        )

    def _split_generators(self, dl_manager):
        found = self._manual_files(dl_manager)
        if found is None:
            found = _find_files(dl_manager.download_and_extract(_URL), ("ptb.char",))
        if found is None:
            raise FileNotFoundError(f"No ptb.char.*.txt files in {_URL}.")
        prefix, directory = found
        convert = (
            char_line_to_characters if prefix == "ptb.char" else word_line_to_characters
        )
        return {
            split: self._generate_examples(
                directory / f"{prefix}.{name}.txt", split, convert
            )
            for split, name in _SPLITS.items()
        }

    def _generate_examples(self, path, split, convert):
        with tf.io.gfile.GFile(str(path)) as f:
            for index, line in enumerate(f):
                text = convert(line)
                if text:
                    yield f"{split}_{index:05d}", {"text": text}

    def _manual_files(self, dl_manager):
        """Returns `(prefix, directory)` of files in `manual_dir`, or None."""
        try:
            manual_dir = dl_manager.manual_dir
        except AssertionError:  # Not given, missing or empty.
            return None
        return _find_files(manual_dir, ("ptb.char", "ptb"))


def _find_files(root, prefixes):
    """Returns the first `(prefix, directory)` holding all three split files."""
    for prefix in prefixes:
        for subdir in _SUBDIRS:
            directory = root / subdir if subdir else root
            if all(
                (directory / f"{prefix}.{name}.txt").exists()
                for name in _SPLITS.values()
            ):
                return prefix, directory
    return None
