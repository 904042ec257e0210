"""Results folders and plots."""
