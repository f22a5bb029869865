"""`CharVocabulary`: characters to integer ids and back, with an unknown symbol."""

import collections
import json

import keras
import numpy as np

from keras_rnncr import _validation


@keras.saving.register_keras_serializable(package="keras_rnncr")
class CharVocabulary:
    """A fixed mapping between characters and integer ids.

    Character-level language models (Pascanu, Mikolov & Bengio, ICML 2013, §4.2,
    Penn Treebank characters) read and predict one symbol per step; this class
    turns text into the integer ids the model sees and back.

    Ids are `0 .. size - 1` in the order of `characters`. With `unknown` set, the
    unknown symbol takes id 0 and every character outside the vocabulary is
    encoded as 0 (and decoded as `unknown`); with `unknown=None`, encoding an
    unseen character raises a `ValueError`.

    Args:
        characters: non-empty string (or list of one-character strings) of
            distinct characters, in id order.
        unknown: one-character string standing for characters outside the
            vocabulary, or `None` (default) for no unknown symbol. It must not
            be one of `characters`.

    Example:

    >>> vocabulary = CharVocabulary("abc", unknown="?")
    >>> vocabulary.encode("cab!").tolist()
    [3, 1, 2, 0]
    >>> vocabulary.decode([3, 1, 2, 0])
    'cab?'
    """

    def __init__(self, characters, unknown=None):
        given = characters
        if isinstance(characters, str):
            characters = list(characters)
        if (
            not isinstance(characters, (list, tuple))
            or not characters
            or not all(isinstance(c, str) and len(c) == 1 for c in characters)
        ):
            raise ValueError(
                "Argument `characters` must be a non-empty string or list of "
                f"one-character strings. Received: characters={given!r}"
            )
        if len(set(characters)) != len(characters):
            repeated = sorted(
                c for c, n in collections.Counter(characters).items() if n > 1
            )
            raise ValueError(
                "Argument `characters` must not repeat a character. "
                f"Received: characters with repeats {repeated!r}"
            )
        if unknown is not None and (not isinstance(unknown, str) or len(unknown) != 1):
            raise ValueError(
                "Argument `unknown` must be a one-character string or None. "
                f"Received: unknown={unknown!r}"
            )
        if unknown is not None and unknown in characters:
            raise ValueError(
                "Argument `unknown` must not be one of `characters`. "
                f"Received: unknown={unknown!r}"
            )
        self.characters = "".join(characters)
        self.unknown = unknown
        self._symbols = ([unknown] if unknown is not None else []) + list(characters)
        self._ids = {c: i for i, c in enumerate(self._symbols)}

    @classmethod
    def from_text(cls, text, unknown=None, min_count=1):
        """Builds the vocabulary of `text`: its characters, sorted.

        Args:
            text: string, usually the training split.
            unknown: as in the constructor.
            min_count: positive int; characters seen fewer times are left out
                (and so become `unknown` when encoding). Needs `unknown` when
                above 1.
        """
        if not isinstance(text, str):
            raise ValueError(
                "Argument `text` must be a string. Received: "
                f"{type(text).__name__} {text!r:.60}"
            )
        min_count = _validation.check_positive_int("min_count", min_count)
        if min_count > 1 and unknown is None:
            raise ValueError(
                "Argument `unknown` must be set when `min_count` > 1, so that rare "
                f"characters can be encoded. Received: unknown={unknown!r}"
            )
        counts = collections.Counter(text)
        characters = sorted(c for c, n in counts.items() if n >= min_count)
        if not characters:
            raise ValueError(
                f"Argument `text` must hold a character seen at least {min_count} "
                f"time(s) (`min_count`). Received: text of {len(text)} characters"
            )
        return cls(characters, unknown)

    @property
    def size(self):
        """Number of ids, including the unknown symbol if any."""
        return len(self._symbols)

    def __len__(self):
        return self.size

    @property
    def symbols(self):
        """The symbol of each id, as a list (id 0 first)."""
        return list(self._symbols)

    def encode(self, text):
        """Returns the ids of the characters of `text` as an int32 array.

        `text` is a string, or a sequence of one-character strings.
        """
        if not isinstance(text, str):
            try:
                text = list(text)
            except TypeError:
                raise TypeError(
                    "Argument `text` must be a string or a sequence of "
                    f"one-character strings. Received: {type(text).__name__}"
                ) from None
            longer = [c for c in text if not isinstance(c, str) or len(c) != 1]
            if longer:
                raise ValueError(
                    "Argument `text` must be a string or a sequence of "
                    f"one-character strings. Received items {longer[:3]!r}"
                )
        if self.unknown is None:
            missing = sorted(set(text) - set(self._ids))
            if missing:
                raise ValueError(
                    f"Characters {missing!r} are not in the vocabulary and it has "
                    "no `unknown` symbol. Build it with `unknown=` or from more text."
                )
            return np.fromiter((self._ids[c] for c in text), np.int32, len(text))
        return np.fromiter((self._ids.get(c, 0) for c in text), np.int32, len(text))

    def decode(self, ids):
        """Returns the text of a sequence of ids."""
        ids = np.asarray(ids).reshape(-1)
        if ids.size and not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(
                f"Argument `ids` must hold integers. Received dtype {ids.dtype}"
            )
        if ids.size and (ids.min() < 0 or ids.max() >= self.size):
            raise ValueError(
                f"Ids must lie in [0, {self.size}). Received ids from {ids.min()} "
                f"to {ids.max()}."
            )
        return "".join(self._symbols[i] for i in ids)

    def get_config(self):
        return {"characters": self.characters, "unknown": self.unknown}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def to_json(self):
        """The config as a JSON string (readable without keras_rnncr)."""
        return json.dumps({**self.get_config(), "symbols": self._symbols})

    @classmethod
    def from_json(cls, text):
        """Rebuilds a vocabulary written by `to_json`."""
        config = json.loads(text)
        if not isinstance(config, dict) or not {"characters", "unknown"} <= set(config):
            raise ValueError(
                "Argument `text` must be the JSON of `to_json`: an object with "
                f"'characters' and 'unknown'. Received: {text!r:.80}"
            )
        return cls(config["characters"], config["unknown"])

    def __eq__(self, other):
        return (
            isinstance(other, CharVocabulary)
            and self.get_config() == other.get_config()
        )

    def __hash__(self):
        return hash((self.characters, self.unknown))

    def __repr__(self):
        return f"CharVocabulary(size={self.size}, unknown={self.unknown!r})"
