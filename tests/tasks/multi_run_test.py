"""MultiRunTrainer: each run's update is one `fit` step of its `task_model`."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_rnncr.tasks import METHODS, MultiRunTrainer, RunSpec

UNITS = 8
BATCH = 4


def _fit_step(trainer, index, inputs, targets):
    """The run's `task_model` after one `fit` step on the same batch."""
    model = trainer._model(index)
    model.set_weights([w[index] for w in trainer._weights])
    model.fit(
        inputs, targets, batch_size=len(inputs), epochs=1, shuffle=False, verbose=0
    )
    return model.get_weights()


def _assert_same_update(trainer, runs, rtol):
    before = [w.copy() for w in trainer._weights]
    steps, inputs, targets = trainer.batch()
    assert inputs.shape[2] % 32 == 0  # padded to a bucket of steps
    inputs = inputs[:, :, :steps]
    if targets.ndim == 3:
        targets = targets[:, :, :steps]
    expected = []
    for i in range(len(runs)):
        trainer._weights = [w.copy() for w in before]
        expected.append(_fit_step(trainer, i, inputs[i], targets[i]))
    trainer._weights = [w.copy() for w in before]
    trainer._load_active()
    stats = trainer.train(1)
    for i in range(len(runs)):
        moved = [np.max(np.abs(w[i] - b[i])) for w, b in zip(trainer._weights, before)]
        assert max(moved) > 0
        for got, want in zip([w[i] for w in trainer._weights], expected[i]):
            np.testing.assert_allclose(
                got, want, rtol=rtol, atol=rtol * np.max(np.abs(want))
            )
    return stats


@pytest.mark.slow
@pytest.mark.parametrize(
    "task,scheme",
    [
        ("temporal_order", "basic_tanh"),
        ("temporal_order", "sigmoid"),
        ("addition", "smart_tanh"),
        ("memorization", "basic_tanh"),
    ],
)
def test_each_run_matches_one_fit_step(task, scheme):
    runs = _methods_with_and_without_clipping(scheme)
    memorization = task == "memorization"
    trainer = MultiRunTrainer(
        task,
        runs,
        min_length=5 if memorization else 20,
        units=UNITS,
        batch_size=BATCH,
        task_options={"n_values": 3, "n_positions": 2} if memorization else None,
    )
    stats = _assert_same_update(trainer, runs, rtol=1e-5)
    np.testing.assert_array_equal(stats["clipped"], [0, 1, 1, 0, 0])
    # Omega is measured for every run (applied for sgd-cr only).
    assert np.all(np.isfinite(stats["omega"]))


def test_arithmetic_runs_share_one_generated_length():
    runs = [RunSpec("sgd-cr", seed=s) for s in range(4)]
    trainer = MultiRunTrainer("multiplication", runs, min_length=40, max_length=60)
    lengths = {trainer.batch(u)[0] for u in range(20)}
    assert len(lengths) > 3 and all(40 <= n < 64 for n in lengths)


def _methods_with_and_without_clipping(scheme):
    """sgd, then sgd-c and sgd-cr clipped (threshold 0.05) and not (1000)."""
    return [RunSpec("sgd", seed=0, scheme=scheme)] + [
        RunSpec(method, seed=0, scheme=scheme, threshold=threshold, omega=2.0)
        for threshold in (0.05, 1e3)
        for method in ("sgd-c", "sgd-cr")
    ]


@pytest.mark.slow
@pytest.mark.parametrize("scheme", ["basic_tanh", "sigmoid"])
def test_float64_matches_one_fit_step(scheme):
    policy = keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        runs = _methods_with_and_without_clipping(scheme)
        trainer = MultiRunTrainer(
            "temporal_order", runs, min_length=15, units=UNITS, batch_size=BATCH
        )
        assert trainer.dtype == "float64"
        stats = _assert_same_update(trainer, runs, rtol=1e-10)
        np.testing.assert_array_equal(stats["clipped"], [0, 1, 1, 0, 0])
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy(policy)


def test_trajectory_does_not_depend_on_other_runs():
    run = RunSpec("sgd-cr", seed=5, threshold=0.1)
    others = [RunSpec("sgd", seed=1), run, RunSpec("sgd-c", seed=9)]
    alone = MultiRunTrainer(
        "temporal_order",
        [run],
        min_length=12,
        max_length=15,
        units=UNITS,
        batch_size=BATCH,
    )
    shared = MultiRunTrainer(
        "temporal_order",
        others,
        min_length=12,
        max_length=15,
        units=UNITS,
        batch_size=BATCH,
    )
    alone.train(30)
    shared.train(30)
    for a, b in zip(alone._weights, shared._weights, strict=True):
        np.testing.assert_allclose(a[0], b[1], rtol=1e-6, atol=1e-7)


def test_resume_is_bit_identical(tmp_path):
    runs = [RunSpec(m, seed=2, threshold=0.5) for m in METHODS]
    kwargs = dict(min_length=12, max_length=16, units=UNITS, batch_size=BATCH)
    straight = MultiRunTrainer("temporal_order", runs, **kwargs)
    straight.train(25)
    interrupted = MultiRunTrainer("temporal_order", runs, **kwargs)
    interrupted.train(10)
    interrupted.deactivate([0])
    interrupted.save(tmp_path / "ckpt")
    resumed = MultiRunTrainer.restore(tmp_path / "ckpt")
    assert resumed.updates == 10
    assert list(resumed.active) == [False, True, True]
    resumed.train(15)
    straight_runs = MultiRunTrainer("temporal_order", runs, **kwargs)
    straight_runs.train(10)
    straight_runs.deactivate([0])
    straight_runs.train(15)
    for a, b in zip(resumed._weights, straight_runs._weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert resumed.run_updates.tolist() == [10, 25, 25]


def test_numpy_integer_arguments_save_and_restore(tmp_path):
    runs = [RunSpec("sgd-cr", seed=np.int64(1), threshold=0.5)]
    trainer = MultiRunTrainer(
        "memorization",
        runs,
        min_length=np.int64(5),
        max_length=np.int32(6),
        units=np.int64(UNITS),
        batch_size=np.int64(BATCH),
        length_seed=np.int64(3),
        task_options={"n_values": np.int64(3), "n_positions": 2},
    )
    trainer.save(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt.json").read_text())
    assert config["units"] == UNITS and config["task_options"]["n_values"] == 3
    assert MultiRunTrainer.restore(tmp_path / "ckpt").length_seed == 3


def test_a_save_that_fails_replaces_no_file(tmp_path):
    trainer = MultiRunTrainer(
        "temporal_order", [RunSpec("sgd")], min_length=12, units=UNITS
    )
    trainer.task_options = {"unserialisable": object()}
    with pytest.raises(TypeError, match="not JSON serializable"):
        trainer.save(tmp_path / "ckpt")
    assert list(tmp_path.iterdir()) == []


def test_resume_keeps_stopped_runs_in_the_step_as_before(tmp_path):
    # 3 of 4 runs active: the stopped one stays in the step. A restore that
    # rebuilt the step from the active runs alone grouped them differently in
    # two parts and rounded differently (1.9e-9 after 40 updates).
    methods = ["sgd", "sgd-c", "sgd-cr", "sgd-cr"]
    runs = [RunSpec(m, seed=s, threshold=0.5) for s, m in enumerate(methods)]
    kwargs = dict(min_length=12, max_length=16, units=UNITS, batch_size=BATCH, parts=2)
    straight = MultiRunTrainer("temporal_order", runs, **kwargs)
    straight.train(10)
    straight.deactivate([0])
    assert straight._stacked.tolist() == [0, 1, 2, 3]
    straight.save(tmp_path / "ckpt")
    straight.train(40)
    resumed = MultiRunTrainer.restore(tmp_path / "ckpt")
    assert resumed._stacked.tolist() == [0, 1, 2, 3]
    resumed.train(40)
    for a, b in zip(resumed._weights, straight._weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_reactivated_run_trains_on_and_resumes_bit_identically(tmp_path):
    runs = [RunSpec(m, seed=4, threshold=0.5) for m in METHODS]
    kwargs = dict(min_length=12, max_length=16, units=UNITS, batch_size=BATCH)
    trainer = MultiRunTrainer("temporal_order", runs, **kwargs)
    trainer.train(5)
    trainer.deactivate([0, 2])
    trainer.train(5)
    stopped = [w[2].copy() for w in trainer._weights]
    trainer.reactivate([2])
    assert trainer.active.tolist() == [False, True, True]
    trainer.save(tmp_path / "ckpt")
    trainer.train(5)
    assert trainer.run_updates.tolist() == [5, 15, 10]
    assert any(
        not np.array_equal(w[2], s)
        for w, s in zip(trainer._weights, stopped, strict=True)
    )
    resumed = MultiRunTrainer.restore(tmp_path / "ckpt")
    resumed.train(5)
    for a, b in zip(resumed._weights, trainer._weights, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="must name runs 0-2. Received: \\[3\\]"):
        trainer.reactivate([3])


def test_stopped_runs_are_not_updated_and_the_stack_shrinks():
    runs = [RunSpec("sgd-cr", seed=s) for s in range(4)]
    trainer = MultiRunTrainer(
        "temporal_order", runs, min_length=12, units=UNITS, batch_size=BATCH
    )
    trainer.train(2)
    frozen = [w[0].copy() for w in trainer._weights]
    trainer.deactivate([0])
    assert len(trainer._stacked) == 4  # 3 of 4 still active: kept in the step
    stats = trainer.train(3)
    assert np.isnan(stats["loss"][0]) and np.all(np.isfinite(stats["loss"][1:]))
    for w, f in zip(trainer._weights, frozen):
        np.testing.assert_array_equal(w[0], f)
    trainer.deactivate([1])
    assert trainer._stacked.tolist() == [2, 3]
    assert trainer.run_updates.tolist() == [2, 5, 5, 5]


def test_to_model_and_evaluate():
    runs = [RunSpec("sgd-cr", seed=0), RunSpec("sgd-c", seed=0)]
    trainer = MultiRunTrainer(
        "temporal_order", runs, min_length=12, units=UNITS, batch_size=BATCH
    )
    trainer.train(3)
    results = trainer.evaluate(200, chunk_size=100, seed=0)
    assert sorted(results) == [0, 1]
    model = trainer.to_model(1)
    inputs, _ = trainer.spec.batch_fn(12, 5, np.random.default_rng(0))
    np.testing.assert_allclose(
        model.predict_on_batch(inputs), trainer.predict(inputs, runs=[1])[0], rtol=1e-5
    )
    from keras_rnncr.tasks import evaluate_task

    single = evaluate_task(
        model,
        "temporal_order",
        num_sequences=200,
        chunk_size=100,
        min_length=12,
        max_length=12,
        seed=0,
    )
    assert single["num_errors"] == results[1]["num_errors"]


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(method="sgd-x"), "method"),
        (dict(learning_rate=float("nan")), "learning_rate"),
        (dict(threshold=-1.0), "threshold"),
        (dict(omega=float("inf")), "omega"),
        (dict(seed=True), "seed"),
        (
            dict(seed=None),
            r"`seed` must be a non-negative integer\. Received: seed=None",
        ),
        (
            dict(seed=715827882),
            r"Argument `seed` must be an integer in \[0, 715827881\]",
        ),
        (dict(data_seed=2**32), "Argument `data_seed` must be"),
    ],
)
def test_run_spec_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RunSpec(**kwargs)


def test_run_spec_takes_numpy_scalars_as_python_numbers():
    spec = RunSpec(
        seed=np.int64(1),
        data_seed=np.int32(2),
        learning_rate=np.float32(0.05),
        threshold=np.float64(2.0),
        omega=np.float32(1.5),
    )
    values = [
        spec.seed,
        spec.data_seed,
        spec.learning_rate,
        spec.threshold,
        spec.omega,
    ]
    assert [type(v) for v in values] == [int, int, float, float, float]
    json.dumps(values)  # a checkpoint records them


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(task_options={"n_values": 3}),
            r"task options of .* are none. Received unknown",
        ),
        (dict(jit_compile="no"), "Argument `jit_compile` must be True or False"),
        (dict(length_seed=-1), "Argument `length_seed` must be a non-negative"),
        (
            dict(length_seed=None),
            r"`length_seed` must be a non-negative integer\. Received: length_seed=N",
        ),
        (dict(task_options="ab"), "must be a dict or None"),
        (dict(runs=RunSpec()), "Argument `runs` must be a non-empty list"),
        (dict(task=["temporal_order"]), "Argument `task` must be one of"),
    ],
)
def test_trainer_rejects_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiRunTrainer(
            **{
                "task": "temporal_order",
                "runs": [RunSpec()],
                "min_length": 12,
                "units": UNITS,
                **kwargs,
            }
        )


def test_predict_and_evaluate_check_runs_and_inputs():
    trainer = MultiRunTrainer(
        "temporal_order", [RunSpec(seed=0), RunSpec(seed=1)], min_length=12, units=3
    )
    x = np.zeros((2, 12, 6), "float32")
    for runs in ([True], [1.0], [0, 0], 1, [2]):
        with pytest.raises(ValueError, match="Argument `runs` must"):
            trainer.predict(x, runs=runs)
        with pytest.raises(ValueError, match="Argument `runs` must"):
            trainer.evaluate(10, runs=runs)
    for bad in (np.zeros((2, 12, 5)), np.zeros((12, 6)), np.zeros((2, 0, 6))):
        with pytest.raises(
            ValueError, match=r"Argument `inputs` must be .* \(batch, time, 6\)"
        ):
            trainer.predict(bad)
    assert trainer.predict(x, runs=[np.int64(1)]).shape == (1, 2, 4)
    assert trainer.predict(x, runs=range(2)).shape == (2, 2, 4)  # any iterable
    assert sorted(trainer.evaluate(10, runs=(i for i in [1, 0]))) == [0, 1]
    for update in (-1, 1.5):
        with pytest.raises(ValueError, match="Argument `update` must be"):
            trainer.batch(update)


def test_no_update_writes_a_non_finite_weight():
    # A learning rate that makes `learning_rate * gradient` overflow: the
    # gradient is finite (and sgd's is not clipped), the step is not.
    runs = [RunSpec("sgd", learning_rate=1e38), RunSpec("sgd-c", learning_rate=1e38)]
    trainer = MultiRunTrainer(
        "addition", runs, min_length=12, units=4, batch_size=BATCH
    )
    stats = trainer.train(3)
    assert all(np.isfinite(w).all() for w in trainer._weights)
    assert stats["nonfinite"][0] > 0.0  # sgd: overflowing steps were skipped


def test_an_interrupted_train_leaves_counts_matching_the_weights(tmp_path):
    trainer = MultiRunTrainer("temporal_order", [RunSpec()], min_length=12, units=3)
    calls = []
    original = trainer.batch

    def batch_then_interrupt(*args):
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return original(*args)

    trainer.batch = batch_then_interrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.train(10)
    assert trainer.updates == 3 and trainer.run_updates.tolist() == [3]
    trainer.save(tmp_path / "ckpt")
    resumed = MultiRunTrainer.restore(tmp_path / "ckpt")
    assert resumed.updates == 3 and resumed.run_updates.tolist() == [3]


def test_restore_refuses_a_checkpoint_of_another_dtype(tmp_path):
    policy = keras.config.dtype_policy()
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        trainer = MultiRunTrainer("temporal_order", [RunSpec()], min_length=12, units=3)
        trainer.save(tmp_path / "ckpt")
    finally:
        keras.config.set_floatx("float32")
        keras.config.set_dtype_policy(policy)
    with pytest.raises(
        ValueError, match=r"holds float64 weights.*set_floatx\('float64'\)"
    ):
        MultiRunTrainer.restore(tmp_path / "ckpt")


@pytest.mark.parametrize(
    "options, match",
    [
        ({"n_vals": 3}, r"\['n_values', 'n_positions'\].*n_vals"),  # unknown names
        ({"n_positions": 0}, "n_positions"),  # values: checked when built
    ],
)
def test_memorization_options_are_checked_and_named(options, match):
    with pytest.raises(ValueError, match=match):
        MultiRunTrainer(
            "memorization",
            [RunSpec()],
            min_length=12,
            units=UNITS,
            task_options=options,
        )


@pytest.mark.parametrize("indices", [[-1], [5], [True]])
def test_deactivate_refuses_indices_that_name_no_run(indices):
    trainer = MultiRunTrainer(
        "temporal_order", [RunSpec(seed=0), RunSpec(seed=1)], min_length=12, units=UNITS
    )
    with pytest.raises(ValueError, match="Argument `indices` must name runs 0-1"):
        trainer.deactivate(indices)
    assert trainer.active.all()


def test_trainer_rejects_mixed_activations_and_bad_runs():
    with pytest.raises(ValueError, match="activation"):
        MultiRunTrainer(
            "temporal_order",
            [RunSpec(scheme="basic_tanh"), RunSpec(scheme="sigmoid")],
            min_length=12,
            units=UNITS,
        )
    with pytest.raises(ValueError, match="runs"):
        MultiRunTrainer("temporal_order", [], min_length=12)


def test_groups_of_runs_side_by_side_give_the_same_updates(tmp_path, monkeypatch):
    runs = [
        RunSpec(m, seed=s, threshold=0.1) for s in range(2) for m in METHODS
    ]  # 6 runs: groups of 3 and 3, or 2, 2 and 2
    kwargs = dict(min_length=12, max_length=16, units=UNITS, batch_size=BATCH)
    from keras_rnncr.tasks import multi_run

    split = []  # (runs, groups) of every grouped step built
    slices = multi_run.row_slices

    def recording_slices(runs, groups):
        split.append((runs, groups))
        return slices(runs, groups)

    monkeypatch.setattr(multi_run, "row_slices", recording_slices)
    weights, stats = {}, {}
    for parts in (1, 2, np.int64(4)):
        trainer = MultiRunTrainer("temporal_order", runs, parts=parts, **kwargs)
        assert trainer._groups() == parts
        stats[parts] = trainer.train(6)
        trainer.deactivate([0, 1, 2])  # 3 active runs left: the stack shrinks
        assert trainer._groups() == min(parts, 3)
        trainer.train(4)
        weights[parts] = trainer._weights
    assert set(split) == {(6, 2), (6, 4), (3, 2), (3, 3)}
    for parts in (2, 4):
        for a, b in zip(weights[1], weights[parts], strict=True):
            # XLA's batched products round alike for any K but not always.
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        for name, values in stats[1].items():
            np.testing.assert_allclose(stats[parts][name], values, rtol=1e-5)
    trainer.save(tmp_path / "ckpt")
    assert MultiRunTrainer.restore(tmp_path / "ckpt").parts == 4
    # A checkpoint from before `parts` existed ran in one group (and had its
    # configuration in the .json alone).
    config = json.loads((tmp_path / "ckpt.json").read_text())
    del config["parts"]
    (tmp_path / "ckpt.json").write_text(json.dumps(config))
    _drop_from_npz(tmp_path / "ckpt.npz", "config", "metadata")
    assert MultiRunTrainer.restore(tmp_path / "ckpt").parts == 1


def _drop_from_npz(path, *names):
    with np.load(path) as stored:
        kept = {k: stored[k] for k in stored.files if k not in names}
    np.savez(path, **kept)


def test_auto_groups_follow_the_threads_tensorflow_may_use(monkeypatch):
    from keras_rnncr.tasks import multi_run

    runs = [RunSpec("sgd-cr", seed=s) for s in range(3)]
    kwargs = dict(min_length=12, units=UNITS, batch_size=BATCH)
    monkeypatch.setattr(multi_run, "side_by_side", lambda: 2)
    assert MultiRunTrainer("temporal_order", runs, **kwargs)._groups() == 2
    assert MultiRunTrainer("temporal_order", runs[:1], **kwargs)._groups() == 1
    unjitted = MultiRunTrainer("temporal_order", runs, jit_compile=False, **kwargs)
    assert unjitted._groups() == 1
    monkeypatch.setattr(multi_run, "side_by_side", lambda: 1)
    assert MultiRunTrainer("temporal_order", runs, **kwargs)._groups() == 1


@pytest.mark.parametrize("parts", [0, -1, 1.5, True, "two", None])
def test_trainer_rejects_bad_parts(parts):
    with pytest.raises(ValueError, match='`parts` must be "auto" or an int >= 1'):
        MultiRunTrainer(
            "temporal_order", [RunSpec()], min_length=12, units=UNITS, parts=parts
        )


@pytest.mark.parametrize("task", ["temporal_order", "memorization"])
def test_one_compilation_serves_every_length_of_a_bucket(task):
    """The length is data to the compiled step, not a compile-time constant:
    two lengths of one bucket lower to the same XLA computation (a slice at
    `length - 1` made XLA compile a step per length, and a sweep on 50-199
    ran out of the process's memory maps)."""
    trainer = MultiRunTrainer(
        task, [RunSpec("sgd-cr", seed=0)], min_length=12, max_length=20, units=4
    )
    _, inputs, targets = trainer.batch()
    step = trainer._step(inputs.shape[2])
    irs = [
        step.experimental_get_compiler_ir(
            trainer._params, inputs, targets, tf.constant(length), trainer._hyper
        )(stage="hlo")
        for length in (12, 19)
    ]
    assert irs[0] == irs[1]


def test_to_model_checks_its_index_and_keeps_the_global_generators():
    trainer = MultiRunTrainer(
        "temporal_order", [RunSpec("sgd"), RunSpec("sgd-cr")], min_length=12, units=3
    )
    for bad in (-1, 2, 1.0):
        with pytest.raises(ValueError, match="must name runs 0-1"):
            trainer.to_model(bad)
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    trainer.to_model(np.int64(1))
    assert np.random.rand() == expected
    # TensorFlow's and Keras's global random state too.
    keras.utils.set_random_seed(5)
    expected = (tf.random.uniform(()).numpy(), keras.random.uniform(()).numpy())
    keras.utils.set_random_seed(5)
    trainer.to_model(0)
    MultiRunTrainer("temporal_order", [RunSpec(seed=3)], min_length=12, units=3)
    assert (tf.random.uniform(()).numpy(), keras.random.uniform(()).numpy()) == expected
    trainer.deactivate(0)  # one index as well as a list
    with pytest.raises(ValueError, match="`runs` must name at least one active run"):
        trainer.predict(np.zeros((1, 12, 6), "float32"), runs=[])


def test_checkpoint_is_whole_in_its_npz_with_the_callers_metadata(tmp_path):
    runs = [RunSpec(m, seed=1, threshold=0.5) for m in METHODS]
    kwargs = dict(min_length=12, max_length=16, units=UNITS, batch_size=BATCH)
    trainer = MultiRunTrainer("temporal_order", runs, **kwargs)
    trainer.train(5)
    trainer.save(tmp_path / "ckpt")
    assert MultiRunTrainer.checkpoint_metadata(tmp_path / "ckpt") is None
    older_json = (tmp_path / "ckpt.json").read_text()
    trainer.train(5)
    record = {"updates": 10, "history": [[5, 0.5], [10, 0.25]]}
    trainer.save(tmp_path / "ckpt", metadata=record)
    # A process that ended between replacing the .npz and the .json left an
    # older .json: the .npz alone decides, and its metadata matches it.
    (tmp_path / "ckpt.json").write_text(older_json)
    assert MultiRunTrainer.checkpoint_exists(tmp_path / "ckpt")
    assert not MultiRunTrainer.checkpoint_exists(tmp_path / "other")
    resumed = MultiRunTrainer.restore(tmp_path / "ckpt")
    assert resumed.updates == 10
    assert MultiRunTrainer.checkpoint_metadata(tmp_path / "ckpt") == record
    trainer.train(5)
    resumed.train(5)
    for a, b in zip(resumed._weights, trainer._weights, strict=True):
        np.testing.assert_array_equal(a, b)
    # Checkpoints from before the configuration was in the .npz: the .json.
    (tmp_path / "ckpt.json").write_text(older_json)
    _drop_from_npz(tmp_path / "ckpt.npz", "config", "metadata")
    assert MultiRunTrainer.restore(tmp_path / "ckpt").updates == 5
    assert MultiRunTrainer.checkpoint_metadata(tmp_path / "ckpt") is None


def test_batches_seed_equal_to_length_seed_is_refused():
    with pytest.raises(ValueError, match=r"runs \[1\].*`length_seed`=7919"):
        MultiRunTrainer(
            "temporal_order",
            [RunSpec(seed=0), RunSpec(seed=1, data_seed=7919)],
            min_length=12,
            units=UNITS,
        )
    MultiRunTrainer(  # another length seed: fine
        "temporal_order",
        [RunSpec(seed=7919)],
        min_length=12,
        units=UNITS,
        length_seed=3,
    )
