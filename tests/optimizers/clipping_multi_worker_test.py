"""ClippedOptimizer under MultiWorkerMirroredStrategy: 2 worker processes."""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest
from _clipping_models import train

from keras_rnncr.optimizers import ClippedOptimizer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _free_ports(count):
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("localhost", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    except OSError as error:
        pytest.skip(f"cannot open local ports on this platform: {error}")
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_two_workers_take_the_one_device_step(tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(2):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}
        )
        env["PYTHONPATH"] = os.pathsep.join([ROOT, HERE, env.get("PYTHONPATH", "")])
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "_multi_worker_main.py",
                    str(tmp_path / f"{index}.npz"),
                ],
                cwd=HERE,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    outputs = []
    try:
        for p in processes:
            outputs.append(p.communicate(timeout=50)[0].decode(errors="replace"))
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
    for p, out in zip(processes, outputs, strict=True):
        assert p.returncode == 0, out[-3000:]

    expected = train(lambda: ClippedOptimizer(keras.optimizers.SGD(0.1), threshold=1.0))
    for index in range(2):
        result = np.load(tmp_path / f"{index}.npz")
        assert int(result["replicas"]) == 2
        assert float(result["clipped_steps"]) == 3.0
        assert float(result["grad_norm"]) == pytest.approx(
            expected.optimizer.statistics()["grad_norm"], rel=1e-5
        )
        weights = [result[f"arr_{i}"] for i in range(len(expected.get_weights()))]
        for a, b in zip(expected.get_weights(), weights, strict=True):
            np.testing.assert_allclose(a, b, atol=1e-6)
