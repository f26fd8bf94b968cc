"""Figures. ``grids`` writes image grids with Pillow only; the other modules use matplotlib."""
