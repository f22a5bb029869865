"""Tests for keras_rnncr.diagnostics.plot_history."""

import pytest

from keras_rnncr.diagnostics import plot_history

pytest.importorskip("matplotlib")


def test_one_panel_per_key_with_validation_overlay(tmp_path):
    history = {
        "loss": [3.0, 2.0, 1.5],
        "val_loss": [3.1, 2.2, 1.9],
        "rnn_omega": [1, 0.5, 0.2],
    }
    path = tmp_path / "curves.png"
    figure = plot_history(history, path)
    assert path.stat().st_size > 0
    assert [axis.get_title() for axis in figure.axes] == ["loss", "rnn_omega"]
    assert len(figure.axes[0].lines) == 2  # train and validation
    assert len(figure.axes[1].lines) == 1


def test_custom_x_values():
    figure = plot_history({"loss": [1.0, 0.5]}, x=[1000, 2000], x_label="updates")
    assert list(figure.axes[0].lines[0].get_xdata()) == [1000, 2000]
    assert figure.axes[0].get_xlabel() == "updates"


def test_bad_history_and_keys():
    with pytest.raises(TypeError, match="Argument `history`"):
        plot_history([1, 2, 3])
    with pytest.raises(
        ValueError, match=r"None of the requested keys.*Received: keys=\['accuracy'\]"
    ):
        plot_history({"loss": [1.0]}, keys=["accuracy"])
    with pytest.raises(TypeError, match="Argument `keys` must be a list of names"):
        plot_history({"loss": [1.0]}, keys="loss")
    with pytest.raises(ValueError, match="Argument `x` must give a value for each"):
        plot_history({"loss": [1.0, 0.5, 0.2]}, x=[1, 2])


def test_few_points_are_drawn_as_markers():
    # One epoch logs one point per key: a line alone would leave the panel empty.
    figure = plot_history({"loss": [1.0], "val_loss": [1.2]})
    assert [line.get_marker() for line in figure.axes[0].lines] == ["o", "o"]
    long_run = plot_history({"loss": list(range(50))})
    assert long_run.axes[0].lines[0].get_marker() in ("None", None, "")


def test_y_labels_and_reference_lines():
    figure = plot_history(
        {"loss": [1.0, 0.5], "val_error_percent": [40.0, 0.5]},
        keys=["loss", "val_error_percent"],
        y_labels={"loss": "cross-entropy (nats)"},
        reference_lines={"val_error_percent": (1.0, "success: 1% errors")},
    )
    loss, error = figure.axes
    assert (loss.get_ylabel(), error.get_ylabel()) == ("cross-entropy (nats)", "")
    assert len(loss.lines) == 1
    success = error.lines[-1]
    assert list(success.get_ydata()) == [1.0, 1.0]
    assert success.get_linestyle() == "--"
    legend = [text.get_text() for text in error.get_legend().get_texts()]
    assert "success: 1% errors" in legend
    assert "validation" in legend and "train" not in legend  # a val_ key plotted


def test_validation_on_some_epochs_needs_its_x_values():
    # fit(validation_freq=2) over 6 epochs: validation after epochs 2, 4, 6.
    history = {"loss": [6.0, 5.0, 4.0, 3.0, 2.0, 1.0], "val_loss": [5.1, 3.1, 1.1]}
    with pytest.raises(ValueError, match=r"`val_loss` has 3 points and `loss` 6.*"):
        plot_history(history)
    figure = plot_history(history, validation_x=[2, 4, 6])
    train, validation = figure.axes[0].lines
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert list(validation.get_xdata()) == [2, 4, 6]
    with pytest.raises(ValueError, match="`validation_x` must give a value for each"):
        plot_history(history, validation_x=[2, 4])


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"history": {"loss": 3.0}}, r"`history` must map each name to a list"),
        ({"history": {"loss": ["a", "b"]}}, r"`history` must map each name to a list"),
        ({"x": 5}, r"Argument `x` must be a sequence of numbers"),
        ({"x": ["a", "b", "c"]}, r"Argument `x` must be a sequence of numbers"),
        ({"validation_x": [[1], [2]]}, r"`validation_x` must be a sequence"),
        ({"y_labels": ["a"]}, r"Argument `y_labels` must be a dict"),
        ({"reference_lines": {"loss": 0.5}}, r"`reference_lines` must map each key"),
        ({"reference_lines": {"loss": ("x", "y")}}, r"reference_lines\['loss'\]"),
        ({"reference_lines": [0.5]}, r"Argument `reference_lines` must be a dict"),
    ],
)
def test_bad_arguments_are_named(arguments, message):
    arguments = {"history": {"loss": [3.0, 2.0], "val_loss": [3.5, 2.5]}, **arguments}
    with pytest.raises(ValueError, match=message):
        plot_history(**arguments)


def test_x_may_be_a_generator():
    figure = plot_history(
        {"loss": [3.0, 2.0], "val_loss": [3.5]},
        x=(10 * i for i in (1, 2)),
        validation_x=(v for v in (20,)),
    )
    lines = figure.axes[0].get_lines()
    assert list(lines[0].get_xdata()) == [10, 20]
    assert list(lines[1].get_xdata()) == [20]


def test_a_figure_that_cannot_be_saved_is_closed(tmp_path):
    import matplotlib.pyplot as plt

    plt.close("all")
    figure = plot_history({"loss": [1.0, 0.5]}, tmp_path / "curves.png")
    assert plt.gcf() is figure  # open, as plt.subplots leaves it
    plt.close(figure)
    with pytest.raises(ValueError):
        plot_history({"loss": [1.0, 0.5]}, tmp_path / "curves.unknown_format")
    assert plt.get_fignums() == []


def test_a_longer_validation_curve_is_explained():
    with pytest.raises(ValueError, match="more validation points than training"):
        plot_history({"loss": [1.0], "val_loss": [1.0, 0.5]})
