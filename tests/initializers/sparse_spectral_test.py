"""Tests for the sparse, spectral-radius-rescaled recurrent initializer."""

import inspect

import keras
import numpy as np
import pytest

from keras_rnncr.initializers import SparseSpectral


def _radius(weights):
    return np.max(np.abs(np.linalg.eigvals(np.asarray(weights, dtype=np.float64))))


def test_rows_keep_fifteen_nonzeros_and_radius_is_095():
    weights = np.asarray(SparseSpectral(seed=0)((50, 50)))
    assert weights.dtype == np.float32 and weights.shape == (50, 50)
    np.testing.assert_array_equal((weights != 0).sum(axis=1), 15)
    assert abs(_radius(weights) - 0.95) < 1e-5


def test_sparsity_pattern_is_random_per_row():
    weights = np.asarray(SparseSpectral(seed=1)((100, 100)))
    columns_per_row = [frozenset(np.flatnonzero(row)) for row in weights != 0]
    assert len(set(columns_per_row)) == 100
    column_counts = (weights != 0).sum(axis=0)  # mean 15 incoming per column
    assert column_counts.min() >= 3 and column_counts.max() <= 30


def test_nonzero_values_are_centred_gaussian():
    initializer = SparseSpectral(spectral_radius=1.0, seed=2)
    weights = np.asarray(initializer((400, 400)), dtype=np.float64)
    values = weights[weights != 0]
    assert values.size == 400 * 15
    standardized = values / values.std()
    assert abs(values.mean()) < 0.05 * values.std()
    assert abs(np.mean(standardized**4) - 3.0) < 0.3  # Gaussian kurtosis


@pytest.mark.parametrize("spectral_radius, num_nonzero", [(1.1, 5), (0.5, 15)])
def test_other_settings(spectral_radius, num_nonzero):
    initializer = SparseSpectral(num_nonzero, spectral_radius, seed=3)
    weights = np.asarray(initializer((30, 30)))
    np.testing.assert_array_equal((weights != 0).sum(axis=1), num_nonzero)
    assert abs(_radius(weights) - spectral_radius) < 1e-5


def test_small_matrix_stays_dense():
    weights = np.asarray(SparseSpectral(seed=4)((10, 10)))
    assert (weights != 0).all()
    assert abs(_radius(weights) - 0.95) < 1e-5


def test_seed_determinism_and_dtype():
    first = np.asarray(SparseSpectral(seed=5)((20, 20)))
    again = np.asarray(SparseSpectral(seed=5)((20, 20)))
    other = np.asarray(SparseSpectral(seed=6)((20, 20)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    unseeded = SparseSpectral()
    assert not np.array_equal(np.asarray(unseeded((20, 20))), unseeded((20, 20)))
    assert SparseSpectral(seed=5)((20, 20), dtype="float64").dtype == "float64"


def test_rejects_non_square_shape():
    with pytest.raises(ValueError, match=r"square .* Received: shape=\(3, 4\)"):
        SparseSpectral()((3, 4))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"num_nonzero": 0},
            "Argument `num_nonzero` must be a positive integer. Received: "
            "num_nonzero=0",
        ),
        (
            {"spectral_radius": 0.0},
            "Argument `spectral_radius` must be a positive float. Received: "
            "spectral_radius=0.0",
        ),
        (
            {"stddev": -1.0},
            "Argument `stddev` must be a positive float. Received: stddev=-1.0",
        ),
        (
            {"seed": "a"},
            "Argument `seed` must be a non-negative integer or None. Received: "
            "seed='a'",
        ),
        (
            {"spectral_radius": float("inf")},
            "Argument `spectral_radius` must be a positive float. Received: "
            "spectral_radius=inf",
        ),
        (
            {"stddev": float("nan")},
            "Argument `stddev` must be a positive float. Received: stddev=nan",
        ),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError) as error:
        SparseSpectral(**kwargs)
    assert str(error.value) == message


def test_config_is_complete_and_round_trips():
    initializer = SparseSpectral(num_nonzero=7, spectral_radius=1.2, seed=9)
    config = initializer.get_config()
    arguments = set(inspect.signature(SparseSpectral.__init__).parameters) - {"self"}
    assert set(config) == arguments
    restored = keras.initializers.deserialize(keras.initializers.serialize(initializer))
    assert isinstance(restored, SparseSpectral)
    assert restored.get_config() == config
    np.testing.assert_array_equal(restored((20, 20)), initializer((20, 20)))


def test_model_save_and_load(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((None, 3)),
            keras.layers.SimpleRNN(
                20, recurrent_initializer=SparseSpectral(num_nonzero=4, seed=0)
            ),
        ]
    )
    recurrent = np.asarray(model.layers[0].cell.recurrent_kernel)
    np.testing.assert_array_equal((recurrent != 0).sum(axis=1), 4)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    cell = restored.layers[0].cell
    assert isinstance(cell.recurrent_initializer, SparseSpectral)
    assert cell.recurrent_initializer.get_config()["num_nonzero"] == 4
    np.testing.assert_array_equal(np.asarray(cell.recurrent_kernel), recurrent)


def test_values_that_cannot_be_rescaled_are_refused():
    with pytest.raises(ValueError, match="Argument `stddev` is too small or too large"):
        SparseSpectral(stddev=1e-320, seed=0)((20, 20))
    with pytest.raises(ValueError, match="Argument `spectral_radius` gives weights"):
        SparseSpectral(spectral_radius=1e40, seed=0)((20, 20), dtype="float32")
    weights = SparseSpectral(spectral_radius=1e40, seed=0)((20, 20), dtype="float64")
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(weights)))
