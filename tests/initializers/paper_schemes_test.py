"""Tests for the three initialisation schemes of the paper's experiments."""

import keras
import numpy as np
import pytest

from keras_rnncr.initializers import PAPER_SCHEMES, SparseSpectral, paper_initializers


@pytest.mark.parametrize(
    "scheme, activation, stddev",
    [
        ("sigmoid", "sigmoid", 0.01),
        ("basic_tanh", "tanh", 0.1),
        ("smart_tanh", "tanh", 0.01),
    ],
)
def test_statistics_and_activation(scheme, activation, stddev):
    init = paper_initializers(scheme, seed=0)
    assert init["activation"] == activation
    for key in ("kernel_initializer", "output_initializer"):
        values = np.asarray(init[key]((200, 200)))
        assert abs(values.mean()) < 0.05 * stddev
        assert values.std() == pytest.approx(stddev, rel=0.03)
    recurrent = np.asarray(init["recurrent_initializer"]((200, 200)))
    if scheme == "smart_tanh":
        np.testing.assert_array_equal((recurrent != 0).sum(axis=1), 15)
        radius = np.max(np.abs(np.linalg.eigvals(recurrent.astype(np.float64))))
        assert abs(radius - 0.95) < 1e-5
    else:
        assert recurrent.std() == pytest.approx(stddev, rel=0.03)


def test_seeds_are_deterministic_and_distinct_per_matrix():
    first = paper_initializers("basic_tanh", seed=1)
    again = paper_initializers("basic_tanh", seed=1)
    shape = (6, 6)
    matrices = {
        key: np.asarray(first[key](shape)) for key in first if key != "activation"
    }
    for key, value in matrices.items():
        np.testing.assert_array_equal(value, again[key](shape))
    assert not np.array_equal(
        matrices["kernel_initializer"], matrices["recurrent_initializer"]
    )
    assert not np.array_equal(
        matrices["kernel_initializer"], matrices["output_initializer"]
    )


@pytest.mark.parametrize("scheme", ["basic_tanh", "sigmoid"])
def test_no_two_seeds_share_random_numbers(scheme):
    # Keras's seeded initializers draw the same numbers for the same seed
    # whatever the shape: per-matrix seeds must not collide across seeds.
    drawn = []
    for seed in range(4):
        init = paper_initializers(scheme, seed=seed)
        for key in (
            "kernel_initializer",
            "recurrent_initializer",
            "output_initializer",
        ):
            drawn.append(np.asarray(init[key]((6, 5))).ravel())
    values = np.concatenate(drawn)
    assert len(np.unique(values)) == len(values)


def test_seed_zero_keeps_its_initialisation():
    # The published seed-0 runs were initialised with seeds 0, 1, 2.
    init = paper_initializers("basic_tanh", seed=0)
    for k, key in enumerate(
        ("kernel_initializer", "recurrent_initializer", "output_initializer")
    ):
        expected = keras.initializers.RandomNormal(stddev=0.1, seed=k)((4, 3))
        np.testing.assert_array_equal(init[key]((4, 3)), expected)


def test_smart_tanh_uses_sparse_spectral_and_builds_a_model():
    init = paper_initializers("smart_tanh", seed=0)
    assert isinstance(init["recurrent_initializer"], SparseSpectral)
    rnn = keras.layers.SimpleRNN(
        50,
        activation=init["activation"],
        kernel_initializer=init["kernel_initializer"],
        recurrent_initializer=init["recurrent_initializer"],
    )
    model = keras.Sequential(
        [
            keras.Input((None, 6)),
            rnn,
            keras.layers.Dense(4, kernel_initializer=init["output_initializer"]),
        ]
    )
    assert model(np.zeros((2, 5, 6), dtype=np.float32)).shape == (2, 4)
    np.testing.assert_array_equal(np.asarray(rnn.cell.bias), 0.0)


def test_schemes_listed():
    assert set(PAPER_SCHEMES) == {"sigmoid", "basic_tanh", "smart_tanh"}


def test_rejects_unknown_scheme_and_bad_seed():
    with pytest.raises(
        ValueError,
        match=r"Argument `scheme` must be one of .* Received: scheme='tanh'",
    ):
        paper_initializers("tanh")
    with pytest.raises(
        ValueError,
        match=r"Argument `seed` must be None or an integer in \[0, 715827881\]. "
        r"Received: seed=-3",
    ):
        paper_initializers("sigmoid", seed=-3)


def test_seeds_beyond_max_seed_are_refused():
    # TensorFlow reduces seeds modulo 2**31 - 2 = 3 * 715827882: seed s and
    # s + 715827882 drew the same weights.
    from keras_rnncr.initializers.paper_schemes import MAX_SEED

    assert 3 * MAX_SEED + 2 < 2**31 - 2
    last = paper_initializers("basic_tanh", seed=MAX_SEED)
    assert last["output_initializer"].seed == 3 * MAX_SEED + 2
    with pytest.raises(ValueError, match=r"Argument `seed` must be None or an integer"):
        paper_initializers("basic_tanh", seed=MAX_SEED + 1)
