"""Conversion between lists of MIDI pitches and 88-key piano rolls."""

import numpy as np

LOWEST_PITCH = 21  # A0, the lowest key of a piano; column 0 of a roll.
NUM_KEYS = 88  # A0 (MIDI 21) to C8 (MIDI 108).


def pitches_to_roll(frames):
    """Returns a `(len(frames), 88)` bool roll with `roll[t, p - 21] = True`.

    Args:
        frames: Sequence of frames, each an iterable of MIDI pitches in
            21..108 (an empty frame is a rest).

    Raises:
        ValueError: if a pitch lies outside 21..108.
    """
    roll = np.zeros((len(frames), NUM_KEYS), dtype=bool)
    for t, frame in enumerate(frames):
        for pitch in frame:
            column = int(pitch) - LOWEST_PITCH
            if not 0 <= column < NUM_KEYS:
                raise ValueError(
                    "MIDI pitches must lie in 21..108 (the 88 piano keys). "
                    f"Received: pitch={pitch} in frame {t}."
                )
            roll[t, column] = True
    return roll
