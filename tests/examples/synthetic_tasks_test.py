"""End-to-end tests of examples/synthetic_tasks.py at a tiny budget."""

import json
import warnings

import keras_rnncr

_TINY = [
    "--min-length=10",
    "--max-length=11",
    "--units=4",
    "--max-updates=20",
    "--eval-every=10",
    "--eval-sequences=20",
    "--verbose=0",
]


def test_example_writes_every_output_and_labels_its_curves(
    tmp_path, load_example, monkeypatch
):
    figures = []
    plot_history = keras_rnncr.diagnostics.plot_history

    def recording(*args, **kwargs):
        figures.append(plot_history(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(keras_rnncr.diagnostics, "plot_history", recording)
    output = tmp_path / "run"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = load_example("synthetic_tasks").main(_TINY + [f"--output={output}"])
    assert not [w for w in caught if "shuffle" in str(w.message)]
    for name in ("history.json", "curves.png", "model.keras"):
        assert (output / name).is_file(), name
    assert (output / "saved_model" / "saved_model.pb").is_file()
    written = json.loads((output / "history.json").read_text())
    assert written["updates"] == summary["updates"] == 20
    assert written["args"]["omega"] == 4.0
    (figure,) = figures
    titles = [axis.get_title() for axis in figure.axes]
    error = figure.axes[titles.index("val_error_percent")]
    assert error.get_ylabel() == "errors on fresh sequences (%)"
    assert list(error.lines[-1].get_ydata()) == [1.0, 1.0]  # the success line
    assert all(
        axis.get_xlabel() == "updates" and axis.get_ylabel() for axis in figure.axes
    )


def test_same_seed_gives_the_same_run(tmp_path, load_example):
    example = load_example("synthetic_tasks")
    runs = [
        example.main(_TINY + ["--no-export", f"--output={tmp_path / str(i)}"])
        for i in range(2)
    ]
    assert runs[0]["history"] == runs[1]["history"]
    other = example.main(_TINY + ["--no-export", "--seed=1", f"--output={tmp_path}"])
    assert other["history"]["loss"] != runs[0]["history"]["loss"]
