"""The character corpora of the examples as plain strings: PTB or offline text."""

CORPORA = ("ptb", "offline")
SPLITS = ("train", "validation", "test")


def load_char_corpus(name="offline", data_dir=None, manual_dir=None):
    """Returns the train, validation and test text of a character corpus.

    - `"ptb"`: Penn Treebank characters (Mikolov et al., 2012), the data of
      Pascanu, Mikolov & Bengio, ICML 2013, Table 1, through the TFDS builder
      `ptb_char` (`keras_rnncr.datasets`). Sentences are joined with `"\\n"`,
      so the sentence end is one of the predicted symbols (50 symbols in all);
      the paper does not say how it treated sentence ends.
    - `"offline"`: the Python help topics of `pydoc_data`, which ship with
      Python (`keras_rnncr.datasets.load_offline_text`). **A substitute, not
      PTB**: its bits per character are not comparable with the paper's.

    Args:
        name: `"ptb"` or `"offline"` (default).
        data_dir: TFDS data directory for `"ptb"` (default: TFDS's).
        manual_dir: folder with `ptb.char.*.txt` or `ptb.*.txt` for `"ptb"`,
            e.g. a copy of Mikolov's `simple-examples/data`; without it TFDS
            downloads the word-level files from a pinned GitHub copy.

    Returns:
        dict with keys `"train"`, `"validation"`, `"test"`, each a `str`.
    """
    if name not in CORPORA:
        raise ValueError(
            f"Argument `name` must be one of {CORPORA}. Received: name={name!r}"
        )
    if name == "offline":
        from keras_rnncr.datasets import load_offline_text

        return load_offline_text()
    import tensorflow_datasets as tfds

    import keras_rnncr.datasets  # noqa: F401  (registers `ptb_char`)

    config = None
    if manual_dir is not None:
        config = tfds.download.DownloadConfig(manual_dir=str(manual_dir))
    builder = tfds.builder("ptb_char", data_dir=data_dir)
    builder.download_and_prepare(download_config=config)
    corpus = {}
    for split in SPLITS:
        dataset = builder.as_dataset(split=split, shuffle_files=False)
        lines = [example["text"].decode("utf-8") for example in tfds.as_numpy(dataset)]
        corpus[split] = "\n".join(lines) + "\n"
    return corpus
