"""keras_rnncr refuses to import under a Keras backend other than TensorFlow."""

import os
import subprocess
import sys


def test_other_backend_gets_a_clear_error():
    env = dict(os.environ, KERAS_BACKEND="numpy", TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", "import keras_rnncr"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "requires the TensorFlow backend" in result.stderr
    assert "KERAS_BACKEND=tensorflow" in result.stderr
