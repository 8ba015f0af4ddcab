"""JAX/Flax adapter."""
