"""Character corpus that ships with Python, as an offline stand-in for PTB."""


def load_offline_text():
    """Loads the Python help topics as a character corpus, split 90/5/5.

    **A substitute, not Penn Treebank.** Use it to run character-level
    examples on a machine without internet access or downloads; the real
    task of Pascanu, Mikolov & Bengio (ICML 2013) is `tfds.load("ptb_char")`
    (Mikolov et al., 2012). Bits per character on this text are not
    comparable with published PTB numbers.

    The text is `pydoc_data.topics.topics` from the standard library
    (English prose with code samples, PSF licence, about 465,000 characters
    and about 100 distinct symbols, mixed case), the topics joined in sorted
    order with blank lines. As in TFDS `tiny_shakespeare`, the string is cut
    by characters: the first 90% for training, the next 5% for validation,
    the last 5% for testing.

    Returns:
        dict with keys `"train"`, `"validation"`, `"test"`, each a `str`.

    Example:

    >>> splits = load_offline_text()
    >>> len(splits["train"]) > 400_000
    True
    """
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[name] for name in sorted(topics))
    train_end = int(len(text) * 0.9)
    validation_end = train_end + (len(text) - train_end) // 2
    return {
        "train": text[:train_end],
        "validation": text[train_end:validation_end],
        "test": text[validation_end:],
    }
