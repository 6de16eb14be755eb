"""ECG analyzer package (the analyzer class is exported here once built)."""
