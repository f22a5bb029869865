"""Tests for keras_rnncr._validation, the package's one set of argument rules."""

import re

import numpy as np
import pytest

from keras_rnncr import _validation as validation

NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "value", [3, np.int8(3), np.int32(3), np.int64(3), np.uint16(3), 10**30]
)
def test_integers(value):
    assert validation.is_integer(value)
    assert validation.is_float(value)


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), 3.0, np.float32(3.0), "3", None, [3]]
)
def test_not_integers(value):
    assert not validation.is_integer(value)


@pytest.mark.parametrize(
    "value", [0.5, -2.0, 2, np.float16(0.5), np.float32(0.5), np.float64(0.5)]
)
def test_floats(value):
    assert validation.is_float(value)


@pytest.mark.parametrize(
    "value",
    [NAN, INF, -INF, np.float32("nan"), np.float64("inf"), 10**400, True,
     np.bool_(False), "0.5", None, np.array([0.5]), 1j],
)  # fmt: skip
def test_not_floats(value):
    assert not validation.is_float(value)


def _message(name, expected, value):
    return re.escape(
        f"Argument `{name}` must be {expected}. Received: {name}={value!r}"
    )


@pytest.mark.parametrize(
    "check, expected, good, bad",
    [
        (
            validation.check_positive_int,
            "a positive integer",
            [1, np.int64(7)],
            [0, -1, 2.0, np.float32(2.0), True, None, "2"],
        ),
        (
            validation.check_non_negative_int,
            "a non-negative integer",
            [0, np.int32(4)],
            [-1, 0.0, False, None],
        ),
        (
            validation.check_positive_float,
            "a positive float",
            [0.5, 3, np.float32(0.25), np.int64(2)],
            [0.0, -1.0, NAN, INF, np.float32("nan"), True, None, "1"],
        ),
        (
            validation.check_non_negative_float,
            "a non-negative float",
            [0.0, 0, np.float64(1.5)],
            [-0.1, NAN, INF, False, None],
        ),
    ],
)
def test_checks(check, expected, good, bad):
    for value in good:
        result = check("x", value)
        assert result == value
        kind = int if "integer" in expected else float
        assert type(result) is kind
    for value in bad:
        with pytest.raises(ValueError, match=_message("x", expected, value)):
            check("x", value)


@pytest.mark.parametrize(
    "check, expected",
    [
        (validation.check_positive_int, "a positive integer or None"),
        (validation.check_non_negative_int, "a non-negative integer or None"),
        (validation.check_positive_float, "a positive float or None"),
        (validation.check_non_negative_float, "a non-negative float or None"),
    ],
)
def test_allow_none(check, expected):
    assert check("x", None, allow_none=True) is None
    with pytest.raises(ValueError, match=_message("x", expected, NAN)):
        check("x", NAN, allow_none=True)


def test_check_seed():
    assert validation.check_seed(None) is None
    assert validation.check_seed(np.int64(3)) == 3
    expected = "a non-negative integer or None"
    for value in (-1, 1.5, True):
        with pytest.raises(ValueError, match=_message("seed", expected, value)):
            validation.check_seed(value)


def test_check_int_in_range():
    assert validation.check_int_in_range("velocity", np.int64(127), 1, 127) == 127
    for value in (0, 128, 64.0, True):
        with pytest.raises(
            ValueError, match=_message("velocity", "an integer in [1, 127]", value)
        ):
            validation.check_int_in_range("velocity", value, 1, 127)


@pytest.mark.parametrize(
    "kwargs, interval, good, bad",
    [
        ({}, "(0, 1)", [0.5, np.float32(0.97)], [0.0, 1.0, NAN, INF, True]),
        ({"high_closed": True}, "(0, 1]", [1.0, 1], [0, NAN]),
        ({"low_closed": True}, "[0, 1)", [0, 0.0], [1.0, -0.1]),
    ],
)
def test_check_float_in_range(kwargs, interval, good, bad):
    for value in good:
        assert validation.check_float_in_range("p", value, 0, 1, **kwargs) == value
    for value in bad:
        with pytest.raises(
            ValueError, match=_message("p", f"a float in {interval}", value)
        ):
            validation.check_float_in_range("p", value, 0, 1, **kwargs)


def test_check_bool():
    assert validation.check_bool("from_logits", True) is True
    assert validation.check_bool("from_logits", np.bool_(False)) is False
    for value in (1, "True", None, np.array([True])):
        with pytest.raises(
            ValueError,
            match=_message("from_logits", "a bool (True or False)", value),
        ):
            validation.check_bool("from_logits", value)


def test_message_shape():
    with pytest.raises(ValueError) as error:
        validation.check_positive_float("threshold", NAN)
    assert str(error.value) == (
        "Argument `threshold` must be a positive float. Received: threshold=nan"
    )
