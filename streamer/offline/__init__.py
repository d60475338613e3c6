"""Offline: scanning files and archives far faster than real time, on Dask."""
