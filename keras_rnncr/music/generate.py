"""Sample piano rolls from a trained music model; save them as PNG and MIDI."""

import numpy as np

from keras_rnncr import _validation
from keras_rnncr.music._rolls import check_binary


def sample_piano_roll(model, num_frames, primer=None, seed=None):
    """Draws a piano roll frame by frame from a model of `music_model`.

    Runs the model's recurrent cell one step at a time (layer `"rnn"`,
    whose cell maps a frame and the state to the new state) and its head
    (layer `"head"`, the 88 Bernoulli probabilities), and draws each key of
    the next frame independently:

    ```python
    h = 0
    for t in range(num_frames - 1):
        h = cell(x_t, h); p = head(h)
        x_{t+1} ~ Bernoulli(p)        # independently for every key
    ```

    Args:
        model: a model from `music_model`.
        num_frames: positive int, frames of the returned roll (primer
            included).
        primer: bool array `(frames, keys)` or None: the first frames, fed
            as given; `None` starts from one silent frame.
        seed: int or None, seed of the Bernoulli draws.

    Returns:
        A bool array of shape `(num_frames, keys)`.
    """
    num_frames = _validation.check_positive_int("num_frames", num_frames)
    seed = _validation.check_seed(seed)
    try:
        cell = model.get_layer("rnn").cell
        head = model.get_layer("head")
        num_keys = head.units
    except (AttributeError, ValueError):
        raise ValueError(
            "Argument `model` must be a `keras_rnncr.music.music_model` (a "
            "recurrent layer named 'rnn' and a Dense 'head'). Received: "
            f"{getattr(model, 'name', model)!r}"
        ) from None
    primer = (
        np.zeros((1, num_keys), bool)
        if primer is None
        else _check_roll("primer", primer, (num_keys,), min_frames=1)
    )
    rng = np.random.default_rng(seed)
    roll = np.zeros((num_frames, num_keys), bool)
    roll[: min(len(primer), num_frames)] = primer[:num_frames]
    state = [np.zeros((1, cell.units), np.float32)]
    for t in range(num_frames - 1):
        frame = roll[t : t + 1].astype(np.float32)
        hidden, state = cell(frame, state)
        if t + 1 >= len(primer):
            probabilities = np.asarray(head(hidden))[0]
            roll[t + 1] = rng.random(num_keys) < probabilities
    return roll


# The MIDI pitch of a roll's first column: A0 = 21 for the 88 keys of a piano
# (the music sets' range) and any other width, 0 for the 128 pitches of MIDI.
def lowest_pitch(keys):
    return 0 if keys == 128 else 21


def _check_roll(name, roll, keys=None, min_frames=0):
    """`roll` as a bool array `(frames, k)` of 0s and 1s (`k` in `keys` if
    given, `frames >= min_frames`)."""
    array = np.asarray(roll)
    if (
        array.ndim != 2
        or len(array) < min_frames
        or array.shape[1] == 0
        or (keys is not None and array.shape[1] not in keys)
    ):
        wanted = "keys" if keys is None else f"one of {list(keys)} keys"
        raise ValueError(
            f"Argument `{name}` must be a piano roll of shape (frames >= "
            f"{min_frames}, {wanted}). Received: {name}.shape={array.shape}"
        )
    check_binary(name, array)
    return array.astype(bool)


def save_piano_roll_png(roll, path, title=None):
    """Saves a roll as an image: time to the right, MIDI pitch upwards.

    Args:
        roll: array `(frames, keys)` of bools or 0/1, 88 keys for the
            music sets: column `k` is MIDI pitch `k + 21` (a roll of 128
            columns: pitch `k`).
        path: output file (any matplotlib format, e.g. `.png`).
        title: str or None, the figure title.

    Returns:
        The matplotlib `Figure`.
    """
    from keras_rnncr._plotting import finish, pyplot

    roll = _check_roll("roll", roll)
    lowest = lowest_pitch(roll.shape[1])
    plt = pyplot()
    figure, axis = plt.subplots(figsize=(max(4.0, len(roll) / 25), 3))
    axis.imshow(
        roll.T,
        origin="lower",
        aspect="auto",
        cmap="Greys",
        interpolation="nearest",
        extent=(0, len(roll), lowest - 0.5, lowest - 0.5 + roll.shape[1]),
    )
    axis.set_xlabel("frame")
    axis.set_ylabel("MIDI pitch")
    if title:
        axis.set_title(title)
    figure.tight_layout()
    return finish(plt, figure, path)


def save_midi(roll, path, seconds_per_frame=0.25, velocity=90, program=0):
    """Writes a roll as a one-instrument MIDI file with pretty_midi.

    A key held over consecutive frames becomes one note.

    Args:
        roll: array `(frames, keys)` of bools or 0/1, 88 keys for the
            music sets: column `k` is MIDI pitch `k + 21` (a roll of 128
            columns: pitch `k`).
        path: output `.mid` file.
        seconds_per_frame: positive float. Defaults to 0.25 (a quarter note
            at 60 beats per minute, or an eighth note at 120).
        velocity: int in 1..127. Defaults to 90.
        program: int in 0..127, the General MIDI program number. Defaults to 0
            (piano).

    Returns:
        The number of notes written.

    Raises:
        ImportError: if pretty_midi is not installed (`pip install
            pretty_midi`).
    """
    roll = _check_roll("roll", roll)
    lowest = lowest_pitch(roll.shape[1])
    if lowest + roll.shape[1] > 128:
        raise ValueError(
            f"Argument `roll` has {roll.shape[1]} keys: from MIDI pitch {lowest} "
            "they pass 127, the highest. Received: roll.shape="
            f"{roll.shape}"
        )
    seconds_per_frame = _validation.check_positive_float(
        "seconds_per_frame", seconds_per_frame
    )
    velocity = _validation.check_int_in_range("velocity", velocity, 1, 127)
    program = _validation.check_int_in_range("program", program, 0, 127)
    try:
        import pretty_midi
    except ImportError as error:
        raise ImportError(
            "save_midi() needs pretty_midi: pip install pretty_midi"
        ) from error
    music = pretty_midi.PrettyMIDI()
    instrument = pretty_midi.Instrument(program=program)
    padded = np.pad(roll, ((1, 1), (0, 0)))
    changes = np.diff(padded.astype(np.int8), axis=0)
    for key in range(roll.shape[1]):
        starts = np.flatnonzero(changes[:, key] == 1)
        ends = np.flatnonzero(changes[:, key] == -1)
        for start, end in zip(starts, ends):
            instrument.notes.append(
                pretty_midi.Note(
                    velocity=velocity,
                    pitch=key + lowest,
                    start=start * seconds_per_frame,
                    end=end * seconds_per_frame,
                )
            )
    music.instruments.append(instrument)
    music.write(str(path))
    return len(instrument.notes)
