"""How many parts of the batch the compiled fused loops run in (`_batch_parts`).

That the parts give the one-part gradients is checked against the float64
reference in `omega_correctness_test.py` (the `*_parts` cells) and against the
stored pass in `omega_streaming_test.py` (`xla_chunks_parts`).
"""

import dataclasses

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_rnncr
from keras_rnncr.layers import _batch_parts, _fused_simple_rnn


@pytest.fixture
def threads(monkeypatch):
    """Sets the cores and TensorFlow's thread settings `_batch_parts` reads."""

    def set_threads(cores, intra=0, inter=0, environment=None):
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (environment or {}).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(
            _batch_parts.os, "sched_getaffinity", lambda pid: set(range(cores))
        )
        monkeypatch.setattr(
            tf.config.threading, "get_intra_op_parallelism_threads", lambda: intra
        )
        monkeypatch.setattr(
            tf.config.threading, "get_inter_op_parallelism_threads", lambda: inter
        )

    return set_threads


@pytest.mark.parametrize(
    "cores, intra, inter, batch, parts",
    [
        (2, 0, 0, 64, 2),  # one part per core
        (2, 0, 0, 31, 1),  # parts of at least MIN_PART_ROWS rows
        (2, 0, 0, 32, 2),
        (8, 0, 0, 64, 4),
        (8, 3, 0, 64, 3),  # TensorFlow's intra-op threads, when set
        (8, 0, 1, 64, 1),  # inter-op threads: one runs the loops one by one
        (2, 0, 0, None, 2),  # batch size unknown when traced: as for 32 rows
        (2, 1, 0, None, 1),
        (16, 0, 0, None, 2),
    ],
)
def test_one_part_per_thread_of_enough_rows(threads, cores, intra, inter, batch, parts):
    threads(cores, intra, inter)
    assert _batch_parts.batch_parts(batch) == parts


@pytest.mark.parametrize(
    "environment, parts",
    [
        ({"TF_NUM_INTRAOP_THREADS": "1"}, 1),  # TensorFlow reads these too
        ({"TF_NUM_INTEROP_THREADS": "1"}, 1),
        ({"TF_NUM_INTRAOP_THREADS": "3"}, 3),
        ({"TF_NUM_INTRAOP_THREADS": "x"}, 4),  # not a number: the default
        ({"TF_NUM_INTRAOP_THREADS": "0"}, 4),
    ],
)
def test_thread_variables_of_the_environment_count(threads, environment, parts):
    threads(8, environment=environment)
    assert _batch_parts.batch_parts(64) == parts


def test_threads_set_through_the_api_win_over_the_environment(threads):
    threads(8, intra=2, environment={"TF_NUM_INTRAOP_THREADS": "1"})
    assert _batch_parts.batch_parts(64) == 2


def test_one_part_inside_a_step_that_xla_compiles(threads):
    threads(2)
    seen = []

    @tf.function(jit_compile=True)
    def step():
        seen.append(_batch_parts.batch_parts(64))
        return tf.zeros([])

    step()
    assert seen == [1]


@pytest.mark.parametrize("batch, parts", [(64, 2), (5, 2), (4, 3), (7, 7)])
def test_row_slices_cover_the_batch_in_order(batch, parts):
    slices = _batch_parts.row_slices(batch, parts)
    rows = [list(range(batch))[s] for s in slices]
    assert len(slices) == parts
    assert sum(rows, []) == list(range(batch))
    assert max(map(len, rows)) - min(map(len, rows)) <= 1


def test_parts_capped_by_the_rows():
    # omega_batch_parts=8 with 3 rows: 3 parts of one row, none empty.
    rnn = _fused_simple_rnn.Recurrence(
        inputs=tf.zeros([5, 3, 2]),
        initial_state=tf.zeros([3, 4]),
        kernel=tf.zeros([2, 4]),
        bias=tf.zeros([4]),
        has_bias=True,
        recurrent_kernel=tf.zeros([4, 4]),
        activation="tanh",
        step_mask=None,
        recurrent_mask=None,
        return_sequences=False,
        ratio="squared",
        backward="streaming",
        jit_compile=True,
        inputs_need_gradient=False,
        batch_parts=8,
    )
    assert [part.initial_state.shape[0] for _, part in rnn.parts()] == [1, 1, 1]
    # The stored pass and uncompiled loops are never split.
    assert len(dataclasses.replace(rnn, backward="stored").parts()) == 1
    assert len(dataclasses.replace(rnn, jit_compile=False).parts()) == 1


def test_auto_follows_the_layer_batch(threads):
    # The layer resolves "auto" from the batch size it is traced with.
    threads(2)
    layer = keras_rnncr.layers.SimpleRNN(4, omega=1.0)
    assert layer._omega_batch_parts(keras.KerasTensor((7, 64, 3))) == 2
    assert layer._omega_batch_parts(keras.KerasTensor((7, None, 3))) == 2
    assert layer._omega_batch_parts(keras.KerasTensor((7, 20, 3))) == 1
    fixed = keras_rnncr.layers.SimpleRNN(4, omega=1.0, omega_batch_parts=3)
    assert fixed._omega_batch_parts(keras.KerasTensor((7, None, 3))) == 3
    np.testing.assert_equal(fixed.get_config()["omega_batch_parts"], 3)


def test_parts_of_a_batch_known_only_when_the_step_runs(monkeypatch):
    # `fit` on arrays traces the step with an unknown batch size: the rows are
    # split when it runs, some parts empty when the batch has fewer rows than
    # parts (batches of 5 and 2 here, 3 parts). The weights after an epoch
    # are those of one part.
    split = []

    def row_slices(batch, parts):
        split.append((tf.is_tensor(batch), parts))
        return _batch_parts.row_slices(batch, parts)

    monkeypatch.setattr(_fused_simple_rnn, "row_slices", row_slices)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 6, 3)), rng.integers(0, 2, size=(7, 6))
    weights = []
    for parts in (1, 3):
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [
                keras.Input((6, 3), dtype="float64"),
                keras_rnncr.layers.SimpleRNN(
                    4,
                    omega=2.0,
                    omega_batch_parts=parts,
                    return_sequences=True,
                    dtype="float64",
                ),
                keras.layers.Dense(2, dtype="float64"),
            ]
        )
        model.compile(
            keras.optimizers.SGD(0.1),
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
        weights.append(model.get_weights())
    assert split and set(split) == {(True, 3)}  # traced split, sizes at run time
    for one, parted in zip(*weights):
        np.testing.assert_allclose(parted, one, rtol=1e-12, atol=1e-14)
