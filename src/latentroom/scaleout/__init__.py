"""Scale-out: corpus encoding and the analysis passes on a Dask cluster (docs/scale-out.md)."""
