"""The lowest layer, used by everything: errors, atomic file I/O and checkpoints, likelihoods, devices."""
