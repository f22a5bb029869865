"""Initialisations of Pascanu, Mikolov & Bengio (ICML 2013, §4.1.1)."""

from keras_rnncr.initializers.paper_schemes import PAPER_SCHEMES, paper_initializers
from keras_rnncr.initializers.sparse_spectral import SparseSpectral

__all__ = ["PAPER_SCHEMES", "SparseSpectral", "paper_initializers"]
