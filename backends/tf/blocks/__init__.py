"""Shared building blocks of the TensorFlow (Keras 3) models, parameterised by config-derived options
(see autoload/decoder_options.py); layer names are the checkpoints' names."""
