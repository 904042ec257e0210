"""The model's shared state, the component contract, random streams and compiled kernels."""
