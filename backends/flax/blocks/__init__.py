"""Shared building blocks of the Flax (linen) models, parameterised by config-derived options (see
autoload/decoder_options.py); submodule names are the checkpoints' names."""
