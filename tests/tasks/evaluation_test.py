"""Tests for the paper's evaluation protocol on tiny models."""

import keras
import numpy as np
import pytest

from keras_rnncr import tasks
from keras_rnncr.tasks.evaluation import evaluate_predictions


def temporal_order_oracle(inputs):
    """Reads the two markers and scores the right class highest."""
    symbols = np.asarray(inputs).argmax(-1)
    classes = [
        row[row < 2][0] + 2 * row[row < 2][1] for row in symbols
    ]  # markers in order
    return np.eye(4, dtype=np.float32)[classes]


def addition_oracle(inputs):
    inputs = np.asarray(inputs)
    return (inputs[:, :, 0] * inputs[:, :, 1]).sum(1, keepdims=True) / 2


def memorization_oracle(inputs):
    inputs = np.asarray(inputs)
    steps = inputs.shape[1]
    pattern = inputs[:, :10].argmax(-1)
    classes = np.full((len(inputs), steps), 5)
    classes[:, -10:] = pattern
    return np.eye(6, dtype=np.float32)[classes]


@pytest.mark.parametrize(
    "task, oracle",
    [
        ("temporal_order", temporal_order_oracle),
        ("addition", addition_oracle),
        ("memorization", memorization_oracle),
    ],
)
def test_perfect_model_is_solved(task, oracle):
    result = tasks.evaluate_task(oracle, task, num_sequences=40, chunk_size=20, seed=0)
    assert result["num_errors"] == 0 and result["error_percent"] == 0.0
    assert result["success"] and result["solved_zero_errors"]


def test_wrong_model_fails_with_counted_errors():
    result = tasks.evaluate_task(
        lambda x: addition_oracle(x) + 0.3, "addition", num_sequences=30, seed=0
    )
    assert result["num_errors"] == 30 and result["error_percent"] == 100.0
    assert not result["success"] and not result["solved_zero_errors"]


def test_one_error_in_two_hundred_is_a_success_but_not_solved():
    calls = []

    def one_mistake(inputs):
        scores = temporal_order_oracle(inputs)
        if not calls:
            scores[0] = np.roll(scores[0], 1)
        calls.append(len(inputs))
        return scores

    result = tasks.evaluate_task(
        one_mistake, "temporal_order", num_sequences=200, chunk_size=100, seed=1
    )
    assert result["num_errors"] == 1 and result["error_percent"] == 0.5
    assert result["success"] and not result["solved_zero_errors"]
    assert result["chunk_errors"] == [1, 0]


def test_chunks_have_their_own_lengths_and_last_chunk_is_partial():
    sizes = []

    def model(inputs):
        sizes.append(inputs.shape[0])
        return addition_oracle(inputs)

    result = tasks.evaluate_task(
        model, "addition", num_sequences=95, chunk_size=10, min_length=20, seed=3
    )
    assert sizes == [10] * 9 + [5]
    assert all(20 <= length < 200 for length in result["chunk_lengths"])
    assert len(set(result["chunk_lengths"])) > 1
    for length, steps in zip(
        result["chunk_lengths"], result["chunk_steps"], strict=True
    ):
        assert length <= steps < 1.1 * length


def test_every_length_scores_each_length_of_the_range_equally():
    result = tasks.evaluate_task(
        addition_oracle,
        "addition",
        num_sequences=95,
        chunk_size=4,
        min_length=20,
        max_length=30,
        seed=3,
        lengths="every",
    )
    per_length = {}
    for length, steps in zip(
        result["chunk_lengths"], result["chunk_steps"], strict=True
    ):
        per_length[length] = per_length.get(length, 0) + 1
        assert length <= steps < 1.1 * length
    assert sorted(per_length) == list(range(20, 30))
    assert result["num_sequences"] == 95 and result["solved_zero_errors"]
    # 9 or 10 sequences per length, in chunks of at most 4.
    assert set(per_length.values()) == {3}


def test_every_length_finds_a_model_wrong_at_one_length():
    def wrong_at_57(inputs):
        scores = temporal_order_oracle(inputs)
        return np.roll(scores, 1, axis=-1) if inputs.shape[1] == 57 else scores

    kwargs = dict(num_sequences=1000, min_length=50, max_length=200, seed=0)
    every = tasks.evaluate_task(
        wrong_at_57, "temporal_order", lengths="every", **kwargs
    )
    assert every["num_errors"] in (6, 7)  # the sequences of length 57
    random = tasks.evaluate_task(wrong_at_57, "temporal_order", **kwargs)
    assert random["solved_zero_errors"]  # one random length drawn, not 57


def test_keras_model_and_determinism():
    model = keras.Sequential(
        [keras.Input((None, 6)), keras.layers.SimpleRNN(3), keras.layers.Dense(4)]
    )
    kwargs = dict(num_sequences=12, chunk_size=4, min_length=10, max_length=30, seed=2)
    first = tasks.evaluate_task(model, "temporal_order", **kwargs)
    second = tasks.evaluate_task(model, "temporal_order", **kwargs)
    assert first == second
    assert len(first["chunk_lengths"]) == 3
    assert 0 <= first["num_errors"] <= 12


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_sequences": 0}, "Received: num_sequences=0"),
        ({"chunk_size": -1}, "Received: chunk_size=-1"),
        ({"min_length": 5}, "at least 10 for the temporal order task"),
        ({"seed": 1.5}, "Received: seed=1.5"),
        ({"lengths": "all"}, r"`lengths` must be one of \('random', 'every'\)"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tasks.evaluate_task(temporal_order_oracle, "temporal_order", **kwargs)


def test_unknown_task_options_are_named_before_any_sequence_is_drawn():
    with pytest.raises(
        ValueError, match=r"task options of temporal order .* \['foo'\]"
    ):
        tasks.evaluate_task(temporal_order_oracle, "temporal_order", foo=1)


def test_evaluation_sequences_are_not_a_training_batch():
    # Training batch i of seed s is drawn from default_rng([s, i]); NumPy reads
    # default_rng(s) as batch 0's seed, which evaluation used to take.
    seen = []

    def record(inputs):
        seen.append(np.asarray(inputs))
        return [np.zeros((len(inputs), 4), "float32")]

    evaluate_predictions(
        record, "temporal_order", num_sequences=20, min_length=30, max_length=31, seed=7
    )
    data = tasks.temporal_order(batch_size=20, min_length=30, max_length=31, seed=7)
    first_batch = next(iter(data))[0].numpy()
    assert not np.array_equal(seen[0], first_batch)


def test_results_hold_python_numbers_for_numpy_arguments():
    import json

    def always_zero(inputs):
        return [np.zeros((len(inputs), 4), "float32")]

    (result,) = evaluate_predictions(
        always_zero,
        "temporal_order",
        num_sequences=np.int64(30),
        chunk_size=np.int64(10),
        min_length=np.int64(20),
        max_length=np.int64(22),
        seed=np.int64(1),
    )
    json.dumps(result)


def test_seeds_of_2_to_the_32_or_more_are_refused():
    with pytest.raises(ValueError, match="`seed` must be a non-negative integer below"):
        tasks.temporal_order(min_length=20, max_length=21, seed=2**32)
