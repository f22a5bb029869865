"""Piano rolls as next-frame prediction datasets: 200-step chunks, full pieces."""

import numpy as np
import tensorflow as tf

from keras_rnncr import _validation
from keras_rnncr.music._rolls import check_binary

# The four configs of the `polyphonic_music` TFDS builder, and the offline
# stand-in from music21 (not comparable with published numbers).
DATASETS = (
    "jsb_chorales",
    "nottingham",
    "muse_data",
    "piano_midi",
    "offline_chorales",
)
SPLITS = ("train", "validation", "test")


def load_piano_rolls(dataset, data_dir=None, manual_dir=None, num_chorales=None):
    """Returns `{split: [bool (frames, 88) array, ...]}` for a music corpus.

    Args:
        dataset: str, one of `DATASETS`. `"offline_chorales"` parses Bach
            chorales bundled with music21 (`keras_rnncr.datasets.
            load_offline_chorales`), **a substitute for JSB Chorales** whose
            NLL is not comparable with published numbers; the others are
            configs of the TFDS builder `polyphonic_music`.
        data_dir: str or None, where TFDS keeps prepared data. Defaults to
            TFDS's default (`~/tensorflow_datasets`).
        manual_dir: str or None, a folder with the `.mat` or `.pickle` files
            (e.g. `JSB_Chorales.mat`), which must then hold the dataset's file
            (`FileNotFoundError` otherwise); without it, TFDS downloads them.
            TFDS prepares a dataset once per `data_dir`: once it is prepared,
            `manual_dir` must still exist but is not read again.
        num_chorales: int or None, for `"offline_chorales"` only: load only
            the first `num_chorales` chorales (quick runs).
    """
    if dataset not in DATASETS:
        raise ValueError(
            f"Argument `dataset` must be one of {DATASETS}. "
            f"Received: dataset={dataset!r}"
        )
    if num_chorales is not None and dataset != "offline_chorales":
        raise ValueError(
            'Argument `num_chorales` applies to dataset="offline_chorales" only. '
            f"Received: num_chorales={num_chorales!r}, dataset={dataset!r}"
        )
    if dataset == "offline_chorales":
        from keras_rnncr.datasets import load_offline_chorales

        return load_offline_chorales(num_chorales=num_chorales)
    import tensorflow_datasets as tfds

    import keras_rnncr.datasets  # noqa: F401  (registers the builder)

    builder = tfds.builder(f"polyphonic_music/{dataset}", data_dir=data_dir)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=manual_dir)
    )
    return {
        split: [np.asarray(example["roll"], dtype=bool) for example in rows]
        for split, rows in (
            (split, tfds.as_numpy(builder.as_dataset(split=split))) for split in SPLITS
        )
    }


def split_into_subsequences(rolls, length=200):
    """Cuts pieces into consecutive chunks of `length` predicted frames.

    A chunk holds `length + 1` frames (its inputs are frames `0..length-1`,
    its targets frames `1..length`), and consecutive chunks share one frame,
    so every frame transition of a piece is trained on exactly once. The last
    chunk of a piece may be shorter; pieces shorter than `length + 1` frames
    are kept whole. One-frame leftovers (no transition) are dropped.

    Pascanu, Mikolov & Bengio, ICML 2013 (arXiv v2 appendix): the music
    models are trained on sequences of 200 steps.

    Args:
        rolls: list of `(frames, keys)` arrays.
        length: positive int, predicted frames per chunk. Defaults to 200.

    Returns:
        A list of arrays with 2 to `length + 1` frames each.
    """
    length = _validation.check_positive_int("length", length)
    rolls = _roll_list(rolls)
    chunks = []
    for roll in rolls:
        for start in range(0, max(len(roll) - 1, 0), length):
            chunks.append(roll[start : start + length + 1])
    return chunks


def _roll_list(rolls):
    """`rolls` as a list, refused if it is one array (a single piece's
    `(frames, keys)` array would otherwise be read as pieces of one frame
    each) or holds arrays that are not 2-D."""
    if isinstance(rolls, np.ndarray) and rolls.dtype != object:
        raise ValueError(
            "Argument `rolls` must be a list of `(frames, keys)` arrays, one per "
            f"sequence. Received: one array of shape {rolls.shape} (for one "
            "sequence, pass `[roll]`)"
        )
    rolls = list(rolls)
    shapes = sorted({np.shape(roll) for roll in rolls if np.ndim(roll) != 2})
    if shapes:
        raise ValueError(
            "Argument `rolls` must hold 2-D `(frames, keys)` arrays. Received "
            f"arrays of shapes {shapes[:3]}"
        )
    return rolls


def _training_rolls(rolls):
    """`rolls` as float32 arrays, those of 2 frames or more, checked: 2-D, of
    0s and 1s, all with the same number of keys, at least one."""
    rolls = _roll_list(rolls)
    for index, roll in enumerate(rolls):
        check_binary("rolls", roll, index)
    rolls = [np.asarray(roll, dtype=np.float32) for roll in rolls]
    shapes = sorted({roll.shape[1:] for roll in rolls})  # 2-D (`_roll_list`)
    if len(shapes) > 1:
        raise ValueError(
            "Argument `rolls` must hold 2-D `(frames, keys)` arrays with the same "
            f"number of keys. Received arrays of shapes (frames, ...) + {shapes}"
        )
    rolls = [roll for roll in rolls if len(roll) >= 2]
    if not rolls:
        raise ValueError("Argument `rolls` holds no sequence of 2 frames or more.")
    return rolls


def next_frame_dataset(rolls, batch_size, shuffle=False, seed=None):
    """A `tf.data.Dataset` of `(inputs, targets, frame_weights)` batches.

    For each sequence `x` of frames, `inputs = x[:-1]` and `targets = x[1:]`
    (predict frame `t + 1` from frames `0..t`; the first frame is given, not
    predicted). Sequences in a batch are padded at the end with zero frames to
    the batch's longest one; `frame_weights` is 1 on real targets and 0 on
    padding, so a loss or metric averaged with these weights counts every real
    frame once (the mean over all frames of the data).

    Without `shuffle`, sequences are sorted by length first, which keeps
    padding small when evaluating on whole pieces.

    Args:
        rolls: list of `(frames, keys)` arrays of at least 2 frames (e.g. from
            `split_into_subsequences`, or whole pieces for evaluation).
        batch_size: positive int.
        shuffle: bool, reshuffle the sequences at every epoch. Defaults to
            `False`.
        seed: int or None, the shuffling seed.

    Returns:
        A dataset of float32 `(batch, time, keys)` inputs and targets and
        float32 `(batch, time)` weights.
    """
    batch_size = _validation.check_positive_int("batch_size", batch_size)
    shuffle = _validation.check_bool("shuffle", shuffle)
    seed = _validation.check_seed(seed)
    rolls = _training_rolls(rolls)
    if not shuffle:
        rolls = sorted(rolls, key=len)
    num_keys = rolls[0].shape[1]
    dataset = tf.data.Dataset.from_generator(
        lambda: iter(rolls),
        output_signature=tf.TensorSpec((None, num_keys), tf.float32),
    ).apply(tf.data.experimental.assert_cardinality(len(rolls)))
    if shuffle:
        dataset = dataset.shuffle(len(rolls), seed=seed, reshuffle_each_iteration=True)
    return dataset.map(_shift).padded_batch(batch_size).prefetch(2)


def next_frame_epochs(rolls, batch_size, seed=0, initial_epoch=0):
    """Endless training batches, each epoch in an order fixed by `(seed, epoch)`.

    Like `next_frame_dataset(rolls, batch_size, shuffle=True)`, but the order
    of epoch `e` is the permutation `np.random.default_rng([seed, e])` draws,
    whatever the process has done before, and the epochs follow each other in
    one dataset that never ends. A run resumed at epoch `e`
    (`keras_rnncr.callbacks.TrainingCheckpoint`) with
    `initial_epoch=e` therefore sees the batches the uninterrupted run saw.
    A batch never mixes two epochs (the last one of an epoch may be smaller).
    Pass `steps_per_epoch` to `fit`:

    ```python
    data, steps = next_frame_epochs(chunks, 4, seed=0, initial_epoch=epoch)
    model.fit(data, steps_per_epoch=steps, initial_epoch=epoch, epochs=...)
    ```

    Args:
        rolls: list of `(frames, keys)` arrays (sequences of fewer than 2
            frames are dropped).
        batch_size: positive int.
        seed: int >= 0, the seed of the orders. Defaults to 0.
        initial_epoch: int >= 0, the epoch of the first batch. Defaults to 0.

    Returns:
        `(dataset, steps_per_epoch)`: the endless dataset of float32
        `(inputs, targets, frame_weights)` batches, as in `next_frame_dataset`,
        and the number of batches in one epoch.
    """
    batch_size = _validation.check_positive_int("batch_size", batch_size)
    seed = _validation.check_non_negative_int("seed", seed)
    initial_epoch = _validation.check_non_negative_int("initial_epoch", initial_epoch)
    rolls = _training_rolls(rolls)
    num_keys = rolls[0].shape[1]

    def one_epoch(epoch):
        order = np.random.default_rng([seed, int(epoch)]).permutation(len(rolls))
        for index in order:
            yield rolls[index]

    def epoch_batches(epoch):
        return (
            tf.data.Dataset.from_generator(
                one_epoch,
                args=(epoch,),
                output_signature=tf.TensorSpec((None, num_keys), tf.float32),
            )
            .map(_shift)
            .padded_batch(batch_size)
        )

    dataset = tf.data.Dataset.range(initial_epoch, np.iinfo(np.int64).max)
    dataset = dataset.flat_map(epoch_batches).prefetch(2)
    return dataset, -(-len(rolls) // batch_size)


def _shift(x):
    return x[:-1], x[1:], tf.ones(tf.shape(x)[:1] - 1, tf.float32)


def count_frames(rolls):
    """Number of predicted frames (`frames - 1` per sequence) in `rolls`."""
    return int(sum(max(len(roll) - 1, 0) for roll in rolls))
