"""Training callbacks for keras_rnncr."""

from keras_rnncr.callbacks.clipping import ClippingLogger
from keras_rnncr.callbacks.omega_scheduler import (
    InverseTimeOmega,
    OmegaScheduler,
    omega_layers,
)
from keras_rnncr.callbacks.spectral_radius import (
    SpectralRadiusLogger,
    spectral_radius,
)

__all__ = [
    "ClippingLogger",
    "InverseTimeOmega",
    "OmegaScheduler",
    "SpectralRadiusLogger",
    "omega_layers",
    "spectral_radius",
]
