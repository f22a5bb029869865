"""Command-line flags shared by the examples, and a quiet TensorFlow start-up.

The examples parse their flags with `parser()` and `add_common_flags()` before
anything imports TensorFlow, so that `--help` answers at once, and then call
`start_tensorflow()`. This module therefore lives beside the examples and
imports neither TensorFlow nor keras_rnncr (whose import loads TensorFlow).
"""

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile

# keras_rnncr.methods.METHODS, the paper's three set-ups, spelled out so that
# --help needs no TensorFlow (a test checks that the two agree).
METHODS = ("sgd", "sgd-c", "sgd-cr")

# Lines TensorFlow writes to stderr while it starts on a machine without a GPU:
# the log of its shared libraries' static initialisers, which precedes absl's
# set-up and so ignores TF_CPP_MIN_LOG_LEVEL, and the CUDA probe, which fails
# with "UNKNOWN ERROR (303)" when no GPU is present. They read like failures and
# are not. Everything else written during the start-up is shown.
_START_UP_NOISE = (
    "All log messages before absl::InitializeLog() is called",
    "port.cc:153] oneDNN custom operations are on",
    "cudart_stub.cc:31] Could not find cuda drivers",
    "cuda_platform.cc:52] failed call to cuInit",
    "cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
    "To enable the following instructions:",
)


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows `(default: ...)` except for flags whose help states the default."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class _DeprecatedAlias(argparse.Action):
    """An old flag name that still works and says which name replaces it."""

    def __init__(self, option_strings, dest, replacement, **kwargs):
        super().__init__(option_strings, dest, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None):
        if not getattr(self, "warned", False):  # once, if parsed again
            sys.stderr.write(
                f"{parser.prog}: warning: {option_string} is deprecated; use "
                f"{self.replacement}.\n"
            )
            self.warned = True
        setattr(namespace, self.dest, values)


def _number(kind, test, accepted):
    """An argparse type: `kind(text)` if `test` holds, else an error saying
    the accepted values (argparse names the flag)."""

    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {accepted}") from None
        if not test(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {accepted}")
        return value

    convert.__name__ = accepted  # argparse shows it in "invalid ... value"
    return convert


positive_int = _number(int, lambda v: v > 0, "a positive integer")
non_negative_int = _number(int, lambda v: v >= 0, "an integer >= 0")
# keras_rnncr.initializers.MAX_SEED, spelled out for the same reason (tested).
MAX_SEED = 715827881
seed_int = _number(int, lambda v: 0 <= v <= MAX_SEED, f"an integer in [0, {MAX_SEED}]")
positive_float = _number(
    float, lambda v: 0 < v < float("inf"), "a positive finite number"
)
non_negative_float = _number(
    float, lambda v: 0 <= v < float("inf"), "a finite number >= 0"
)
unit_fraction = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")


def output_folder(text):
    """An argparse type: a folder the example can create or write into.

    Checked when the flags are parsed, so that a run is not lost at its end:
    the path must not be an existing file, and its nearest existing parent
    must be a writable folder. The folder itself is created when the
    outputs are written.
    """
    path = pathlib.Path(text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a folder")
    parent = next(p for p in (path.absolute(), *path.absolute().parents) if p.exists())
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot be created: {str(parent)!r} is not a folder"
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(
            f"{text!r} cannot be written: {str(parent)!r} is not writable"
        )
    return text


output_folder.__name__ = "folder"  # argparse shows it in "invalid ... value"


def existing_folder(text):
    """An argparse type: an existing folder (e.g. `--data-dir`)."""
    if not pathlib.Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not an existing folder")
    return text


existing_folder.__name__ = "folder"


def given_flags(parser, argv, dests):
    """The `dests` whose flags are on the command line `argv` (None: the
    process's), whatever their values (a default given explicitly counts)."""
    unset = object()
    namespace = parser.parse_args(
        argv, argparse.Namespace(**dict.fromkeys(dests, unset))
    )
    return {dest for dest in dests if getattr(namespace, dest) is not unset}


def refuse_unused(parser, argv, unused):
    """`parser.error` for a flag given that would do nothing.

    Args:
        parser, argv: as parsed.
        unused: dict `{dest: why}` of the flags the other flags leave unused,
            `why` completing "--flag ...".
    """
    if unused:
        for dest in sorted(given_flags(parser, argv, unused)):
            parser.error(f"--{dest.replace('_', '-')} {unused[dest]}")


def usage_error(message):
    """A `SystemExit` for a flag refused after parsing (say, once the data are
    read), with argparse's exit status 2; `message` is printed to stderr."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    return SystemExit(2)


def method_unused(method):
    """`{dest: why}` of the common flags `--method` leaves unused."""
    unused = {}
    if method == "sgd":
        unused["threshold"] = (
            "applies to --method sgd-c and sgd-cr (clipping) only; got --method sgd"
        )
    if method != "sgd-cr":
        unused["omega"] = f"applies to --method sgd-cr only; got --method {method}"
    return unused


def recorded(args, unused=()):
    """`vars(args)` for a run's record, the flags it left unused as None."""
    return {k: None if k in unused else v for k, v in vars(args).items()}


def parser(doc):
    """An `ArgumentParser` described by the first line of `doc`, showing defaults."""
    return argparse.ArgumentParser(
        description=doc.splitlines()[0], formatter_class=_HelpFormatter
    )


def _default(value, name):
    """`(default, help suffix)` for a number, or for a text saying the default."""
    if isinstance(value, str):
        return None, f" (default: {value})"
    if value is None:
        raise ValueError(f"Argument `{name}` needs a number or a text. Received: None")
    return value, ""


def add_common_flags(
    parser,
    *,
    learning_rate,
    threshold,
    omega,
    output,
    verbose=1,
    omega_help="weight alpha of the Omega regularizer",
):
    """Adds the flags every example takes, with one name for each thing.

    `--method`, `--learning-rate`, `--threshold` (of the gradient-norm clipping,
    sgd-c and sgd-cr), `--omega` (the weight alpha of Omega, sgd-cr; `--alpha`
    is kept as a deprecated alias), `--seed`, `--threads`, `--verbose`,
    `--output` and `--no-export`.

    Args:
        parser: the `argparse.ArgumentParser` to extend.
        learning_rate, threshold, omega: the default, as a number, or as a text
            saying where it comes from (the flag's value is then `None`, which
            the example resolves once it knows the dataset or method).
        output: default output folder.
        verbose: default `fit` verbosity. Defaults to 1.
        omega_help: what `--omega` sets, for the help text.
    """
    parser.add_argument(
        "--method",
        default="sgd-cr",
        choices=METHODS,
        help="sgd: plain SGD; sgd-c: SGD with gradient-norm clipping (Algorithm "
        "1); sgd-cr: clipping and the Omega regularizer (Eq. 10)",
    )
    default, note = _default(learning_rate, "learning_rate")
    parser.add_argument(
        "--learning-rate",
        type=positive_float,
        default=default,
        help="SGD step size" + note,
    )
    default, note = _default(threshold, "threshold")
    parser.add_argument(
        "--threshold",
        type=positive_float,
        default=default,
        help="clipping threshold of the gradient norm (sgd-c, sgd-cr)" + note,
    )
    default, note = _default(omega, "omega")
    parser.add_argument(
        "--omega",
        type=non_negative_float,
        default=default,
        help=f"{omega_help} (sgd-cr){note}",
    )
    parser.add_argument(
        "--alpha",
        dest="omega",
        type=non_negative_float,
        default=argparse.SUPPRESS,
        action=_DeprecatedAlias,
        replacement="--omega",
        help=argparse.SUPPRESS,
    )
    parser.add_argument(
        "--seed", type=seed_int, default=0, help="seed of data and weights"
    )
    parser.add_argument(
        "--threads",
        type=non_negative_int,
        default=0,
        help="CPU threads of TensorFlow (intra- and inter-op); 0: TensorFlow's choice",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=verbose,
        choices=(0, 1, 2),
        help="fit verbosity: 0 silent, 1 progress bar, 2 one line per epoch",
    )
    parser.add_argument(
        "--output", type=output_folder, default=output, help="folder for the outputs"
    )
    parser.add_argument(
        "--no-export", action="store_true", help="skip the SavedModel export"
    )


@contextlib.contextmanager
def _filtered_stderr(noise):
    """Captures file descriptor 2 and writes back the lines matching no `noise`."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(True)
            kept = [line for line in lines if not _is_noise(line, noise)]
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


def _is_noise(line, noise):
    return any(pattern in line for pattern in noise)


def start_tensorflow(threads=0):
    """Imports TensorFlow, applies `--threads` and prints the devices in one line.

    Unless the user set `TF_CPP_MIN_LOG_LEVEL`, sets it to 2 (TensorFlow's
    C++ log keeps its errors) and hides TensorFlow's start-up lines listed in
    `_START_UP_NOISE`; with the variable set, TensorFlow's log is left as is.

    Args:
        threads: int, intra- and inter-op threads; 0 leaves TensorFlow's choice.

    Returns:
        The `tensorflow` module.
    """
    quiet = "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    first = "tensorflow" not in sys.modules
    if quiet:
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    filtered = _filtered_stderr(_START_UP_NOISE) if quiet and first else None
    with filtered or contextlib.nullcontext():
        import tensorflow as tf

        devices = tf.config.list_physical_devices()
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    if first:
        kinds = sorted({device.device_type for device in devices})
        hint = "; start-up log hidden, TF_CPP_MIN_LOG_LEVEL=0 shows it" if quiet else ""
        print(f"TensorFlow {tf.__version__} on {', '.join(kinds)}{hint}.")
    return tf
