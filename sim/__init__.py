"""propsim: agent-based simulation of pro-IS propaganda on social media (2014-2016).

Layers, bottom to top (each imports only from those below it; ``docs/architecture.md``):
``errors`` -> ``config`` (base schema, line-aware YAML, loading) -> ``core`` (the model's shared
state and day loop, the component contract, random streams, compiled kernels) -> ``components``
(one mechanism per file) -> ``scenario`` (the root schema assembled from the components,
``load_scenario``) -> ``metrics`` -> ``io`` (results folders, plots) -> ``execution`` (serial,
process pool, Dask) -> ``analysis`` (sweeps, sensitivity, calibration) -> ``cli``.

Data flows one way: YAML -> validated scenario -> model -> daily metrics -> results folder ->
plots and reports.
"""
