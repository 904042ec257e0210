"""Scenario schema and loading: the section models, dotted keys, line-aware YAML."""
