"""Burda et al.'s batch-20 training step on a CPU: vaelab's against a bare PyTorch loop and a hand-written one.

The recipe ``burda-vae-1layer-k1`` (784-200-200-50, tanh, Bernoulli decoder, ``init = "burda"``, ``variance_head =
"log_std"``, ``kl_estimate = "monte-carlo"``, BurdaAdam, ``shuffle = false``, dynamic binarization; 3,280 epochs
of 2,980 steps) is bound by per-operation overhead on a CPU, not by arithmetic. Side by side, in one process on one
thread, each on the same MNIST images:

* ``vaelab``: ``Trainer.step`` with the recipe's options (autograd; the default);
* ``vaelab-manual``: the same with ``backward = "manual"`` (``vaelab.models.manual_grad``);
* ``bare``: an eager PyTorch autograd loop doing the same arithmetic, as one would write it by hand: plain tensors,
  ``F.linear``, the loss summed to a scalar, ``torch.optim.Adam(fused=True)``;
* ``hand``: the gradients written out by hand (no autograd), every parameter and gradient a view of one flat
  buffer, the two Gaussian heads one matrix product, one fused Adam kernel over the flat buffer; its gradients are
  checked against autograd's before timing (``hand_grads_error``);
* ``vaelab-compile`` (``--compile``): ``compile = "default"`` with inductor's C++ wrapper.

Timing: interleaved bursts of ``--steps`` steps, every stepper in turn, ``--bursts`` times; each burst's time per
step is divided by the ``bare`` burst next to it and the median of these ratios is reported (on a shared machine
whose speed drifts, a ratio of neighbours in time is steadier than a ratio of separately measured means). Both the
thread's CPU time (``time.thread_time``: what the step costs; not inflated by waiting for a core) and wall time.
Then ``torch.profiler`` runs each stepper for a few steps and sorts the self CPU time per step into groups
(matrix products, the optimizer, autograd's backward functions, the other operations, and Python between them)
to show where the difference goes.

Writes ``--out`` (default ``bench-results/step.json``); ``benchmarks/render_performance.py`` turns it into
``docs/guide/performance.md``. Run: ``make bench`` (or ``.venv/bin/python benchmarks/bench_step.py``). Needs MNIST
(``$VAELAB_DATA``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from vaelab.data import binarize_dynamic, load_dataset
from vaelab.models import build_model
from vaelab.models.manual_grad import elbo_with_grads
from vaelab.runs.recipes import load_recipe, recipe_spec
from vaelab.runs.spec import TrainConfig
from vaelab.training.loop import Trainer

RECIPE = "burda-vae-1layer-k1"
TARGET_RATIO = 1.1  # vaelab's step time / the bare loop's
IMAGES = 4000  # the first training images the steppers cycle through (200 batches of 20)
LOG_2PI = math.log(2 * math.pi)


# the recipe -------------------------------------------------------------------------------------------------------
def recipe_setup(images: int = IMAGES):
    """The recipe's model options, training options (``TrainConfig`` keyword arguments, one epoch, quiet) and the
    first ``images`` of its training split."""
    spec, _ = recipe_spec(load_recipe(RECIPE), train_flags={"epochs": 1, "progress": False, "samples_per_epoch": 0})
    model_options = {k: v for k, v in spec.model_config.to_dict().items() if k != "image_shape"}
    train_options = spec.train.to_dict()
    data = load_dataset(spec.data.dataset, "train", val_size=spec.data.val_size, limit=images)
    return spec.model, model_options, train_options, data


def vaelab_stepper(model_name: str, model_options: dict, train_options: dict, data, **overrides):
    """``step()``: one ``Trainer.step`` of the recipe on the next batch (the stored order, wrapping around), with
    ``overrides`` of its training options; set up as ``Trainer.fit`` sets up an epoch."""
    torch.manual_seed(0)
    model = build_model(model_name, model_options)
    model.init_from_data(data.images)
    trainer = Trainer(model, model_name, TrainConfig(**{**train_options, **overrides}), data, None)
    trainer.perm = torch.arange(len(data))
    trainer._start_epoch()

    def step():
        if trainer.step_in_epoch >= trainer.steps_per_epoch:
            trainer.step_in_epoch = trainer.checked_step = 0
        trainer.step()

    return step


# the same arithmetic, bare ------------------------------------------------------------------------------------------
LAYERS = (("W1", 784, 200), ("W2", 200, 200), ("Wmu", 200, 50), ("Ws", 200, 50), ("V1", 50, 200), ("V2", 200, 200),
          ("V3", 200, 784))  # fmt: skip


def init_parameters(x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Glorot-uniform weights ``(out, in)``, zero biases, the output bias at the mean pixel's logit (as
    ``init = "burda"``, drawn from torch's generator)."""
    g = torch.Generator().manual_seed(123)
    params = {}
    for name, n_in, n_out in LAYERS:
        scale = math.sqrt(6.0 / (n_in + n_out))
        params[name] = (torch.rand(n_out, n_in, generator=g) * 2 - 1) * scale
        params["b" + name] = torch.zeros(n_out)
    mean = x.flatten(1).mean(0).clamp(0.001, 0.999)
    params["bV3"] = torch.log(mean / (1 - mean))
    return params


def bare_loss(p: dict, x: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """The recipe's loss of a batch ``x (N, 784)`` (binarized) with noise ``eps (N, 50)``, as a bare loop writes it:
    the mean over the batch of -log p(x|z) + log q(z|x) - log p(z) at z = mu + sigma * eps."""
    h = torch.tanh(F.linear(torch.tanh(F.linear(x, p["W1"], p["bW1"])), p["W2"], p["bW2"]))
    mu, log_std = F.linear(h, p["Wmu"], p["bWmu"]), F.linear(h, p["Ws"], p["bWs"])
    z = mu + torch.exp(log_std) * eps
    d = torch.tanh(F.linear(torch.tanh(F.linear(z, p["V1"], p["bV1"])), p["V2"], p["bV2"]))
    recon = F.binary_cross_entropy_with_logits(F.linear(d, p["V3"], p["bV3"]), x, reduction="sum")
    log_q = -0.5 * ((z - mu) ** 2 * torch.exp(-2 * log_std) + 2 * log_std + LOG_2PI).sum()
    log_p = -0.5 * (z * z + LOG_2PI).sum()
    return (recon + log_q - log_p) / len(x)


class Batches:
    """The stored order of ``data``'s images, 20 at a time, wrapping around; binarized dynamically and with
    reparameterization noise from one seeded generator, as the trainer draws them."""

    def __init__(self, data, batch_size: int = 20):
        self.x, self.batch_size, self.i = data.images.flatten(1), batch_size, 0
        self.generator = torch.Generator().manual_seed(0)

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        i, b = self.i, self.batch_size
        self.i = (i + b) % (len(self.x) - b + 1)
        x = binarize_dynamic(self.x[i : i + b], self.generator)
        return x, torch.randn(b, 50, generator=self.generator)


def bare_stepper(data):
    """``step()``: one step of the bare autograd loop (``bare_loss``, ``torch.optim.Adam(fused=True)``)."""
    params = {k: v.requires_grad_() for k, v in init_parameters(data.images).items()}
    opt = torch.optim.Adam(params.values(), lr=1e-3, betas=(0.99, 0.999), eps=1e-4, fused=True)
    batches = Batches(data)

    def step():
        x, eps = batches.next()
        loss = bare_loss(params, x, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


# the same arithmetic, by hand -------------------------------------------------------------------------------------
ORDER = ("W1", "bW1", "W2", "bW2", "Wmu", "Ws", "bWmu", "bWs", "V1", "bV1", "V2", "bV2", "V3", "bV3")


class FlatNet:
    """The recipe's network with every parameter (and its gradient) a view of one flat buffer, in ``ORDER``: the
    mean and log-sigma heads' weights and biases adjacent, so that ``Wh (100, 200)`` and ``bh (100,)`` are both
    heads at once."""

    def __init__(self, params: dict[str, torch.Tensor]):
        self.flat = torch.cat([params[k].flatten() for k in ORDER])
        self.grad = torch.zeros_like(self.flat)
        self.p, self.g, at = {}, {}, 0
        for k in ORDER:
            n = params[k].numel()
            if k == "Wmu":
                self.p["Wh"], self.g["Wh"] = (
                    self.flat[at : at + 2 * n].view(100, 200),
                    self.grad[at : at + 2 * n].view(100, 200),
                )
            if k == "bWmu":
                self.p["bh"], self.g["bh"] = self.flat[at : at + 2 * n], self.grad[at : at + 2 * n]
            self.p[k], self.g[k] = (
                self.flat[at : at + n].view(params[k].shape),
                self.grad[at : at + n].view(params[k].shape),
            )
            at += n

    def grads(self, x: torch.Tensor, eps: torch.Tensor) -> None:
        """Write the gradient of ``bare_loss(x, eps)`` into ``self.grad``, by hand (the derivation:
        ``vaelab.models.manual_grad``)."""
        p, c, tanh_backward = self.p, 1.0 / len(x), torch.ops.aten.tanh_backward
        h1 = torch.addmm(p["bW1"], x, p["W1"].t()).tanh_()
        h2 = torch.addmm(p["bW2"], h1, p["W2"].t()).tanh_()
        heads = torch.addmm(p["bh"], h2, p["Wh"].t())
        mu, log_std = heads[:, :50], heads[:, 50:]
        std_eps = torch.exp(log_std).mul_(eps)
        z = mu + std_eps
        d1 = torch.addmm(p["bV1"], z, p["V1"].t()).tanh_()
        d2 = torch.addmm(p["bV2"], d1, p["V2"].t()).tanh_()
        g = torch.addmm(p["bV3"], d2, p["V3"].t()).sigmoid_().sub_(x).mul_(c)  # d loss / d logits
        g = tanh_backward(self._linear(g, d2, "V3", "bV3"), d2)
        g = tanh_backward(self._linear(g, d1, "V2", "bV2"), d1)
        g_z = self._linear(g, z, "V1", "bV1").add_(z, alpha=c)  # + d(-log p(z))/dz; log q adds 0 to mu's
        g = torch.cat([g_z, (g_z * std_eps).sub_(c)], 1)  # mu's and log sigma's (log q adds -1 to log sigma's)
        g = tanh_backward(self._linear(g, h2, "Wh", "bh"), h2)
        g = tanh_backward(self._linear(g, h1, "W2", "bW2"), h1)
        self._linear(g, x, "W1", "bW1", input_grad=False)

    def _linear(self, g_out, h_in, w: str, b: str, input_grad: bool = True) -> torch.Tensor | None:
        """Write layer ``w``'s weight and bias (``b``) gradients for input ``h_in`` and output gradient ``g_out``;
        return the input's gradient (if asked)."""
        torch.mm(g_out.t(), h_in, out=self.g[w])
        torch.sum(g_out, 0, out=self.g[b])
        return g_out.mm(self.p[w]) if input_grad else None


def hand_stepper(data):
    """``step()``: one step of the hand-written loop (``FlatNet.grads``, one fused Adam over the flat buffer)."""
    net = FlatNet(init_parameters(data.images))
    m, v, step_count = torch.zeros_like(net.flat), torch.ones_like(net.flat), torch.zeros(())
    batches = Batches(data)

    def step():
        net.grads(*batches.next())
        torch._foreach_add_([step_count], 1)
        adam = {"amsgrad": False, "lr": 1e-3, "beta1": 0.99, "beta2": 0.999, "weight_decay": 0.0, "eps": 1e-4}
        torch._fused_adam_([net.flat], [net.grad], [m], [v], [], [step_count], **adam, maximize=False,
                           grad_scale=None, found_inf=None)  # fmt: skip

    return step


def hand_grads_error(data) -> float:
    """The largest difference between ``FlatNet.grads`` and autograd's gradient of ``bare_loss`` on one batch,
    relative to the largest gradient entry of each parameter (float32 rounding: about 1e-7)."""
    params = init_parameters(data.images)
    net = FlatNet(params)
    x, eps = Batches(data).next()
    net.grads(x, eps)
    leaves = {k: v.clone().requires_grad_() for k, v in params.items()}
    bare_loss(leaves, x, eps).backward()
    return max(((net.g[k] - leaves[k].grad).abs().max() / leaves[k].grad.abs().max()).item() for k in ORDER)


def manual_grads_error(model_name: str, model_options: dict, data) -> float:
    """The largest difference between ``backward = "manual"``'s gradients (``elbo_with_grads``) and autograd's for
    the recipe's model on one batch, relative to each parameter's largest gradient entry."""
    torch.manual_seed(0)
    model = build_model(model_name, model_options)
    model.init_from_data(data.images)
    x = binarize_dynamic(data.images[:20], torch.Generator().manual_seed(0))
    (model(x, generator=torch.Generator().manual_seed(1)).loss.sum() / 20).backward()
    reference = {name: p.grad.clone() for name, p in model.named_parameters()}
    elbo_with_grads(model, x, torch.Generator().manual_seed(1), 1 / 20)
    return max(
        ((p.grad - reference[n]).abs().max() / reference[n].abs().max()).item() for n, p in model.named_parameters()
    )


def compile_stepper(model_name, model_options, train_options, data):
    """``vaelab_stepper`` with ``compile = "default"`` and inductor's C++ wrapper (``cpp_wrapper``: the compiled
    graphs are called from C++ rather than Python)."""
    import torch._inductor.config as inductor_config

    inductor_config.cpp_wrapper = True
    return vaelab_stepper(model_name, model_options, train_options, data, compile="default")


# timing -----------------------------------------------------------------------------------------------------------
def interleaved(steppers: dict, bursts: int, steps: int) -> dict[str, dict[str, list[float]]]:
    """Seconds per step of each burst of ``steps`` steps, the steppers in turn, ``bursts`` times: ``{name: {"cpu":
    [...], "wall": [...]}}`` (this thread's CPU time, and wall time)."""
    times = {name: {"cpu": [], "wall": []} for name in steppers}
    for _ in range(bursts):
        for name, step in steppers.items():
            c0, t0 = time.thread_time(), time.perf_counter()
            for _ in range(steps):
                step()
            times[name]["cpu"].append((time.thread_time() - c0) / steps)
            times[name]["wall"].append((time.perf_counter() - t0) / steps)
    return times


def summarise(times: dict, base: str = "bare", hand: str = "hand") -> dict[str, dict[str, float]]:
    """Median ms per step and the median of the per-burst ratios to ``base`` and ``hand``, CPU and wall."""
    out = {}
    for name, t in times.items():
        row = {}
        for clock in ("cpu", "wall"):
            row[f"{clock}_ms"] = 1e3 * statistics.median(t[clock])
            for ref in (base, hand):
                pairs = zip(t[clock], times[ref][clock], strict=True)
                row[f"{clock}_ratio_to_{ref}"] = statistics.median(a / b for a, b in pairs)
        out[name] = row
    return out


# where the time goes ------------------------------------------------------------------------------------------------
GROUPS = {
    "matrix products": ("aten::mm", "aten::addmm"),
    "Adam kernels": ("aten::_fused_adam_", "aten::_foreach_add_"),
}


def _group(name: str) -> str:
    for group, names in GROUPS.items():
        if name in names:
            return group
    if name.startswith("autograd::") or "Backward" in name or name.startswith("torch::autograd"):
        return "autograd's backward functions"
    if name.startswith("aten::") or name in ("detach",):
        return "other operations"
    return "Python around the operations"  # record_function ranges (Optimizer.step#...): their own time is Python


def profile_step(step, steps: int) -> dict:
    """Run ``step`` ``steps`` times under ``torch.profiler`` (CPU): operations per step and self CPU time per step
    in ms by group (``GROUPS``; what the profiler attributes to no operation counts as Python). The profiler adds
    a few microseconds to every operation, so the totals exceed the unprofiled step."""
    from torch.profiler import ProfilerActivity, profile

    c0 = time.thread_time()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    total = (time.thread_time() - c0) / steps * 1e3
    groups = dict.fromkeys([*GROUPS, "autograd's backward functions", "other operations"], 0.0)
    groups["Python around the operations"] = 0.0
    ops = 0
    for event in prof.key_averages():
        groups[_group(event.key)] = groups.get(_group(event.key), 0.0) + event.self_cpu_time_total / 1e3 / steps
        ops += event.count if event.key.startswith("aten::") else 0
    attributed = sum(groups.values())
    groups["Python around the operations"] += max(total - attributed, 0.0)
    return {"ms_per_step": total, "aten_ops_per_step": ops / steps, "groups_ms": groups}


# the report --------------------------------------------------------------------------------------------------------
def machine() -> dict:
    """What the figures were measured on: torch, threads, CPU, the load average (other processes on the cores)."""
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "load_average_1min": os.getloadavg()[0],
        "date": datetime.date.today().isoformat(),
    }


def print_report(result: dict) -> None:
    """The ratios, ms per step and the profile summary, for the terminal."""
    s = result["steppers"]
    print(f"\nBurda et al.'s batch-20 step ({RECIPE}), {result['machine']['threads']} thread(s), median of "
          f"{result['bursts']} interleaved bursts of {result['steps']} steps; load average "
          f"{result['machine']['load_average_1min']:.1f} on {result['machine']['cpu_count']} cores")  # fmt: skip
    print(f"  {'step':16s} {'CPU ms':>7s} {'wall ms':>8s} {'x bare (CPU)':>13s} {'x bare (wall)':>14s} {'x hand':>7s}")
    for name, row in s.items():
        print(f"  {name:16s} {row['cpu_ms']:7.3f} {row['wall_ms']:8.3f} {row['cpu_ratio_to_bare']:13.3f} "
              f"{row['wall_ratio_to_bare']:14.3f} {row['cpu_ratio_to_hand']:7.3f}")  # fmt: skip
    ratio = s["vaelab"]["cpu_ratio_to_bare"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"  vaelab's step / the bare loop's: {ratio:.3f} (target <= {TARGET_RATIO}: {verdict}); hand-written "
        f"gradients checked against autograd: largest relative difference {result['hand_grad_error']:.1e}"
    )
    print("\n  where the time goes (torch.profiler, self CPU ms per step; the profiler inflates every operation):")
    names = list(result["profile"])
    print("  " + f"{'':32s}" + "".join(f"{n:>15s}" for n in names))
    for group in next(iter(result["profile"].values()))["groups_ms"]:
        print("  " + f"{group:32s}" + "".join(f"{result['profile'][n]['groups_ms'][group]:15.3f}" for n in names))
    print(
        "  "
        + f"{'operations per step':32s}"
        + "".join(f"{result['profile'][n]['aten_ops_per_step']:15.0f}" for n in names)
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bursts", type=int, default=40, help="interleaved bursts per stepper (default 40)")
    ap.add_argument("--steps", type=int, default=25, help="steps per burst (default 25)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the issue measured)")
    ap.add_argument("--profile-steps", type=int, default=50, help="steps of each stepper under the profiler")
    ap.add_argument("--compile", action="store_true", help="also time compile = 'default' with the C++ wrapper")
    ap.add_argument("--out", type=Path, default=Path("bench-results/step.json"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model_name, model_options, train_options, data = recipe_setup()
    error = hand_grads_error(data)
    if not error < 1e-5:
        print(
            f"the hand-written gradients differ from autograd's by {error:.2e} (relative): not timed", file=sys.stderr
        )
        return 1
    steppers = {
        "bare": bare_stepper(data),
        "hand": hand_stepper(data),
        "vaelab": vaelab_stepper(model_name, model_options, train_options, data),
        "vaelab-manual": vaelab_stepper(model_name, model_options, train_options, data, backward="manual"),
    }
    compile_s = None
    if args.compile:
        t0 = time.perf_counter()
        steppers["vaelab-compile"] = compile_stepper(model_name, model_options, train_options, data)
        steppers["vaelab-compile"]()
        compile_s = time.perf_counter() - t0
    for step in steppers.values():
        for _ in range(10):
            step()
    times = interleaved(steppers, args.bursts, args.steps)
    profiles = {name: profile_step(step, args.profile_steps) for name, step in steppers.items()}
    result = {
        "recipe": RECIPE,
        "machine": machine(),
        "bursts": args.bursts,
        "steps": args.steps,
        "target_ratio": TARGET_RATIO,
        "hand_grad_error": error,
        "manual_grad_error": manual_grads_error(model_name, model_options, data),
        "compile_first_step_seconds": compile_s,
        "steppers": summarise(times),
        "profile": profiles,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print_report(result)
    print(f"\n  written: {args.out} (docs/guide/performance.md: python benchmarks/render_performance.py {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
