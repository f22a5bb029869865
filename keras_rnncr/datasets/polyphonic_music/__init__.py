"""`polyphonic_music` TFDS builder (Boulanger-Lewandowski et al., ICML 2012)."""
