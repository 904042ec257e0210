"""Work on many runs: sweeps and sensitivity (here), calibration, comparison, reports (planned).

- ``design``: ``--vary`` texts -> points of a grid or a Latin hypercube;
- ``executors``: where runs execute (this process, a local process pool, a Dask cluster);
- ``sweep``: plans, resumable results folders written run by run, the model run of one task;
- ``outcomes``: outcomes chosen by metric, statistic and date window;
- ``sensitivity``: parameter files, SALib sampling and analysis (Sobol, Morris);
- ``sweep_plots``: outcomes against the varied keys;
- ``commands``: the ``propsim sweep`` and ``propsim sensitivity`` subcommands.
"""
