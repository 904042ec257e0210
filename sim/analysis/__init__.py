"""Work on many runs: sweeps and sensitivity (here), calibration, comparison, reports (planned).

- ``design``: ``--vary`` texts -> points of a grid or a Latin hypercube;
- ``executors``: where runs execute (this process, a local process pool, a Dask cluster);
- ``sweep``: plans, resumable results folders written run by run, the model run of one task;
- ``outcomes``: outcomes chosen by metric, statistic and date window;
- ``sensitivity``: parameter files, SALib sampling and analysis (Sobol, Morris);
- ``sweep_plots``: outcomes against the varied keys;
- ``plans``: the plans of ``propsim sweep`` and ``propsim sensitivity`` and how their folders
  are finished (their options live in ``sim.cli``, which nothing here imports);
- ``tables``: printed tables (numbers as analysts read them, a sweep's per-point table);
- ``problem``, ``calibration``, ``fit_report``: targets and priors, ABC-SMC, the fit report.
"""
