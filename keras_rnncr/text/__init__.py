"""Character-level language modelling: vocabulary, streams, model, sampling, export."""

from keras_rnncr.methods import METHODS  # re-exported: the home is keras_rnncr.methods
from keras_rnncr.text.corpus import CORPORA, load_char_corpus
from keras_rnncr.text.evaluation import (
    evaluate_bits_per_character,
    unigram_bits_per_character,
)
from keras_rnncr.text.export import export_generator
from keras_rnncr.text.model import (
    BATCH_SIZE,
    MAX_HALVINGS,
    MIN_IMPROVEMENT,
    MIN_IMPROVEMENT_AHEAD,
    PAPER_SETTINGS,
    PATIENCE,
    char_callbacks,
    char_model,
    paper_settings,
)
from keras_rnncr.text.pipeline import (
    ResetStreamStates,
    reset_stream_states,
    stateful_layers,
    stream_dataset,
    stream_segments,
)
from keras_rnncr.text.sampling import sample_text
from keras_rnncr.text.vocabulary import CharVocabulary

__all__ = [
    "BATCH_SIZE",
    "CORPORA",
    "MAX_HALVINGS",
    "METHODS",
    "MIN_IMPROVEMENT",
    "MIN_IMPROVEMENT_AHEAD",
    "PAPER_SETTINGS",
    "PATIENCE",
    "CharVocabulary",
    "ResetStreamStates",
    "char_callbacks",
    "char_model",
    "evaluate_bits_per_character",
    "export_generator",
    "load_char_corpus",
    "paper_settings",
    "reset_stream_states",
    "sample_text",
    "stateful_layers",
    "stream_dataset",
    "stream_segments",
    "unigram_bits_per_character",
]
