"""`ptb_char` TFDS builder: character-level Penn Treebank (Mikolov et al., 2012)."""
