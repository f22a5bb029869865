"""Training callbacks for keras_rnncr."""

from keras_rnncr.callbacks.clipping import ClippingLogger
from keras_rnncr.callbacks.omega_scheduler import (
    InverseTimeOmega,
    OmegaScheduler,
    omega_layers,
)

__all__ = ["ClippingLogger", "InverseTimeOmega", "OmegaScheduler", "omega_layers"]
