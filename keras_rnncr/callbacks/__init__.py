"""Training callbacks for keras_rnncr."""

from keras_rnncr.callbacks.clipping import ClippingLogger

__all__ = ["ClippingLogger"]
