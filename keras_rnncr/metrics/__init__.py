"""Evaluation metrics in the units of Pascanu, Mikolov & Bengio (ICML 2013)."""

from keras_rnncr.metrics.bits_per_character import BitsPerCharacter, bits_per_character
from keras_rnncr.metrics.frame_nll import FrameNLL, frame_nll

__all__ = ["BitsPerCharacter", "FrameNLL", "bits_per_character", "frame_nll"]
