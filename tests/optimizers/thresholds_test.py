"""Tests for the adaptive thresholds against hand-computed sequences."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from _clipping_models import GLOBAL_BATCH, make_data, train

from keras_rnncr.optimizers import (
    AverageNormThreshold,
    ClippedOptimizer,
    PercentileThreshold,
    ZScoreThreshold,
)

INF = float("inf")


def _run(threshold, norms):
    """Feeds gradients of the given norms; returns (thresholds, clipped, opt)."""
    variable = keras.Variable(np.zeros(1, "float32"))
    optimizer = ClippedOptimizer(keras.optimizers.SGD(1.0), threshold=threshold)

    @tf.function
    def step(g):
        optimizer.apply([g], [variable])

    thresholds, clipped = [], []
    for n in norms:
        before = optimizer.statistics()["clipped_steps"] if optimizer.built else 0.0
        step(tf.constant([n], tf.float32))
        stats = optimizer.statistics()
        thresholds.append(stats["clip_threshold"])
        clipped.append(stats["clipped_steps"] > before)
    return thresholds, clipped, optimizer


def test_average_norm_threshold_sequence():
    # multiplier 2, warm-up 2: mean of earlier finite norms, times 2.
    thresholds, clipped, _ = _run(
        AverageNormThreshold(2.0, warmup_steps=2), [1, 3, np.nan, 10, 2]
    )
    # The NaN step is skipped and does not enter the average.
    assert thresholds[:2] == [INF, INF]
    assert thresholds[3] == pytest.approx(4.0)  # 2 * (1 + 3) / 2
    assert thresholds[4] == pytest.approx(2 * 14 / 3)  # raw 10 enters the mean
    assert clipped == [False, False, False, True, False]


def test_percentile_threshold_sequence():
    thresholds, clipped, _ = _run(
        PercentileThreshold(50.0, history_length=3), [4, 2, 6, 8]
    )
    # History includes the current norm; the ring buffer keeps the last 3.
    expected = [
        np.percentile([4], 50),
        np.percentile([4, 2], 50),
        np.percentile([4, 2, 6], 50),
        np.percentile([2, 6, 8], 50),
    ]
    np.testing.assert_allclose(thresholds, expected)
    assert clipped == [False, False, True, True]


def test_zscore_threshold_sequence():
    rule = ZScoreThreshold(alpha=0.5, z_thresh=1.0, warmup_steps=2, epsilon=1e-12)
    thresholds, clipped, optimizer = _run(rule, [1, 3, 2, 10, 2.5])
    # Warm-up on [1, 3]: mean 2, variance 1. Step 3 (norm 2, z = 0): no clip;
    # EMA -> mean 2, var 0.5. Step 4 (norm 10): std = sqrt(.5), z = 8 / std,
    # threshold = 2 + 1 * std / z = 2 + 0.5 / 8 = 2.0625; the EMA sees the
    # clipped norm -> mean 2.03125, var 0.25 + 0.5 * 0.03125**2.
    # Step 5 (norm 2.5): z = 0.46875 / sqrt(0.250488...) < 1: no clip.
    assert thresholds[:3] == [INF, INF, INF]
    assert thresholds[3] == pytest.approx(2.0625, rel=1e-6)
    assert thresholds[4] == INF
    assert clipped == [False, False, False, True, False]
    state = {k: float(v.numpy()) for k, v in optimizer._rule_state.items()}
    mean = 0.5 * 2.03125 + 0.5 * 2.5
    variance = 0.5 * (0.25 + 0.5 * 0.03125**2) + 0.5 * (2.5 - mean) ** 2
    assert state["mean"] == pytest.approx(mean, rel=1e-6)
    assert state["variance"] == pytest.approx(variance, rel=1e-6)


def test_zclip_percentile_mode_sequence():
    rule = ZScoreThreshold(0.5, 1.0, warmup_steps=2, mode="percentile")
    thresholds, clipped, optimizer = _run(rule, [1, 3, 2, 10, 2.5])
    # Warm-up on [1, 3]: mean 2, var 1. Step 3: threshold 2 + 1 * 1 = 3, no
    # clip; EMA -> mean 2, var 0.5. Step 4: threshold 2 + sqrt(0.5); the EMA
    # sees the clipped norm: mean 2 + sqrt(0.5) / 2, var 0.25 + 0.5 * 0.125.
    # Step 5: threshold mean + sqrt(0.3125) > 2.5, no clip.
    mean4 = 2 + np.sqrt(0.5) / 2
    expected = [INF, INF, 3.0, 2 + np.sqrt(0.5), mean4 + np.sqrt(0.3125)]
    np.testing.assert_allclose(thresholds, expected, rtol=1e-6)
    assert clipped == [False, False, False, True, False]
    state = {k: float(v.numpy()) for k, v in optimizer._rule_state.items()}
    mean5 = 0.5 * mean4 + 0.5 * 2.5
    assert state["mean"] == pytest.approx(mean5, rel=1e-6)
    assert state["variance"] == pytest.approx(
        0.5 * 0.3125 + 0.5 * (2.5 - mean5) ** 2, rel=1e-6
    )


def test_zclip_mean_clip_option_sequence():
    rule = ZScoreThreshold(0.5, 1.0, warmup_steps=2, clip_option="mean")
    thresholds, clipped, optimizer = _run(rule, [1, 3, 2, 10, 3])
    # Warm-up: mean 2, var 1. Step 3 (z = 0): no clip; EMA -> mean 2, var 0.5.
    # Step 4 (z = 8 / sqrt(0.5)): clip to the mean 2; EMA -> mean 2, var 0.25.
    # Step 5 (z = 1 / 0.5 = 2 > 1): clip to 2 again; var 0.125.
    assert thresholds == [INF, INF, INF, 2.0, 2.0]
    assert clipped == [False, False, False, True, True]
    state = {k: float(v.numpy()) for k, v in optimizer._rule_state.items()}
    assert state["mean"] == pytest.approx(2.0)
    assert state["variance"] == pytest.approx(0.125)


def test_zclip_max_grad_norm_caps_but_statistics_see_adaptive_clip():
    rule = ZScoreThreshold(0.5, 1.0, 2, epsilon=1e-12, max_grad_norm=2.0)
    thresholds, clipped, optimizer = _run(rule, [1, 3, 2, 10, 2.5])
    # The cap is in force during warm-up too (step 2 is clipped), but the
    # statistics are those of `test_zscore_threshold_sequence`: warm-up sees
    # raw norms and step 4 enters the EMA clipped to 2.0625, not to the cap.
    assert thresholds == [2.0] * 5
    assert clipped == [False, True, False, True, True]
    state = {k: float(v.numpy()) for k, v in optimizer._rule_state.items()}
    mean = 0.5 * 2.03125 + 0.5 * 2.5
    assert state["mean"] == pytest.approx(mean, rel=1e-6)
    assert state["variance"] == pytest.approx(
        0.5 * (0.25 + 0.5 * 0.03125**2) + 0.5 * (2.5 - mean) ** 2, rel=1e-6
    )


def test_zclip_state_survives_keras_round_trip(tmp_path):
    def clipped():
        rule = ZScoreThreshold(0.5, 1.0, 2, mode="percentile", max_grad_norm=50.0)
        return ClippedOptimizer(keras.optimizers.Adam(0.01), threshold=rule)

    model = train(clipped, steps=4)
    state = {k: v.numpy() for k, v in model.optimizer._rule_state.items()}
    assert state["count"] == 4.0 and state["variance"] > 0.0
    path = str(tmp_path / "zclip.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.optimizer.threshold.get_config() == (
        model.optimizer.threshold.get_config()
    )
    for key, value in loaded.optimizer._rule_state.items():
        np.testing.assert_array_equal(value.numpy(), state[key])
    x, y = make_data()
    for m in (model, loaded):
        m.fit(x, y, batch_size=GLOBAL_BATCH, epochs=2, shuffle=False, verbose=0)
    assert loaded.optimizer.statistics() == pytest.approx(model.optimizer.statistics())
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize(
    "name, cls",
    [
        ("average", AverageNormThreshold),
        ("autoclip", PercentileThreshold),
        ("zclip", ZScoreThreshold),
        ("zscore", ZScoreThreshold),
        ("percentile", PercentileThreshold),
    ],
)
def test_threshold_names(name, cls):
    assert isinstance(
        ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=name).threshold, cls
    )


@pytest.mark.parametrize(
    "factory, message",
    [
        (
            lambda: AverageNormThreshold(multiplier=0.0),
            r"Argument `multiplier` must be a positive float. Received: multiplier=0.0",
        ),
        (
            lambda: AverageNormThreshold(warmup_steps=1.5),
            r"Argument `warmup_steps` must be a positive integer. "
            r"Received: warmup_steps=1.5",
        ),
        (
            lambda: PercentileThreshold(percentile=150.0),
            r"Argument `percentile` must be a float in \(0, 100\]. "
            r"Received: percentile=150.0",
        ),
        (
            lambda: PercentileThreshold(percentile=-5.0),
            r"Argument `percentile` must be a float in \(0, 100\]. "
            r"Received: percentile=-5.0",
        ),
        (
            lambda: PercentileThreshold(history_length=0),
            r"Argument `history_length` must be a positive integer. "
            r"Received: history_length=0",
        ),
        (
            lambda: ZScoreThreshold(alpha=1.0),
            r"Argument `alpha` must be a float in \(0, 1\). Received: alpha=1.0",
        ),
        (
            lambda: ZScoreThreshold(z_thresh=-2.5),
            r"Argument `z_thresh` must be a positive float. Received: z_thresh=-2.5",
        ),
        (
            lambda: ZScoreThreshold(warmup_steps=0),
            r"Argument `warmup_steps` must be a positive integer. "
            r"Received: warmup_steps=0",
        ),
        (
            lambda: ZScoreThreshold(epsilon=0.0),
            r"Argument `epsilon` must be a positive float. Received: epsilon=0.0",
        ),
        (
            lambda: ZScoreThreshold(mode="median"),
            r"Argument `mode` must be one of \('zscore', 'percentile'\). "
            r"Received: mode='median'",
        ),
        (
            lambda: ZScoreThreshold(clip_option="max"),
            r"Argument `clip_option` must be one of "
            r"\('adaptive_scaling', 'mean'\). Received: clip_option='max'",
        ),
        (
            lambda: ZScoreThreshold(max_grad_norm=0.0),
            r"Argument `max_grad_norm` must be a positive float or None. "
            r"Received: max_grad_norm=0.0",
        ),
    ],
)
def test_rule_argument_errors(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()


NAN = float("nan")


@pytest.mark.parametrize(
    "cls, name, value, expected",
    [
        (AverageNormThreshold, "multiplier", NAN, "a positive float"),
        (AverageNormThreshold, "multiplier", INF, "a positive float"),
        (AverageNormThreshold, "multiplier", True, "a positive float"),
        (AverageNormThreshold, "warmup_steps", True, "a positive integer"),
        (AverageNormThreshold, "warmup_steps", np.float64(3.0), "a positive integer"),
        (PercentileThreshold, "percentile", NAN, r"a float in \(0, 100\]"),
        (PercentileThreshold, "percentile", INF, r"a float in \(0, 100\]"),
        (PercentileThreshold, "history_length", False, "a positive integer"),
        (ZScoreThreshold, "alpha", NAN, r"a float in \(0, 1\)"),
        (ZScoreThreshold, "z_thresh", NAN, "a positive float"),
        (ZScoreThreshold, "z_thresh", INF, "a positive float"),
        (ZScoreThreshold, "epsilon", NAN, "a positive float"),
        (ZScoreThreshold, "max_grad_norm", NAN, "a positive float or None"),
        (ZScoreThreshold, "max_grad_norm", INF, "a positive float or None"),
        (ZScoreThreshold, "max_grad_norm", True, "a positive float or None"),
    ],
)
def test_rules_refuse_non_finite_and_bool(cls, name, value, expected):
    with pytest.raises(
        ValueError,
        match=rf"Argument `{name}` must be {expected}. Received: {name}=",
    ):
        cls(**{name: value})


@pytest.mark.parametrize(
    "rule",
    [
        AverageNormThreshold(np.float32(2.0), np.int64(5)),
        PercentileThreshold(np.float32(10.0), np.int32(9)),
        ZScoreThreshold(
            np.float32(0.9), np.float32(2.0), np.int64(5), np.float32(1e-5)
        ),
        ZScoreThreshold(max_grad_norm=np.float16(2.0)),
    ],
)
def test_rules_take_numpy_scalars_as_python_numbers(rule):
    config = rule.get_config()
    for value in config.values():
        assert type(value) in (int, float, str, type(None))
    json.dumps(config)


@pytest.mark.parametrize(
    "rule",
    [
        AverageNormThreshold(3.0, 7),
        PercentileThreshold(20.0, 9),
        ZScoreThreshold(0.9, 2.0, 5, 1e-5),
        ZScoreThreshold(0.8, 1.5, 3, 1e-4, "percentile", "mean", 2.0),
    ],
)
def test_rule_config_round_trip(rule):
    restored = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(rule)
    )
    assert type(restored) is type(rule)
    assert restored.get_config() == rule.get_config()


def test_step_counts_stay_exact_past_two_to_the_24():
    # A float32 count stops at 2**24 (16.8 M steps): the ring buffer then
    # wrote every norm to one slot and the threshold froze.
    optimizer = ClippedOptimizer(
        keras.optimizers.SGD(1.0), threshold=PercentileThreshold(50.0, 4)
    )
    variable = keras.Variable(np.zeros(1, "float32"))
    optimizer.build([variable])
    counts = [v for v in optimizer.variables if v.name == "threshold_count"]
    assert counts[0].dtype == "float64"
    counts[0].assign(float(2**24))
    for _ in range(4):
        optimizer.apply([tf.constant([100.0])], [variable])
    assert float(counts[0].numpy()) == 2**24 + 4
    history = [v for v in optimizer.variables if v.name == "threshold_history"][0]
    np.testing.assert_array_equal(history.numpy(), [100.0] * 4)


def test_zclip_after_a_warm_up_of_zero_norms_does_not_freeze():
    # The reference code's threshold is then 0 for ever: every gradient is
    # scaled to 0 and the statistics, fed zeros, never recover.
    thresholds, _, optimizer = _run(
        ZScoreThreshold(warmup_steps=3), [0.0, 0.0, 0.0, 5.0, 5.0, 5.0]
    )
    assert thresholds[3] == INF
    assert all(t > 0 for t in thresholds)
    mean = [v for v in optimizer.variables if v.name == "threshold_mean"][0]
    assert float(mean.numpy()) > 0


@pytest.mark.parametrize(
    "rule", [AverageNormThreshold(1.0, warmup_steps=3), PercentileThreshold(50.0, 8)]
)
def test_a_statistic_of_zero_norms_does_not_zero_the_updates(rule):
    # A threshold of 0 would scale every update to 0 (AutoClip's 10th
    # percentile after 100 zero norms zeroed 891 of the next 1,000 steps).
    thresholds, clipped, _ = _run(rule, [0.0] * 5 + [1.0] * 3)
    # After it, the norms of 1 are measured against a statistic that still
    # holds the zeros: clipped for a while, as any spike, but not to 0.
    assert all(t > 0 for t in thresholds)
    assert thresholds[5] == INF  # the zeros alone: no clipping
    assert not clipped[5]


def test_a_config_dict_of_an_unknown_class_names_the_argument():
    with pytest.raises(ValueError, match="Argument `threshold` is a config dict.*No"):
        ClippedOptimizer(
            keras.optimizers.SGD(0.1),
            threshold={"class_name": "NoSuchRule", "config": {}},
        )


def test_rules_print_their_arguments():
    assert repr(PercentileThreshold(10.0, 50)) == (
        "PercentileThreshold(percentile=10.0, history_length=50)"
    )
