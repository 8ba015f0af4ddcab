"""Shared building blocks of the PyTorch models, parameterised by config-derived options (see
autoload/decoder_options.py); module attribute names are the checkpoints' names."""
