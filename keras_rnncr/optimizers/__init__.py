"""Optimizer wrappers: gradient-norm clipping after cross-replica aggregation."""

from keras_rnncr.optimizers.clipping import ClippedOptimizer
from keras_rnncr.optimizers.thresholds import AverageNormThreshold
from keras_rnncr.optimizers.thresholds import PercentileThreshold
from keras_rnncr.optimizers.thresholds import ThresholdRule
from keras_rnncr.optimizers.thresholds import ZScoreThreshold

__all__ = [
    "AverageNormThreshold",
    "ClippedOptimizer",
    "PercentileThreshold",
    "ThresholdRule",
    "ZScoreThreshold",
]
