"""Framework adapters: backends.torch, backends.tf and backends.flax build models on the autoload core."""
