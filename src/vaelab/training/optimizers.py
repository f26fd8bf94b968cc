"""The optimisers a run can train with (``TrainConfig.optimizer``): PyTorch's Adam, or the Adam of Burda et al.'s
published code.

``BurdaAdam`` follows ``optimizers.py`` of github.com/yburda/iwae (Burda, Grosse & Salakhutdinov, *Importance
Weighted Autoencoders*, ICLR 2016), which differs from Adam as published (Kingma & Ba 2015) and as in PyTorch. Per
parameter, with G_t the gradient of minibatch t's *summed* loss and t counting from 1, the published step t is

    theta <- theta - alpha_t * m / (sqrt(v) + eps),   alpha_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
    m     <- beta1 * m + (1 - beta1) * G_t            # m starts at zeros
    v     <- beta2 * v + (1 - beta2) * G_t^2          # v starts at ONES (PyTorch: zeros)

with every right-hand side read before the step (Theano's simultaneous updates), so:

1. v starts at ones: the first thousands of steps are damped (a built-in warm-up);
2. the parameter update of step t uses m_{t-1}, v_{t-1}: minibatch t's gradient moves the parameters at step t + 1
   (and step 1 moves nothing);
3. eps is added to sqrt(v) itself, and both bias corrections are folded into alpha_t;
4. G is the gradient of the minibatch's sum. vaelab's loss is the minibatch mean g = G / B (B = ``grad_scale``, the
   batch size), so eps weighs what it weighs in the published code only if it is rescaled.

``BurdaAdam`` runs this on PyTorch's Adam kernel (fused where available: one pass over the parameters, 3x faster
than eight elementwise kernels) by setting, before PyTorch's step s (s = 1, 2, ...), its state and scalars so that
the kernel computes exactly the published update that minibatch s's moments make:

* the state starts at m = 0, v = 1 / B^2 (v of the summed gradient = 1), so that m, v are the published code's / B,
  / B^2;
* the kernel's update is lr_s / (1 - beta1^s) * m_s / (sqrt(v_s / (1 - beta2^s)) + eps_s); with
  eps_s = (eps / B) / sqrt(1 - beta2^s) and lr_s = alpha_{s+1} * (1 - beta1^s) / sqrt(1 - beta2^s) it is
  alpha_{s+1} * m_s / (sqrt(v_s) + eps / B) = alpha_{s+1} * M_s / (sqrt(V_s) + eps) in the published code's scale.

So step s applies the update that the published code applies at the start of its step s + 1: the same sequence of
parameter values, each reached one call earlier. Two consequences: after the last minibatch, its update is applied
here and pending there; and where the learning rate changes between steps s and s + 1 (7 times in Burda et al.'s
schedule), that one update is made at the old rate here and at the new one there.
"""

from __future__ import annotations

import math

import torch

from vaelab.runs.spec import TrainConfig


class FusedAdam(torch.optim.Adam):
    """PyTorch's Adam (Kingma & Ba 2015), whose fused steps skip ``torch.optim.Adam.step``'s per-step bookkeeping
    (``fused_adam_step``): the same update, bit for bit, cheaper on a CPU for small networks such as Burda et al.'s
    784-200-200-50 (docs/guide/performance.md). Arguments and errors as ``torch.optim.Adam``."""

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter; ``closure`` as for ``torch.optim.Adam`` (then PyTorch's own step)."""
        if closure is None and all(fused_adam_ready(self, group) for group in self.param_groups):
            for group in self.param_groups:
                fused_adam_step(self, group)
            return None
        return super().step(closure)


class BurdaAdam(FusedAdam):
    """The Adam of Burda et al.'s code (module docstring), minimising a loss averaged over minibatches of
    ``grad_scale`` images.

    Args:
        params: the parameters (or parameter groups) to optimise; every one must have a gradient at every step.
        lr: the learning rate (a group's ``"lr"`` may be changed between steps, as schedules do).
        betas: ``(beta1, beta2)``; the published code uses ``(0.99, 0.999)``.
        eps: added to sqrt(v) of the summed gradient; the published code uses 1e-4.
        grad_scale: B, the images whose mean loss vaelab differentiates (the published code differentiates the
            sum).
        fused: PyTorch Adam's ``fused`` (None: PyTorch's default kernels; ``make_optimizer`` asks for the fused one
            and falls back where the device has none).

    Raises:
        ValueError: a non-positive lr, eps or grad_scale, or a beta outside [0, 1).
    """

    def __init__(self, params, lr=1e-3, betas=(0.99, 0.999), eps=1e-4, grad_scale=1.0, fused: bool | None = None):
        if not lr > 0 or not eps > 0 or not grad_scale > 0:
            raise ValueError(f"BurdaAdam: lr, eps and grad_scale must be > 0, got {lr}, {eps}, {grad_scale}")
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"BurdaAdam: betas must lie in [0, 1), got {tuple(betas)}")
        super().__init__(params, lr=lr, betas=tuple(betas), eps=eps, fused=fused)
        for group in self.param_groups:
            group.update(burda_eps=float(eps), grad_scale=float(grad_scale), burda_steps=0)

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter (module docstring); ``closure`` as for ``torch.optim.Adam``."""
        scheduled = []
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            s, scale = group["burda_steps"] + 1, group["grad_scale"]
            for p in group["params"]:
                if p.grad is not None and not self.state[p]:  # the published start: m = 0, v = 1 (summed scale)
                    on_device = group["fused"] or group["capturable"]
                    self.state[p].update(
                        step=torch.zeros((), dtype=torch.float32, device=p.device if on_device else "cpu"),
                        exp_avg=torch.zeros_like(p, memory_format=torch.preserve_format),
                        exp_avg_sq=torch.full_like(p, 1.0 / scale**2, memory_format=torch.preserve_format),
                    )
            alpha_next = math.sqrt(1.0 - beta2 ** (s + 1)) / (1.0 - beta1 ** (s + 1))
            scheduled.append(group["lr"])
            group["lr"] = group["lr"] * alpha_next * (1.0 - beta1**s) / math.sqrt(1.0 - beta2**s)
            group["eps"] = group["burda_eps"] / scale / math.sqrt(1.0 - beta2**s)
        try:
            loss = super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, scheduled, strict=True):
                group["lr"] = lr
                group["burda_steps"] += 1
        return loss


def fused_adam_ready(optimizer: torch.optim.Adam, group: dict) -> bool:
    """Whether ``fused_adam_step`` makes the very update ``torch.optim.Adam.step`` would for ``group``: the fused
    kernel, plain Adam (no AMSGrad, weight decay, maximize, capturable or differentiable options, no grad scaler),
    every parameter with a gradient and its state, all of one device and dtype."""
    if not group["fused"] or group["amsgrad"] or group["maximize"] or group["capturable"] or group["differentiable"]:
        return False
    if group["weight_decay"] or group["decoupled_weight_decay"] or getattr(optimizer, "grad_scale", None) is not None:
        return False
    params = group["params"]
    first = params[0]
    return all(
        p.grad is not None and p.device == first.device and p.dtype == first.dtype and optimizer.state[p]
        for p in params
    )


def fused_adam_step(optimizer: torch.optim.Adam, group: dict) -> None:
    """One fused Adam update of ``group`` (``fused_adam_ready``): the two kernels ``torch.optim.Adam.step`` ends
    in (the step counts, then ``torch._fused_adam_``), without its per-step regrouping of the tensors by device and
    dtype, a large part of a CPU step's cost for small networks such as Burda et al.'s at batch 20. The same
    arithmetic, so the same bits."""
    params = group["params"]
    states = [optimizer.state[p] for p in params]
    steps = [s["step"] for s in states]
    beta1, beta2 = group["betas"]
    torch._foreach_add_(steps, 1)
    torch._fused_adam_(
        params,
        [p.grad for p in params],
        [s["exp_avg"] for s in states],
        [s["exp_avg_sq"] for s in states],
        [],
        steps,
        amsgrad=False,
        lr=group["lr"],
        beta1=beta1,
        beta2=beta2,
        weight_decay=0.0,
        eps=group["eps"],
        maximize=False,
        grad_scale=None,
        found_inf=None,
    )


def make_optimizer(params, cfg: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser ``cfg.optimizer`` names over ``params`` (trainable parameters), with ``cfg``'s lr, betas and eps.

    ``adam``: PyTorch's Adam on the minibatch's mean loss (its fused kernel where supported: ~1.3x faster per step
    on CPU). ``burda-adam``: ``BurdaAdam`` with ``grad_scale = cfg.batch_size`` (the published code's summed loss).
    """
    params = list(params)
    betas = (cfg.adam_beta1, cfg.adam_beta2)
    cls, kw = FusedAdam, {"lr": cfg.lr, "betas": betas, "eps": cfg.adam_eps}
    if cfg.optimizer == "burda-adam":
        cls, kw = BurdaAdam, {**kw, "grad_scale": float(cfg.batch_size)}
    try:
        return cls(params, fused=True, **kw)
    except (RuntimeError, TypeError):
        return cls(params, **kw)
