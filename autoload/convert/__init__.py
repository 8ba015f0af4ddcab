"""The shared converters: canonical (PyTorch state-dict) names and layouts <-> TF and Flax ones."""
