"""Training: the typed run configuration (``config``), the run folder (``rundir``), the step/epoch loop
(``trainer``) and what happens around it (``callbacks``), closed-form fitting (``closed_form``), and a run's life,
created or resumed (``runs``)."""

from vaelab.train.config import DataConfig, RunSpec, TrainConfig
from vaelab.train.rundir import RunDir
from vaelab.train.runs import TrainResult, create_run, resume_run, train
from vaelab.train.trainer import Trainer

__all__ = [
    "DataConfig",
    "RunDir",
    "RunSpec",
    "TrainConfig",
    "TrainResult",
    "Trainer",
    "create_run",
    "resume_run",
    "train",
]
