"""Tests of the command-line modules (``sim.cli``) that have a test module of the same name
elsewhere (``tests/analysis/test_discover.py``): a package, so pytest tells them apart."""
