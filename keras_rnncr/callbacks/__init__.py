"""Training callbacks for keras_rnncr."""

from keras_rnncr.callbacks.clipping import ClippingLogger
from keras_rnncr.callbacks.learning_rate_halving import (
    HalveLearningRateOnIncrease,
    HalveLearningRateOnPlateau,
)
from keras_rnncr.callbacks.omega_scheduler import (
    InverseTimeOmega,
    OmegaScheduler,
    omega_layers,
)
from keras_rnncr.callbacks.rnn_diagnostics import RNNDiagnostics
from keras_rnncr.callbacks.spectral_radius import (
    SpectralRadiusLogger,
    recurrent_spectral_radii,
    spectral_radius,
)
from keras_rnncr.callbacks.time_budget import TimeBudget
from keras_rnncr.callbacks.training_checkpoint import TrainingCheckpoint

__all__ = [
    "ClippingLogger",
    "HalveLearningRateOnIncrease",
    "HalveLearningRateOnPlateau",
    "InverseTimeOmega",
    "OmegaScheduler",
    "RNNDiagnostics",
    "SpectralRadiusLogger",
    "TimeBudget",
    "TrainingCheckpoint",
    "omega_layers",
    "recurrent_spectral_radii",
    "spectral_radius",
]
