"""Hand-derived gradients of the MLP VAE's one-sample ELBO, without autograd (``TrainConfig.backward = "manual"``).

For Burda et al.'s recipes (784-200-200-50, batch 20) a CPU training step is bound by per-operation overhead, not
arithmetic: autograd records a graph node for every operation and runs one backward function per node. Written
out by hand, the backward pass of the plain MLP VAE is a few matrix products per layer (Rumelhart, Hinton &
Williams 1986), and the reparameterized Gaussian terms have closed-form gradients (Kingma & Welling 2014):

* Bernoulli decoder, logits l: d/dl of sum_j softplus(l_j) - x_j l_j is sigmoid(l) - x;
* z = mu + sigma * eps with sigma = exp(logvar / 2): dz/dmu = 1, dz/dlogvar = sigma * eps / 2;
* the sampled KL term (``kl_estimate = "monte-carlo"``, Burda et al.'s VAE), log q(z|x) - log p(z) at that z:
  log q = -1/2 sum_d [eps_d^2 + logvar_d + log 2 pi] whatever mu and logvar, so its total gradient is 0 for mu and
  -1/2 for logvar, and -log p(z) = 1/2 |z|^2 + const adds z to dz;
* the analytic KL, 1/2 sum_d [mu_d^2 + exp(logvar_d) - 1 - logvar_d]: mu for mu, (exp(logvar) - 1) / 2 for logvar;
* ``variance_head = "log_std"``: logvar = 2 x the head's output, so the head gets twice logvar's gradient.

The result matches autograd's to float32 rounding (``tests/test_manual_grad.py`` checks it on MNIST), but not bit
for bit: autograd sums the same terms in another order (for the sampled KL, its mu-gradients cancel only up to
rounding). So the option is off by default, and a run keeps the backward it was started with unless told.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vaelab.core.likelihoods import diagonal_normal_log_prob, gaussian_kl_standard_normal, standard_normal_log_prob
from vaelab.models.base import ModelOutput

# activation -> (forward, backward from the activation's output h and the gradient g of h)
ACTIVATION_GRADS = {
    "tanh": (torch.tanh, lambda g, h: torch.ops.aten.tanh_backward(g, h)),
    "sigmoid": (torch.sigmoid, lambda g, h: torch.ops.aten.sigmoid_backward(g, h)),
    "relu": (torch.relu, lambda g, h: torch.ops.aten.threshold_backward(g, h, 0.0)),
}


def manual_backward_problem(model, model_name: str) -> str | None:
    """Why ``backward = "manual"`` cannot train ``model`` (a family ``model_name``), as the end of one sentence, or
    None when it can: the MLP ``vae`` family with one sample (k = 1), the ELBO objective, the standard normal prior,
    a Bernoulli decoder and a tanh, sigmoid or relu activation."""
    if model_name != "vae" or type(model).__name__ != "VAE":
        return f"the model family is {model_name!r}, not the MLP 'vae'"
    cfg = model.config
    wrong = {
        "k": (int(cfg.k), 1),
        "objective": (cfg.objective, "elbo"),
        "prior": (cfg.prior, "standard"),
        "likelihood": (cfg.likelihood, "bernoulli"),
    }
    for name, (got, want) in wrong.items():
        if got != want:
            return f"the model has {name} = {got!r} (it needs {want!r})"
    if cfg.activation not in ACTIVATION_GRADS:
        return f"the model has activation = {cfg.activation!r} (it needs one of {sorted(ACTIVATION_GRADS)})"
    return None


@torch.no_grad()
def elbo_with_grads(model, x: torch.Tensor, generator=None, grad_scale: float = 1.0) -> ModelOutput:
    """``model(x, generator=generator)`` for the MLP VAE (``manual_backward_problem`` is None), and the gradient of
    ``grad_scale * loss.sum()`` written into every parameter's ``.grad`` (replacing what was there).

    Args:
        model: a ``vaelab.models.vae.VAE`` with k = 1, the ELBO, p(z) = N(0, I), a Bernoulli decoder.
        x: binarized images ``(N, C, H, W)``.
        generator: draws the reparameterization noise, the same draws as the autograd forward.
        grad_scale: the factor of the summed per-image loss (the trainer's 1 / batch size).

    Returns:
        ``ModelOutput`` with per-image ``loss``, ``recon_nll``, ``kl`` (analytic), ``elbo``, each ``(N,)`` nats,
        ``mu``, ``logvar`` ``(N, D)`` and ``z`` ``(1, N, D)``; no tensor requires grad.
    """
    act, act_grad = ACTIVATION_GRADS[model.config.activation]
    x_flat = x.flatten(1)
    enc = [m for m in model.encoder if isinstance(m, nn.Linear)] if isinstance(model.encoder, nn.Sequential) else []
    dec = [m for m in model.decoder if isinstance(m, nn.Linear)]
    h_enc = _mlp_forward(enc, x_flat, act, last_activation=True)
    h = h_enc[-1]
    mu = F.linear(h, model.fc_mu.weight, model.fc_mu.bias)
    logvar = model.variance(F.linear(h, model.fc_logvar.weight, model.fc_logvar.bias))
    z = model.reparameterize_one(mu, logvar, generator)
    h_dec = _mlp_forward(dec[:-1], z, act, last_activation=True)
    logits = F.linear(h_dec[-1], dec[-1].weight, dec[-1].bias)
    out = _terms(model, x_flat, logits, mu, logvar, z)
    scale = model.kl_scale * float(model.config.beta)
    g_logits = torch.sigmoid(logits).sub_(x_flat).mul_(grad_scale)
    g_z = _mlp_backward(dec, h_dec, g_logits, act_grad, need_input_grad=True)
    g_mu, g_logvar = _latent_grads(model, mu, logvar, z, g_z, scale * grad_scale)
    g_head = g_logvar * 2.0 if model.config.variance_head == "log_std" else g_logvar
    g_h = _linear_grads(model.fc_mu, h, g_mu, True).addmm_(g_head, model.fc_logvar.weight)
    _linear_grads(model.fc_logvar, h, g_head, False)
    if enc:
        _mlp_backward(enc, h_enc[:-1], act_grad(g_h, h), act_grad, need_input_grad=False)
    return out


def _mlp_forward(layers: list[nn.Linear], h: torch.Tensor, act, last_activation: bool) -> list[torch.Tensor]:
    """The inputs of every layer and the last output: ``[h_0, act(h_0 W_1^T + b_1), ...]``."""
    hs = [h]
    for i, layer in enumerate(layers):
        h = F.linear(h, layer.weight, layer.bias)
        if last_activation or i < len(layers) - 1:
            h = act(h)
        hs.append(h)
    return hs


def _mlp_backward(layers, inputs, g_out, act_grad, need_input_grad: bool) -> torch.Tensor | None:
    """Back through ``layers`` (each followed by the activation, except the last), whose inputs were ``inputs``
    (``inputs[i]`` the output of layer i - 1's activation), from the gradient ``g_out`` of the last layer's
    pre-activation output: writes the layers' ``.grad`` and returns the gradient of ``inputs[0]`` (if asked)."""
    g = g_out
    for i in range(len(layers) - 1, -1, -1):
        g_in = _linear_grads(layers[i], inputs[i], g, need_input_grad or i > 0)
        if i > 0:
            g = act_grad(g_in, inputs[i])
        else:
            return g_in
    return None


def _linear_grads(layer: nn.Linear, h_in, g_out, need_input_grad: bool) -> torch.Tensor | None:
    """``layer``'s weight and bias gradients for input ``h_in (N, I)`` and output gradient ``g_out (N, O)``;
    returns the input's gradient ``(N, I)`` if asked."""
    layer.weight.grad = g_out.t().mm(h_in)
    layer.bias.grad = g_out.sum(0)
    return g_out.mm(layer.weight) if need_input_grad else None


def _latent_grads(model, mu, logvar, z, g_z, kl_factor: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The gradients of mu and logvar ``(N, D)`` from the decoder's ``g_z`` and the KL term (times
    ``kl_factor``: the KL weight times the loss's scale; module docstring)."""
    std_eps = z - mu  # sigma * eps
    if model.config.kl_estimate == "monte-carlo":
        g_z = g_z.add(z, alpha=kl_factor)  # -log p(z); log q(z|x) gives 0 for mu, -1/2 for logvar
        g_logvar = (g_z * std_eps).mul_(0.5).sub_(0.5 * kl_factor)
        return g_z, g_logvar
    g_logvar = (g_z * std_eps).mul_(0.5).add_(torch.exp(logvar).sub_(1.0), alpha=0.5 * kl_factor)
    return g_z.add(mu, alpha=kl_factor), g_logvar


def _terms(model, x_flat, logits, mu, logvar, z) -> ModelOutput:
    """The per-image loss terms, as the autograd forward computes them (``VAE._one_sample_elbo``)."""
    recon_nll = model.reconstruction_nll(logits, x_flat)
    kl = gaussian_kl_standard_normal(mu, logvar)
    if model.config.kl_estimate == "monte-carlo":
        kl_term = diagonal_normal_log_prob(z, mu, logvar) - standard_normal_log_prob(z)
    else:
        kl_term = kl
    scale = model.kl_scale * float(model.config.beta)
    loss = recon_nll + (kl_term if scale == 1.0 else scale * kl_term)
    return ModelOutput(loss, recon_nll, kl, mu, logvar, z.unsqueeze(0), elbo=-(recon_nll + kl))
