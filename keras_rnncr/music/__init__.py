"""Polyphonic music: next-frame prediction of piano rolls (paper §4.2, Table 1)."""

from keras_rnncr.methods import METHODS  # re-exported: the home is keras_rnncr.methods
from keras_rnncr.music.baselines import (
    baseline_nll,
    best_mixing_weight,
    key_frequencies,
    trivial_baselines,
)
from keras_rnncr.music.data import (
    DATASETS,
    count_frames,
    load_piano_rolls,
    next_frame_dataset,
    next_frame_epochs,
    split_into_subsequences,
)
from keras_rnncr.music.generate import (
    sample_piano_roll,
    save_midi,
    save_piano_roll_png,
)
from keras_rnncr.music.losses import FrameNLLLoss
from keras_rnncr.music.model import (
    BATCH_SIZE,
    MAX_HALVINGS,
    PAPER_SETTINGS,
    PATIENCE,
    THRESHOLD,
    music_callbacks,
    music_model,
)

__all__ = [
    "BATCH_SIZE",
    "DATASETS",
    "FrameNLLLoss",
    "MAX_HALVINGS",
    "METHODS",
    "PAPER_SETTINGS",
    "PATIENCE",
    "THRESHOLD",
    "baseline_nll",
    "best_mixing_weight",
    "count_frames",
    "key_frequencies",
    "load_piano_rolls",
    "music_callbacks",
    "music_model",
    "next_frame_dataset",
    "next_frame_epochs",
    "sample_piano_roll",
    "save_midi",
    "save_piano_roll_png",
    "split_into_subsequences",
    "trivial_baselines",
]
