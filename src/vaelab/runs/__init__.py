"""The runs layer: what a run is on disk (its folder, its packed form, its relay snapshot)."""
