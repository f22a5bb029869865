"""Recurrent layers that add the Omega regularizer (Pascanu et al., 2013)."""

from keras_rnncr.layers.gru import GRU
from keras_rnncr.layers.lstm import LSTM
from keras_rnncr.layers.omega_rnn import RNN
from keras_rnncr.layers.simple_rnn import SimpleRNN

__all__ = ["GRU", "LSTM", "RNN", "SimpleRNN"]
