"""eegmon's command line and the composition of its parts."""
