"""Recurrent layers that add the Omega regularizer (Pascanu et al., 2013)."""
