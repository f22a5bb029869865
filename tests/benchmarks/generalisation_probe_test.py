"""generalisation_probe: linear read-outs of a saved task model's states."""

import json

import numpy as np
import pytest

from keras_rnncr.tasks import task_model


def test_records_head_and_readout_errors_at_each_mark(tmp_path, load_benchmark):
    script = load_benchmark("generalisation_probe")
    model = task_model("temporal_order", "sgd-cr", units=4, seed=0)
    model.save(tmp_path / "tiny.keras")
    output = tmp_path / "probe.json"
    record = script.main(
        [
            f"--models={tmp_path / 'tiny.keras'}",
            "--length=20",
            "--sequences=60",
            "--fit=40",
            "--fractions",
            "0.5",
            "1.0",
            f"--output={output}",
        ]
    )
    assert json.loads(output.read_text()) == json.loads(json.dumps(record))
    result = record["models"]["tiny.keras"]
    assert [r["step"] for r in result["readouts"]] == [10, 20]
    assert "class" not in result["readouts"][0] and "class" in result["readouts"][1]
    assert 0.0 <= result["head_error"] <= 1.0


def test_the_numpy_states_are_the_models(tmp_path, load_benchmark):
    # The probe reads the state a float64 NumPy loop computes; its head must
    # give the model's own predictions.
    script = load_benchmark("generalisation_probe")
    from keras_rnncr.tasks.temporal_order import temporal_order_batch

    model = task_model("temporal_order", "sgd-cr", units=6, seed=1)
    inputs, targets = temporal_order_batch(30, 50, np.random.default_rng(0))
    kernel, recurrent, bias, activation, head_kernel, head_bias = script.model_weights(
        model
    )
    state = np.zeros((50, 6))
    for t in range(30):
        state = activation(inputs[:, t] @ kernel + state @ recurrent + bias)
    logits = state @ head_kernel + head_bias
    probabilities = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    expected = model.predict(inputs, verbose=0)  # the head's softmax
    np.testing.assert_allclose(probabilities, expected, rtol=1e-4, atol=1e-6)


def test_fit_must_leave_sequences_to_score(load_benchmark):
    script = load_benchmark("generalisation_probe")
    with pytest.raises(SystemExit):
        script.parse_args(["--sequences=10", "--fit=10"])
