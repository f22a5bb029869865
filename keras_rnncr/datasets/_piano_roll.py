"""Conversion between lists of MIDI pitches and 88-key piano rolls."""

import numpy as np

from keras_rnncr._validation import is_integer

LOWEST_PITCH = 21  # A0, the lowest key of a piano; column 0 of a roll.
NUM_KEYS = 88  # A0 (MIDI 21) to C8 (MIDI 108).
_FRAME_TYPES = (tuple, list, set, frozenset)


def pitches_to_roll(frames):
    """Returns a `(len(frames), 88)` bool roll with `roll[t, p - 21] = True`.

    Args:
        frames: list or tuple of frames, each a tuple, list or set of integer
            MIDI pitches in 21..108 (an empty frame is a rest).

    Raises:
        ValueError: if `frames` is not a list or tuple of such frames, or a
            pitch is not an integer in 21..108. The message names the frame
            and describes the offending value, never the whole piece.
    """
    if not isinstance(frames, (list, tuple)):
        raise ValueError(
            f"A piece must be a list or tuple of frames. Received: {describe(frames)}."
        )
    roll = np.zeros((len(frames), NUM_KEYS), dtype=bool)
    for t, frame in enumerate(frames):
        if not isinstance(frame, _FRAME_TYPES):
            raise ValueError(
                "Each frame must be a tuple, list or set of MIDI pitches. "
                f"Received: {describe(frame)} in frame {t}."
            )
        for pitch in frame:
            if not is_integer(pitch):
                raise ValueError(
                    "MIDI pitches must be ints (MIDI note numbers). "
                    f"Received: pitch={_short_repr(pitch)} in frame {t}."
                )
            column = int(pitch) - LOWEST_PITCH
            if not 0 <= column < NUM_KEYS:
                raise ValueError(
                    "MIDI pitches must lie in 21..108 (the 88 piano keys). "
                    f"Received: pitch={pitch} in frame {t}."
                )
            roll[t, column] = True
    return roll


def describe(value):
    """Names the type and size of `value` for an error message, not its content.

    For example `"a list of 3 items"`, `"a uint8 array of shape (5, 88)"`,
    `"an int"`.
    """
    if isinstance(value, np.ndarray):
        kind = value.dtype.name if value.dtype.kind in "biufc" else value.dtype.str
        return f"{_article(kind)} {kind} array of shape {value.shape}"
    name = type(value).__name__
    if isinstance(value, (*_FRAME_TYPES, dict)):
        items = "item" if len(value) == 1 else "items"
        return f"{_article(name)} {name} of {len(value)} {items}"
    return "None" if value is None else f"{_article(name)} {name}"


def _article(word):
    return "an" if word[:1] in tuple("aeioAEIO") else "a"  # "a uint8", "an int"


def _short_repr(value, limit=40):
    """At most about `limit` characters: a number or the start of a string
    shown, any container only described (its `repr` may be huge)."""
    if isinstance(value, (str, bytes)):
        text = repr(value[: limit + 1])
    elif isinstance(value, (int, float, complex, bool)) or value is None:
        text = (
            repr(value)
            if not isinstance(value, int) or value.bit_length() < 200
            else ""
        )
    else:
        return describe(value)
    if text and len(text) <= limit:
        return text
    return f"{text[:limit]}... ({describe(value)})"
