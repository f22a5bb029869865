"""Diagnostics: learning-curve figures and gradient profiles."""

from keras_rnncr.diagnostics.plots import plot_history

__all__ = ["plot_history"]
