"""Learning-rate schedules and KL warm-up, as pure functions of the epoch (so a resumed run needs no extra state).

``epoch`` is the 0-based index of the epoch about to run (epoch 1 of the progress display is index 0).

* constant: ``lr``; step: ``lr * lr_gamma ** (epoch // lr_step_size)``; exponential: ``lr * lr_gamma ** epoch``;
* cosine: ``lr_min + (lr - lr_min) * (1 + cos(pi * t / T)) / 2`` with ``t = epoch - warmup_epochs`` and
  ``T = epochs - warmup_epochs`` (Loshchilov & Hutter, SGDR, 2017);
* burda: Burda, Grosse & Salakhutdinov (2015), section 5 and their code (yburda/iwae, ``experiments.py``): stage
  i = 0..7 lasts 3^i epochs (3,280 in all) at ``1e-4 * round(10 ** (1 - i / 7), 1)``, written here as
  ``lr * round(10 ** (1 - i / 7), 1) / 10`` so that ``lr = 1e-3`` gives the paper's rates; past the last stage the
  last rate is kept;
* linear warm-up (any schedule): epoch ``e < warmup_epochs`` runs at ``(e + 1) / warmup_epochs`` of the rate;
* KL warm-up: the factor of beta is ``min(1, epoch / kl_warmup_epochs)`` (0 in the first epoch, 1 from epoch index
  ``kl_warmup_epochs`` on; Bowman et al. 2016, Sønderby et al. 2016);
* early stopping: a run stops once ``early_stopping_patience`` epochs have passed since its best one (the rule is
  ``vaelab.runs.spec.patience_exhausted``, which the leaderboard reads too).
"""

from __future__ import annotations

import math

from vaelab.runs.spec import TrainConfig

BURDA_STAGES = 8


def burda_stage(epoch: int) -> int:
    """The stage i (0..7) of Burda et al.'s schedule that epoch index ``epoch`` falls in (7 past 3,280 epochs)."""
    end = 0
    for i in range(BURDA_STAGES):
        end += 3**i
        if epoch < end:
            return i
    return BURDA_STAGES - 1


def burda_epochs() -> int:
    """Epochs of the whole schedule: sum of 3^i for i = 0..7 = 3,280."""
    return sum(3**i for i in range(BURDA_STAGES))


def learning_rate(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of epoch index ``epoch`` under ``cfg``'s schedule and warm-up (module docstring)."""
    base, kind = cfg.lr, cfg.lr_schedule
    if kind == "constant":
        lr = base
    elif kind == "step":
        lr = base * cfg.lr_gamma ** (epoch // cfg.lr_step_size)
    elif kind == "exponential":
        lr = base * cfg.lr_gamma**epoch
    elif kind == "cosine":
        span = max(cfg.epochs - cfg.warmup_epochs, 1)
        t = min(max(epoch - cfg.warmup_epochs, 0), span)
        lr = cfg.lr_min + (base - cfg.lr_min) * 0.5 * (1 + math.cos(math.pi * t / span))
    elif kind == "burda":
        lr = base * round(10 ** (1 - burda_stage(epoch) / 7), 1) / 10
    else:  # the typed config allows nothing else
        raise AssertionError(kind)
    if epoch < cfg.warmup_epochs:
        lr *= (epoch + 1) / cfg.warmup_epochs
    return lr


def kl_scale(cfg: TrainConfig, epoch: int) -> float:
    """The factor of beta in epoch index ``epoch``: ``min(1, epoch / kl_warmup_epochs)``, or 1 without warm-up."""
    if cfg.kl_warmup_epochs == 0:
        return 1.0
    return min(1.0, epoch / cfg.kl_warmup_epochs)
