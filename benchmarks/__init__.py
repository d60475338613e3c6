"""eegmon benchmarks: `make bench` prints a table and writes JSON to benchmarks/results/."""
