"""Reproducible training and evaluation of the ECG analyzer's learned parts (beat classes, rhythm / AF)."""
