"""Running many simulations: serially, on a local process pool or on a Dask cluster."""
