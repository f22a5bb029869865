"""generalisation_finetune: a saved task model trained on and screened."""

import json

import pytest

from keras_rnncr.tasks import task_model


@pytest.mark.parametrize("method", ["sgd-c", "sgd-cr"])
def test_an_unsolved_model_trains_to_its_budget_and_is_recorded(
    tmp_path, load_benchmark, method
):
    script = load_benchmark("generalisation_finetune")
    model = task_model("temporal_order", "sgd-cr", units=4, seed=0)
    model.save(tmp_path / "tiny.keras")
    output = tmp_path / "record.json"
    script.main(
        [
            f"--model={tmp_path / 'tiny.keras'}",
            f"--method={method}",
            "--min-length=12",
            "--max-length=14",
            "--budget=6",
            "--screen-every=3",
            f"--output={output}",
        ]
    )
    record = json.loads(output.read_text())
    # At chance after 6 updates: two screens, no stop, no long-length scores.
    assert [s["updates"] for s in record["screens"]] == [3, 6]
    assert all(s["screen_errors"] > 0 for s in record["screens"])
    assert record["stopped_at"] is None and record["long"] == {}
    assert record["command"]["method"] == method
