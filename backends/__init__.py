"""Framework adapters, installed as autoload.backends: autoload.backends.torch, .tf and .flax build models on the autoload core."""
