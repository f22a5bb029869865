"""Datasets of Pascanu et al. (2013) as TFDS builders, and offline substitutes."""

from keras_rnncr.datasets.offline_chorales import load_offline_chorales
from keras_rnncr.datasets.offline_text import load_offline_text
from keras_rnncr.datasets.polyphonic_music.polyphonic_music_dataset_builder import (
    Builder as PolyphonicMusic,
)
from keras_rnncr.datasets.ptb_char.ptb_char_dataset_builder import Builder as PtbChar

__all__ = ["PolyphonicMusic", "PtbChar", "load_offline_chorales", "load_offline_text"]
