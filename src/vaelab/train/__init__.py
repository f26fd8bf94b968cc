"""Training: the run folder, the trainer, closed-form fitting, creating and resuming runs."""
