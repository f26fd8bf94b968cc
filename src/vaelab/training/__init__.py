"""Training: the step/epoch loop (``loop``) and what happens around it (``callbacks``), optimizers
(``optimizers``), learning-rate and KL schedules (``schedules``), data-parallel processes (``distributed``),
closed-form fitting (``closed_form``), and a run's life, created or resumed under one rule (``lifecycle``).

What to train (``RunSpec``, ``TrainConfig``, ``DataConfig``) and the run folder's files are the ``vaelab.runs``
layer below this one.
"""

from vaelab.training.lifecycle import TrainResult, create_run, resume_run, train_run
from vaelab.training.loop import Trainer

__all__ = ["TrainResult", "Trainer", "create_run", "resume_run", "train_run"]
