"""Work on many runs: sweeps, sensitivity, calibration, comparison, reports (planned)."""
