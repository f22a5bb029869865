"""Diagnostics: learning-curve figures and gradient profiles."""

from keras_rnncr.diagnostics.gradient_profile import (
    gradient_profile,
    plot_gradient_profile,
)
from keras_rnncr.diagnostics.plots import plot_history

__all__ = ["gradient_profile", "plot_gradient_profile", "plot_history"]
