"""Scripts that reproduce the fundus weights from the development set (torch: the `train` extra only)."""
