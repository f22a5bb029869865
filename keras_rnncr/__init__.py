"""keras_rnncr: training recurrent networks that neither explode nor forget.

Gradient-norm clipping and the Omega regularizer of Pascanu, Mikolov & Bengio,
"On the difficulty of training recurrent neural networks", ICML 2013, for Keras 3
on TensorFlow.
"""

from keras_rnncr._backend import check_backend

check_backend()

from keras_rnncr import (  # noqa: E402
    callbacks,  # noqa: E402
    datasets,  # noqa: E402  (registers the TFDS builders)
    diagnostics,  # noqa: E402
    initializers,  # noqa: E402
    layers,  # noqa: E402
    methods,  # noqa: E402
    metrics,  # noqa: E402
    music,  # noqa: E402
    optimizers,  # noqa: E402
    tasks,  # noqa: E402
    text,  # noqa: E402
)

__version__ = "0.1.0"

__all__ = [
    "callbacks",
    "datasets",
    "diagnostics",
    "initializers",
    "layers",
    "methods",
    "metrics",
    "music",
    "optimizers",
    "tasks",
    "text",
]
