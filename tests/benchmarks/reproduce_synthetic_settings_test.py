"""reproduce_synthetic's per-task settings: the task's, unless given."""

import pytest


@pytest.fixture
def reproduce(load_benchmark):
    return load_benchmark("reproduce_synthetic")


def test_temporal_order_takes_figure_7s_settings(reproduce):
    args = reproduce.parse_args([])
    assert (args.units, args.learning_rate, args.threshold, args.omega) == (
        50,
        0.01,
        1.0,
        4.0,
    )
    assert args.schemes == ["smart_tanh"] and args.length_spread == 0.1


def test_each_task_its_own_settings_unless_given(reproduce):
    addition = reproduce.parse_args(["--task", "addition"])
    assert (addition.omega, addition.threshold, addition.schemes) == (
        0.5,
        6.0,
        ["basic_tanh"],
    )
    permutation = reproduce.parse_args(["--task", "permutation", "--omega", "2"])
    assert (permutation.units, permutation.learning_rate) == (100, 0.001)
    assert permutation.omega == 2.0  # the command line wins
    memorization = reproduce.parse_args(["--task", "memorization", "--lengths", "200"])
    assert memorization.length_spread == 0.0
    assert [g[1:3] for g in reproduce.groups_of(memorization)] == [(200, 201)]


def test_unknown_task_is_refused(reproduce, capsys):
    with pytest.raises(SystemExit):
        reproduce.parse_args(["--task", "adding"])
    assert "invalid choice: 'adding'" in capsys.readouterr().err
