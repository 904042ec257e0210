"""Shared state of a run: users, pro accounts, the follower graph, encrypted channels."""
