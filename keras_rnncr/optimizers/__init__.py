"""Optimizer wrappers: gradient-norm clipping after cross-replica aggregation."""

from keras_rnncr.optimizers.clipping import ClippedOptimizer
from keras_rnncr.optimizers.thresholds import (
    AverageNormThreshold,
    PercentileThreshold,
    ThresholdRule,
    ZScoreThreshold,
)

__all__ = [
    "AverageNormThreshold",
    "ClippedOptimizer",
    "PercentileThreshold",
    "ThresholdRule",
    "ZScoreThreshold",
]
