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


@pytest.mark.parametrize(
    "script, flags, message",
    [
        ("reproduce_synthetic", ["--ranges", "50-60"], "is not MIN:MAX"),
        ("reproduce_synthetic", ["--ranges", "60:50"], "is not MIN:MAX"),
        ("reproduce_synthetic", ["--budget", "sgd-cr:200"], "is not METHOD=UPDATES"),
        ("reproduce_synthetic", ["--seeds", "0", "7919"], "--seeds: 7919 is the seed"),
        ("reproduce_char_lm", ["--aheads", "3"], "invalid choice: 3"),
        ("reproduce_char_lm", ["--units", "0"], "'0' is not a positive integer"),
        ("reproduce_char_lm", ["--methods", "sgdcr"], "invalid choice: 'sgdcr'"),
        ("reproduce_music", ["--datasets", "jsb"], "invalid choice: 'jsb'"),
        ("reproduce_music", ["--batch-size", "0"], "'0' is not a positive integer"),
        ("reproduce_music", ["--patience", "-1"], "'-1' is not an integer >= 0"),
    ],
)
def test_bad_flags_are_refused_by_the_parser(
    script, flags, message, load_benchmark, capsys
):
    with pytest.raises(SystemExit):
        load_benchmark(script).parse_args(flags)
    assert message in capsys.readouterr().err


def test_patience_zero_is_kept(load_benchmark):
    import _resumable

    music = load_benchmark("reproduce_music")
    args = music.parse_args(["--patience", "0", "--max-halvings", "0"])

    class Module:
        PATIENCE, MAX_HALVINGS = 3, 6

    assert _resumable.schedule_settings(args, Module) == {
        "patience": 0,
        "max_halvings": 0,
    }
