"""Tests of the suite's own set-up (tests/conftest.py)."""

import pathlib
import subprocess
import sys

import pytest
import tensorflow as tf

_ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_two_logical_cpus():
    assert len(tf.config.list_logical_devices("CPU")) == 2


@pytest.mark.slow
def test_tf_test_case_helpers_are_not_collected():
    # tf.test.TestCase.test_session is a context manager; collected, it showed
    # as a skipped test in every TFDS builder test class.
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "tests/datasets/ptb_char_test.py",
        ],
        cwd=_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "PtbCharDownloadTest::test_info" in listed
    assert "test_session" not in listed
