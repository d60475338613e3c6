"""Recorded EEG: files read as blocks (one reader per family), the EDF+/BDF+ recorder."""
