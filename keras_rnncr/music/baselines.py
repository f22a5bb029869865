"""Trivial next-frame baselines: per-key frequencies and the previous frame."""

import keras
import numpy as np

from keras_rnncr import _validation
from keras_rnncr.music._rolls import check_binary

# Golden-section search of the mixing weight on [0, 1]: the NLL is convex in it.
_INVERSE_GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def key_frequencies(rolls):
    """How often each key sounds: the mean of every frame of `rolls`.

    Args:
        rolls: list of `(frames, keys)` binary arrays, e.g. the training pieces
            of `load_piano_rolls`.

    Returns:
        A float64 array of shape `(keys,)` with values in [0, 1].
    """
    rolls = _check_rolls(rolls)
    frames = sum(len(roll) for roll in rolls)
    return sum(roll.sum(axis=0, dtype=np.float64) for roll in rolls) / frames


def baseline_nll(rolls, frequencies, weight=0.0, include_first_frame=False):
    """NLL per frame, in nats, of the previous frame mixed with key frequencies.

    Each key of frame `t` sounds with probability

    ```python
    p_t = weight * x_{t-1} + (1 - weight) * frequencies    # x_{-1} = silence
    nll = mean over frames of -sum_k log Bernoulli(x_{t,k}; p_{t,k})
    ```

    so `weight=0` is a model that only knows how often each key sounds, and a
    weight near 1 one that repeats the last frame. The NLL of a frame is
    `keras_rnncr.metrics.frame_nll` (probabilities clipped to
    `[epsilon, 1 - epsilon]` with `keras.config.epsilon()`), averaged over
    every scored frame of `rolls` (not per piece first), as `FrameNLL` does.

    Args:
        rolls: list of `(frames, keys)` binary arrays.
        frequencies: array `(keys,)`, e.g. `key_frequencies` of the training
            pieces.
        weight: float in [0, 1], the weight of the previous frame. Defaults
            to 0.
        include_first_frame: bool. `False` (default) scores the frames the
            music models are scored on (`next_frame_dataset`: every frame after
            the first of each piece); `True` also scores each first frame,
            predicted from silence.

    Returns:
        float, the mean NLL per scored frame.
    """
    rolls = _check_rolls(rolls)
    frequencies = _check_frequencies(frequencies, rolls)
    weight = _validation.check_float_in_range(
        "weight", weight, 0, 1, low_closed=True, high_closed=True
    )
    include_first_frame = _validation.check_bool(
        "include_first_frame", include_first_frame
    )
    epsilon = keras.config.epsilon()
    total, count = 0.0, 0
    for roll in rolls:
        roll = roll.astype(np.float64)
        previous = np.concatenate([np.zeros_like(roll[:1]), roll[:-1]])
        if not include_first_frame:
            roll, previous = roll[1:], previous[1:]
        p = np.clip(
            weight * previous + (1.0 - weight) * frequencies, epsilon, 1 - epsilon
        )
        total += -np.sum(roll * np.log(p) + (1.0 - roll) * np.log(1.0 - p))
        count += len(roll)
    if count == 0:
        raise ValueError("Argument `rolls` holds no frame to score.")
    return float(total / count)


def best_mixing_weight(rolls, frequencies, include_first_frame=False, tolerance=1e-4):
    """The `weight` in [0, 1] that minimises `baseline_nll` on `rolls`.

    The NLL is convex in the weight (a sum of `-log` of functions linear in
    it), so a golden-section search finds the minimum to within `tolerance`.

    Args:
        rolls, frequencies, include_first_frame: as in `baseline_nll`.
        tolerance: positive float, the width of the final interval. Defaults
            to 1e-4.

    Returns:
        float, the best weight.
    """
    tolerance = _validation.check_positive_float("tolerance", tolerance)

    def nll(weight):
        return baseline_nll(rolls, frequencies, weight, include_first_frame)

    low, high = 0.0, 1.0
    left = high - _INVERSE_GOLDEN * (high - low)
    right = low + _INVERSE_GOLDEN * (high - low)
    nll_left, nll_right = nll(left), nll(right)
    while high - low > tolerance:
        if nll_left <= nll_right:
            high, right, nll_right = right, left, nll_left
            left = high - _INVERSE_GOLDEN * (high - low)
            nll_left = nll(left)
        else:
            low, left, nll_left = left, right, nll_right
            right = low + _INVERSE_GOLDEN * (high - low)
            nll_right = nll(right)
    candidates = (0.0, (low + high) / 2, 1.0)
    return min(candidates, key=nll)


def trivial_baselines(rolls, weight_split="validation", include_first_frame=False):
    """The two trivial baselines of a corpus on each of its splits.

    - `"key_frequencies"`: every key sounds independently with its frequency
      over the training frames (`key_frequencies(rolls["train"])`);
    - `"previous_frame"`: the previous frame mixed with those frequencies
      (`baseline_nll`), the weight chosen on `weight_split`
      (`best_mixing_weight`).

    A music model that has learnt anything beyond repeating notes must beat
    both. The test values with `include_first_frame=True` are the numbers of
    issue 14 for Nottingham, MuseData and JSB Chorales (frequencies 10.25,
    11.51, 11.06 nats; previous frame 5.73, 8.57 and, at the best weight,
    10.54).

    Args:
        rolls: dict `{split: [roll, ...]}` with a `"train"` split, as returned
            by `load_piano_rolls`.
        weight_split: str, the split the mixing weight is chosen on. Defaults
            to `"validation"`.
        include_first_frame: as in `baseline_nll`.

    Returns:
        dict with `"key_frequencies"` and `"previous_frame"` (each
        `{split: NLL per frame}`) and `"mixing_weight"`.

    Example:

    >>> rolls = {"train": [np.eye(3, 88, dtype=bool)], "test": [np.eye(4, 88)]}
    >>> baselines = trivial_baselines(rolls, weight_split="train")
    >>> sorted(baselines)
    ['key_frequencies', 'mixing_weight', 'previous_frame']
    """
    if not isinstance(rolls, dict) or "train" not in rolls:
        raise ValueError(
            "Argument `rolls` must be a dict of splits with a 'train' split. "
            f"Received: {type(rolls).__name__} with keys "
            f"{sorted(rolls) if isinstance(rolls, dict) else None}"
        )
    if not isinstance(weight_split, str) or weight_split not in rolls:
        raise ValueError(
            f"Argument `weight_split` must be one of {sorted(rolls)}. "
            f"Received: weight_split={weight_split!r}"
        )
    for split, pieces in rolls.items():
        try:
            _check_rolls(pieces)
        except ValueError as error:
            raise ValueError(f"Split {split!r} of `rolls`: {error}") from None
    frequencies = key_frequencies(rolls["train"])
    weight = best_mixing_weight(rolls[weight_split], frequencies, include_first_frame)
    return {
        "key_frequencies": {
            split: baseline_nll(pieces, frequencies, 0.0, include_first_frame)
            for split, pieces in rolls.items()
        },
        "previous_frame": {
            split: baseline_nll(pieces, frequencies, weight, include_first_frame)
            for split, pieces in rolls.items()
        },
        "mixing_weight": weight,
    }


def _check_rolls(rolls):
    rolls = [np.asarray(roll) for roll in rolls]
    if not rolls or any(roll.ndim != 2 for roll in rolls):
        raise ValueError(
            "Argument `rolls` must be a non-empty list of (frames, keys) arrays. "
            f"Received: {len(rolls)} arrays with shapes "
            f"{[roll.shape for roll in rolls[:3]]}"
        )
    keys = {roll.shape[1] for roll in rolls}
    if len(keys) != 1:
        raise ValueError(
            "Argument `rolls` must hold arrays with the same number of keys. "
            f"Received: keys {sorted(keys)}"
        )
    for index, roll in enumerate(rolls):
        check_binary("rolls", roll, index)
    if not sum(len(roll) for roll in rolls):
        raise ValueError("Argument `rolls` must hold at least one frame.")
    return rolls


def _check_frequencies(frequencies, rolls):
    frequencies = np.asarray(frequencies, dtype=np.float64)
    keys = rolls[0].shape[1]
    if frequencies.shape != (keys,) or not np.all(
        (frequencies >= 0) & (frequencies <= 1)
    ):
        raise ValueError(
            f"Argument `frequencies` must be {keys} probabilities in [0, 1]. "
            f"Received: an array of shape {frequencies.shape}"
        )
    return frequencies
