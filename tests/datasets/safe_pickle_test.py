"""Tests for keras_rnncr.datasets._safe_pickle."""

import os
import pickle

import numpy as np
import pytest

from keras_rnncr.datasets import _safe_pickle


class _RunsShell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _CallsEval:
    def __reduce__(self):
        return (eval, ("1 + 1",))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_loads_containers_and_integers(protocol):
    data = {"train": [[(60, 64), ()]], "valid": [[[61]]], "test": [[[21, 108]]]}
    assert _safe_pickle.loads(pickle.dumps(data, protocol=protocol)) == data


@pytest.mark.parametrize("protocol", [2, 4])
def test_numpy_integer_scalars_become_ints(protocol):
    data = {"train": [[(np.int64(60), np.int32(64))]], "test": [np.uint8(21)]}
    loaded = _safe_pickle.loads(pickle.dumps(data, protocol=protocol))
    assert loaded == {"train": [[(60, 64)]], "test": [21]}
    assert type(loaded["train"][0][0][0]) is int
    big_endian = np.array(-5, dtype=">i8")[()]
    assert _safe_pickle.loads(pickle.dumps(big_endian, protocol=2)) == -5


@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_shell_command_is_refused_and_not_run(tmp_path, protocol):
    marker = tmp_path / "exploited"
    payload = pickle.dumps({"train": [_RunsShell(f"touch {marker}")]}, protocol)
    with pytest.raises(
        pickle.UnpicklingError, match=r"Refusing to load global '(posix|nt)\.system'"
    ):
        _safe_pickle.loads(payload)
    assert not marker.exists()


def test_builtins_are_refused():
    message = r"Refusing to load global '(__builtin__|builtins)\.eval'"
    with pytest.raises(pickle.UnpicklingError, match=message):
        _safe_pickle.loads(pickle.dumps(_CallsEval(), protocol=2))


def test_non_integer_numpy_scalar_is_refused():
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing numpy dtype 'f8'"):
        _safe_pickle.loads(pickle.dumps(np.float64(1.5), protocol=2))


def test_object_numpy_dtype_is_refused():
    with pytest.raises(pickle.UnpicklingError, match=r"Refusing numpy dtype 'O8'"):
        _safe_pickle.loads(pickle.dumps(np.dtype(object), protocol=2))


def test_codecs_encode_other_than_latin1_is_refused():
    # _codecs.encode("a", "utf-7")
    payload = (
        b"\x80\x02c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-7\x86R."
    )
    with pytest.raises(
        pickle.UnpicklingError, match=r"Refusing `_codecs.encode` except to latin-1"
    ):
        _safe_pickle.loads(payload)


def test_numpy_scalar_without_integer_dtype_is_refused():
    # numpy.core.multiarray.scalar("a", "b")
    payload = (
        b"\x80\x02cnumpy.core.multiarray\nscalar\n"
        b"X\x01\x00\x00\x00a"
        b"X\x01\x00\x00\x00b"
        b"\x86R."
    )
    with pytest.raises(
        pickle.UnpicklingError, match="Refusing a numpy scalar of non-integer type"
    ):
        _safe_pickle.loads(payload)


def test_load_reads_a_file(tmp_path):
    path = tmp_path / "data.pickle"
    path.write_bytes(pickle.dumps({"train": [[[60]]]}, protocol=2))
    assert _safe_pickle.load(path) == {"train": [[[60]]]}


@pytest.mark.parametrize("data", [b"C\x03abc", b"K\x05"])  # 3 bytes; an int
def test_numpy_scalar_with_wrong_data_is_refused(data):
    # numpy.core.multiarray.scalar(numpy.dtype("i8", 0, 1), <data>)
    payload = (
        b"\x80\x02cnumpy.core.multiarray\nscalar\n"
        b"cnumpy\ndtype\nX\x02\x00\x00\x00i8K\x00K\x01\x87R" + data + b"\x86R."
    )
    with pytest.raises(
        pickle.UnpicklingError, match=r"Refusing a numpy 'i8' scalar whose data"
    ):
        _safe_pickle.loads(payload)


def test_numpy_dtype_with_malformed_state_is_refused():
    # numpy.dtype("i8", 0, 1) then BUILD with the state 5
    payload = b"\x80\x02cnumpy\ndtype\nX\x02\x00\x00\x00i8K\x00K\x01\x87RK\x05b."
    with pytest.raises(pickle.UnpicklingError, match="Refusing a numpy dtype state"):
        _safe_pickle.loads(payload)


def _shared_nested_tuples(depth):
    value = (60,)
    for _ in range(depth):
        value = (value, value)  # 2**depth leaves, a few bytes per level
    return value


def test_nested_tuples_are_refused_before_they_expand():
    # 200 bytes of pickle with 2**40 leaves: printing it in an error message
    # (as a pitch) or hashing it (as a dict key) would take days.
    raw = pickle.dumps({"train": [[(_shared_nested_tuples(40),)]]}, protocol=2)
    assert len(raw) < 400
    with pytest.raises(pickle.UnpicklingError, match="a tuple that holds a tuple"):
        _safe_pickle.loads(raw)
    key = pickle.dumps({_shared_nested_tuples(2): 1}, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="a tuple that holds a tuple"):
        _safe_pickle.loads(key)


class _DType:
    """Pickles as `numpy.dtype(code)`."""

    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (np.dtype, (self.code,))


def _shared_nested_frozensets(depth):
    a, b = frozenset({"a"}), frozenset({"b"})
    for _ in range(depth):
        a, b = frozenset({a, b, "a"}), frozenset({a, b, "b"})
    return a


def test_sets_are_refused_before_they_expand():
    # 600 bytes of pickle whose repr is over 10**12 characters: as a numpy
    # dtype's code it would have been printed in the error message.
    raw = pickle.dumps(_DType(_shared_nested_frozensets(40)), protocol=4)
    assert len(raw) < 800
    with pytest.raises(pickle.UnpicklingError, match="Refusing a set or frozenset"):
        _safe_pickle.loads(raw)
    empty = pickle.dumps({"train": [set()]}, protocol=4)
    with pytest.raises(pickle.UnpicklingError, match="Refusing a set or frozenset"):
        _safe_pickle.loads(empty)


def test_numpy_dtype_code_that_is_no_string_is_named_by_its_type():
    with pytest.raises(pickle.UnpicklingError, match="Refusing numpy dtype list:"):
        _safe_pickle.loads(pickle.dumps(_DType([[1, 2]] * 3), protocol=2))
    with pytest.raises(pickle.UnpicklingError, match="Refusing numpy dtype 'f8':"):
        _safe_pickle.loads(pickle.dumps(_DType("f8"), protocol=2))


def test_flat_frames_and_repeated_empty_frames_load():
    rest = ()
    data = {"train": [[(60, 64), rest, rest, (67,)]], "valid": [], "test": []}
    for protocol in (0, 2, 4):
        assert _safe_pickle.loads(pickle.dumps(data, protocol=protocol)) == data
