"""Bach chorales bundled with music21, as an offline stand-in for JSB Chorales."""

import math
import zlib

import numpy as np

from keras_rnncr import _validation
from keras_rnncr.datasets._piano_roll import pitches_to_roll


def load_offline_chorales(num_chorales=None, frames_per_quarter=1):
    """Loads four-part Bach chorales from music21's corpus as 88-key rolls.

    **A substitute, not JSB Chorales.** The chorales overlap the repertoire
    of the JSB Chorales set of Boulanger-Lewandowski, Bengio & Vincent
    (ICML 2012), but their encoding, transposition and split differ, so NLL
    values are not comparable with published JSB numbers. Use it to run
    music examples with no download; the real data are
    `tfds.load("polyphonic_music/jsb_chorales")`.

    Needs the optional dependency music21 (`pip install keras_rnncr[music]`,
    about 200 MB with its dependencies); it works offline because music21's
    wheel bundles the corpus. Chorales come in Riemenschneider order from
    `music21.corpus.chorales.Iterator`; those with exactly four parts (351 of
    371) are kept. Frames sample the notes sounding at times
    `t / frames_per_quarter` quarter notes, without transposition. Each
    chorale goes to a split by `zlib.crc32(corpus_name) % 10`: 0 to test, 1
    to validation, the rest to train (287/29/35 train/validation/test
    chorales of the 351, with music21 10.5).
    Parsing all chorales takes about 15 s (45 s on the first run, while
    music21 fills its cache in the system temporary directory).

    Args:
        num_chorales: int or None. Load only the first `num_chorales`
            four-part chorales (before splitting, so small values may leave
            a split empty). `None` loads all. Defaults to `None`.
        frames_per_quarter: int. Frames per quarter note: 1 as in JSB
            Chorales, 2 for eighth-note frames. Defaults to 1.

    Returns:
        dict with keys `"train"`, `"validation"`, `"test"`, each a list of
        bool arrays of shape `(frames, 88)`; column `k` is MIDI pitch `k + 21`.

    Raises:
        ValueError: if `num_chorales` or `frames_per_quarter` is not a
            positive integer (`num_chorales` may be None).
        ImportError: if music21 is not installed.
    """
    num_chorales = _validation.check_positive_int(
        "num_chorales", num_chorales, allow_none=True
    )
    frames_per_quarter = _validation.check_positive_int(
        "frames_per_quarter", frames_per_quarter
    )
    try:
        from music21 import corpus
    except ImportError as error:
        raise ImportError(
            "load_offline_chorales() needs music21: pip install music21 (or the "
            "`music` extra: pip install 'keras_rnncr[music]', from a clone "
            "pip install -e '.[music]')"
        ) from error

    splits = {"train": [], "validation": [], "test": []}
    loaded = 0
    for name in corpus.chorales.Iterator(returnType="filename"):
        if num_chorales is not None and loaded == num_chorales:
            break
        score = corpus.parse(name)
        if len(score.parts) != 4:
            continue
        loaded += 1
        bucket = zlib.crc32(name.encode("utf-8")) % 10
        split = {0: "test", 1: "validation"}.get(bucket, "train")
        splits[split].append(_score_to_roll(score, frames_per_quarter))
    return splits


def _score_to_roll(score, frames_per_quarter):
    """Samples the pitches sounding at each frame time of a music21 score."""
    num_frames = math.ceil(float(score.highestTime) * frames_per_quarter - 1e-9)
    frames = [set() for _ in range(num_frames)]
    for note in score.flatten().notes:
        start = float(note.offset) * frames_per_quarter
        end = start + float(note.quarterLength) * frames_per_quarter
        for t in range(math.ceil(start - 1e-9), min(math.ceil(end - 1e-9), num_frames)):
            frames[t].update(pitch.midi for pitch in note.pitches)
    roll = pitches_to_roll(frames)
    return np.asarray(roll, dtype=bool)
