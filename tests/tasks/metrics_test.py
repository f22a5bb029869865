"""Tests for the paper's error criteria as functions and Keras metrics."""

import inspect

import keras
import numpy as np
import pytest

from keras_rnncr import tasks


def test_sequence_errors_last_step():
    y_true = np.array([0, 1, 2, 3])
    y_pred = np.array(
        [[0.7, 0.1, 0.1, 0.1], [0.7, 0.1, 0.1, 0.1], [0, 0, 5, 1], [0, 0, 5, 1]]
    )
    errors = tasks.sequence_errors(y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(errors), [0.0, 1.0, 0.0, 1.0])


def test_sequence_errors_per_step_any_step_wrong():
    y_true = np.array([[0, 1, 1], [0, 1, 1]])
    eye = np.eye(2, dtype=np.float32)
    y_pred = np.stack([eye[[0, 1, 1]], eye[[0, 1, 0]]])  # second: last step wrong
    errors = tasks.sequence_errors(y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(errors), [0.0, 1.0])


def test_sequence_errors_accepts_trailing_unit_axis_and_flags_nan():
    y_true = np.array([[1], [1]])
    y_pred = np.array([[0.0, 1.0], [np.nan, 1.0]])
    np.testing.assert_array_equal(
        np.asarray(tasks.sequence_errors(y_true, y_pred)), [0.0, 1.0]
    )


def test_one_dimensional_predictions_are_one_output_per_sequence():
    y_true = np.array([0.5, 0.5, 0.1, 0.9], "float32")
    y_pred = np.array([0.6, 0.8, 0.1, 0.9], "float32")
    errors = np.asarray(tasks.squared_error_exceeds(y_true, y_pred))
    np.testing.assert_array_equal(errors, [0.0, 1.0, 0.0, 0.0])
    metric = tasks.SquaredErrorRate()
    metric.update_state(y_true, y_pred)
    assert float(metric.result()) == pytest.approx(0.25)


def test_squared_error_exceeds_threshold():
    y_true = np.array([[0.5], [0.5], [0.5], [0.5]], dtype=np.float32)
    y_pred = np.array([[0.5], [0.69], [0.29], [np.nan]], dtype=np.float32)
    errors = tasks.squared_error_exceeds(y_true, y_pred)
    np.testing.assert_array_equal(np.asarray(errors), [0.0, 0.0, 1.0, 1.0])
    errors = tasks.squared_error_exceeds(y_true[:, 0], y_pred, threshold=0.01)
    np.testing.assert_array_equal(np.asarray(errors), [0.0, 1.0, 1.0, 1.0])


def test_metrics_accumulate_fractions():
    metric = tasks.SequenceErrorRate()
    metric.update_state([0, 1], [[0.9, 0.1], [0.8, 0.2]])
    metric.update_state([0, 0], [[0.9, 0.1], [0.8, 0.2]])
    assert float(metric.result()) == pytest.approx(0.25)
    metric = tasks.SquaredErrorRate()
    metric.update_state([[0.0], [0.0], [0.0]], [[0.1], [0.3], [-0.3]])
    assert float(metric.result()) == pytest.approx(2 / 3)
    assert metric.name == "squared_error_rate"


@pytest.mark.parametrize(
    "metric", [tasks.SequenceErrorRate(name="err"), tasks.SquaredErrorRate(0.09)]
)
def test_config_complete_and_round_trip(metric):
    config = metric.get_config()
    arguments = set(inspect.signature(type(metric).__init__).parameters) - {"self"}
    assert arguments <= set(config)
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(metric)
    )
    assert type(restored) is type(metric)
    assert restored.get_config() == config
    assert keras.metrics.deserialize(keras.metrics.serialize(metric)).get_config() == (
        config
    )


@pytest.mark.parametrize("threshold", [-0.1, "0.04", True, float("nan"), float("inf")])
def test_squared_error_rate_rejects_bad_threshold(threshold):
    with pytest.raises(
        ValueError,
        match=rf"Argument `threshold` must be a non-negative float. "
        rf"Received: threshold={threshold!r}",
    ):
        tasks.SquaredErrorRate(threshold)


def test_metric_survives_keras_save_and_load(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("sgd", "mse", metrics=[tasks.SquaredErrorRate(threshold=0.5)])
    model.evaluate(np.zeros((4, 3)), np.zeros((4, 2)), verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    results = restored.evaluate(np.zeros((4, 3)), np.ones((4, 2)), return_dict=True)
    assert "squared_error_rate" in results


def _per_step_case():
    """Two sequences of 4 steps, 3 classes: the first wrong only at step 0,
    the second right everywhere."""
    y_true = np.array([[0, 1, 2, 1], [2, 2, 0, 1]])
    y_pred = keras.ops.one_hot(y_true, 3).numpy()
    y_pred[0, 0] = [0.0, 1.0, 0.0]
    return y_true, y_pred


@pytest.mark.parametrize(
    "weight, expected",
    [
        (None, 0.5),
        ([1.0, 1.0], 0.5),
        ([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], 0.5),
        # the wrong step left out: no sequence is wrong
        ([[0.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]], 0.0),
        # the right sequence left out entirely: only the wrong one counts
        ([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]], 1.0),
        ([[[1.0]] * 4, [[0.0]] * 4], 1.0),  # a trailing axis of 1
    ],
)
def test_sequence_error_rate_takes_per_step_weights(weight, expected):
    y_true, y_pred = _per_step_case()
    metric = tasks.SequenceErrorRate()
    metric.update_state(y_true, y_pred, sample_weight=weight)
    assert float(metric.result()) == pytest.approx(expected)


def test_sequence_error_rate_leaves_masked_steps_out_under_evaluate():
    # A per-step model behind a Masking layer: Keras passes the mask on.
    inputs = keras.Input((None, 2))
    masked = keras.layers.Masking(0.0)(inputs)
    outputs = keras.layers.Dense(3, activation="softmax")(masked)
    model = keras.Model(inputs, outputs)
    model.layers[-1].set_weights([np.array([[5.0, 0, 0], [0, 5.0, 0]]), np.zeros(3)])
    model.compile(
        loss="sparse_categorical_crossentropy",
        metrics=[tasks.SequenceErrorRate()],
        jit_compile=False,
    )
    x = np.array([[[1.0, 0], [0, 1.0], [0, 0]], [[0, 1.0], [0, 1.0], [1.0, 0]]])
    # Step 2 of the first sequence is masked and "wrong"; the second sequence
    # is wrong at step 2.
    y = np.array([[0, 1, 2], [1, 1, 2]])
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert logs["sequence_error_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize("time", [2, 4])  # time == batch once: no silent pairing
def test_a_mask_and_per_sequence_weights_combine(time):
    y_true = np.zeros((2, time), int)
    y_pred = keras.ops.one_hot(y_true, 3).numpy()
    y_pred[0, 0] = [0.0, 1.0, 0.0]  # the first sequence wrong at step 0
    y_pred = keras.ops.convert_to_tensor(y_pred)
    y_pred._keras_mask = keras.ops.ones((2, time), "bool")  # as Masking leaves it
    for weight, expected in (([1.0, 0.0], 1.0), ([0.0, 1.0], 0.0)):
        metric = tasks.SequenceErrorRate()
        metric.update_state(y_true, y_pred, sample_weight=weight)
        assert float(metric.result()) == pytest.approx(expected)
