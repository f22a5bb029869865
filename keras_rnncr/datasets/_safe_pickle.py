"""Restricted unpickler for the Boulanger-Lewandowski piano-roll pickles."""

import io
import pickle

import numpy as np
import tensorflow as tf

_NUMPY_SCALAR = frozenset(
    {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}
)
_NUMPY_DTYPE = frozenset({("numpy", "dtype")})
_CODECS_ENCODE = frozenset({("_codecs", "encode")})
_INTEGER_DTYPES = frozenset({"i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8"})


class _IntegerDType:
    """Stand-in for `numpy.dtype` that only describes integer types."""

    def __init__(self, code, align=False, copy=True):
        del align, copy
        if not isinstance(code, str) or code not in _INTEGER_DTYPES:
            # A string's repr only: another object's may be built to be huge.
            shown = repr(code[:20]) if isinstance(code, str) else type(code).__name__
            raise pickle.UnpicklingError(
                f"Refusing numpy dtype {shown}: piano-roll pickles hold only "
                f"integers ({sorted(_INTEGER_DTYPES)})."
            )
        self.code = code
        self.byte_order = "<"

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) < 2:
            raise pickle.UnpicklingError(
                "Refusing a numpy dtype state that is not a tuple of at least "
                "two items (version, byte order, ...)."
            )
        if state[1] in ("<", ">"):
            self.byte_order = state[1]


def _integer_scalar(dtype, data):
    """Rebuilds a numpy integer scalar as a Python `int`."""
    if not isinstance(dtype, _IntegerDType):
        raise pickle.UnpicklingError("Refusing a numpy scalar of non-integer type.")
    if isinstance(data, str):  # Python 2 `str`, decoded as latin-1.
        data = data.encode("latin-1")
    numpy_dtype = np.dtype(dtype.byte_order + dtype.code)
    if not isinstance(data, bytes) or len(data) != numpy_dtype.itemsize:
        raise pickle.UnpicklingError(
            f"Refusing a numpy {dtype.code!r} scalar whose data are not "
            f"{numpy_dtype.itemsize} bytes."
        )
    return int(np.frombuffer(data, dtype=numpy_dtype)[0])


def _latin1_bytes(text, encoding):
    """Stand-in for `_codecs.encode`, which protocol 2 uses to store bytes."""
    if encoding not in ("latin1", "latin-1") or not isinstance(text, str):
        raise pickle.UnpicklingError("Refusing `_codecs.encode` except to latin-1.")
    return text.encode("latin-1")


def _refuse_nested_tuple(unpickler):
    """Refuses a tuple just built (top of the stack) that holds a tuple.

    The data need none (a frame is a flat tuple of pitches; numpy's and
    codecs' arguments are flat), and nested tuples that share references
    (a few hundred bytes of pickle) expand exponentially when hashed as a
    dict key or set member, or printed in an error message.
    """
    if any(isinstance(item, tuple) for item in unpickler.stack[-1]):
        raise pickle.UnpicklingError(
            "Refusing a tuple that holds a tuple: a piano-roll pickle's tuples "
            "(frames of pitches) hold integers only."
        )


def _checked(load):
    def checked_load(unpickler):
        load(unpickler)
        _refuse_nested_tuple(unpickler)

    return checked_load


# The Python implementation of `pickle.Unpickler`, whose opcodes can be wrapped
# (the C one's cannot): here the four that build a tuple from the stack.
_TUPLE_OPCODES = (pickle.TUPLE, pickle.TUPLE1, pickle.TUPLE2, pickle.TUPLE3)
# And the three that build sets (protocol 4), which the data never hold.
_SET_OPCODES = (pickle.EMPTY_SET, pickle.ADDITEMS, pickle.FROZENSET)


def _refuse_set(unpickler):
    """Refuses a set or frozenset: piano-roll pickles hold none, and nested
    frozensets that share members expand exponentially when printed."""
    del unpickler
    raise pickle.UnpicklingError(
        "Refusing a set or frozenset: a piano-roll pickle may only contain "
        "dicts, lists, tuples, strings and integers."
    )


class RestrictedUnpickler(pickle._Unpickler):
    """Unpickler that builds only dicts, lists, tuples, strings and integers.

    Pickle opcodes for those types need no global lookup, so `find_class`
    refuses every global except the two that numpy writes for integer
    scalars (`numpy.core.multiarray.scalar` and `numpy.dtype`), which some
    copies of the data use for pitches, and `_codecs.encode`, which
    protocol 2 uses for their raw bytes. Even those are replaced by local
    stand-ins that accept only integer dtypes (resp. latin-1 strings) and
    return Python `int`s (resp. `bytes`). A
    pickle that names any other callable (`os.system`, `builtins.eval`, ...)
    raises `pickle.UnpicklingError` before anything is called, and so do
    a tuple that holds a tuple (see `_refuse_nested_tuple`) and a set.
    """

    dispatch = dict(pickle._Unpickler.dispatch)
    for _opcode in _TUPLE_OPCODES:
        dispatch[_opcode[0]] = _checked(pickle._Unpickler.dispatch[_opcode[0]])
    for _opcode in _SET_OPCODES:
        dispatch[_opcode[0]] = _refuse_set
    del _opcode

    def load(self):
        # The Python implementation reports an unknown opcode as a bare
        # KeyError; say what the C one says ("invalid load key, 'n'.").
        try:
            return super().load()
        except KeyError as error:
            if error.args and isinstance(error.args[0], int):
                raise pickle.UnpicklingError(
                    f"invalid load key, {chr(error.args[0])!r}."
                ) from None
            raise

    def find_class(self, module, name):
        if (module, name) in _NUMPY_SCALAR:
            return _integer_scalar
        if (module, name) in _NUMPY_DTYPE:
            return _IntegerDType
        if (module, name) in _CODECS_ENCODE:
            return _latin1_bytes
        raise pickle.UnpicklingError(
            f"Refusing to load global '{module}.{name}': a piano-roll pickle "
            "may only contain dicts, lists, tuples, strings and integers."
        )


def loads(data):
    """Unpickles `data` (bytes) with `RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data), encoding="latin-1").load()


def load(path):
    """Unpickles the file at `path` with `RestrictedUnpickler`."""
    with tf.io.gfile.GFile(str(path), "rb") as f:
        return loads(f.read())
