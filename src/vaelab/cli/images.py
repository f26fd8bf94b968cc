"""Commands that write image grids of a run: ``sample``, ``reconstruct``, ``denoise`` (denoising autoencoders) and
``generate`` (class-conditional models)."""

from __future__ import annotations

from pathlib import Path

from vaelab.cli.args import load_split, table
from vaelab.cli.parser import run_folder
from vaelab.core.errors import ConfigError

RUN_HELP = "run folder or packed run"


def _add(p, declaration: str, out_help: str, func, data: bool = False) -> None:
    """``RUN``, the options of ``vaelab.core.commands.<declaration>``, ``--out`` and (with ``data``) ``--data-dir``."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import add_options
    from vaelab.core import commands

    p.add_argument("run", type=run_folder, metavar="RUN", help=RUN_HELP)
    add_options(p, getattr(commands, declaration))
    p.add_argument("--out", type=Path, help=out_help)
    p.add_argument(  # as every figure of vaelab plot takes it (FigureOptions.checkpoint)
        "--checkpoint", choices=("best", "last"), default="best", help="the parameters: best (best validation epoch) "
        "or last (default best; a packed run holds one set)"
    )  # fmt: skip
    if data:
        p.add_argument("--data-dir", type=Path, help="folder holding <dataset>/<files> (default: as recorded)")
    p.set_defaults(func=func, declaration=declaration)


def _options(args):
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.cli.declared import options_from
    from vaelab.core import commands
    from vaelab.core.paths import IMAGE_SUFFIXES, check_output_file

    if args.out is not None:
        check_output_file(args.out, IMAGE_SUFFIXES)  # before the model and the data are loaded
    return options_from(args, getattr(commands, args.declaration))


def _add_sample(p):
    _add(p, "SampleOptions", "PNG path (default RUN/figures/samples.png)", cmd_sample)


def cmd_sample(args) -> int:
    import math

    import torch

    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.open import open_run
    from vaelab.viz.gallery import check_samples_fit
    from vaelab.viz.grids import save_grid

    o = _options(args)
    run = open_run(args.run)
    model = run.load_model(args.checkpoint)
    check_samples_fit(model, o.n)
    imgs = model.sample(o.n, generator=torch.Generator().manual_seed(o.seed))
    out = save_grid(imgs, args.out or _default_out(run) / "samples.png", nrow=int(math.ceil(math.sqrt(o.n))))
    print(out)
    return 0


def _add_reconstruct(p):
    _add(p, "ReconstructOptions", "PNG path (default RUN/figures/reconstructions.png)", cmd_reconstruct, data=True)


def cmd_reconstruct(args) -> int:
    import torch

    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.open import open_run
    from vaelab.viz.grids import save_grid

    o = _options(args)
    run = open_run(args.run)
    model = run.load_model(args.checkpoint)
    x = load_split(run, "test", args.data_dir, o.n).images
    with torch.no_grad():
        r = model.reconstruct(x)
    rows = []
    for i in range(0, len(x), o.per_row):
        rows += [x[i : i + o.per_row], r[i : i + o.per_row]]
    out = save_grid(torch.cat(rows), args.out or _default_out(run) / "reconstructions.png", nrow=o.per_row)
    print(out)
    return 0


def cmd_denoise(args) -> int:
    import torch

    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.evaluate.reconstruction import denoising_psnr
    from vaelab.runs.open import open_run
    from vaelab.viz.grids import save_grid

    o = _options(args)
    run = open_run(args.run)
    model = run.load_model(args.checkpoint)
    if not model.denoising:
        raise ConfigError(
            f"{run.path}: a {run.load_config()['model']!r} run without input noise; denoise needs a dae run"
        )
    test = load_split(run, "test", args.data_dir, o.limit)
    x = test.images[: o.n]
    g = torch.Generator().manual_seed(o.seed)
    noisy = model.corrupt(x, g)
    den = model.reconstruct(noisy)
    rows = torch.cat([torch.cat([noisy[i : i + 1], den[i : i + 1], x[i : i + 1]]) for i in range(len(x))])
    png = save_grid(rows, args.out or _default_out(run) / "denoising.png", nrow=o.per_row * 3)
    res = denoising_psnr(model, test.images, seed=o.seed)
    print(f"{png}  (triplets: noisy | denoised | clean)")
    print(
        f"test PSNR over {len(test)} images, {res['noise']} noise {res['noise_level']}: noisy "
        f"{res['psnr_noisy_db']:.2f} dB -> denoised {res['psnr_denoised_db']:.2f} dB"
    )
    return 0


def cmd_generate(args) -> int:
    import torch

    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.open import open_run
    from vaelab.viz.grids import save_grid

    o = _options(args)
    run = open_run(args.run)
    model = run.load_model(args.checkpoint)
    if not model.conditional:
        raise ConfigError(f"{run.path}: a {run.load_config()['model']!r} run; generate needs a guided-vae run")
    if o.digit is not None and o.digit >= model.num_classes:
        raise ConfigError(f"--digit {o.digit}: expected 0..{model.num_classes - 1} (the model's classes)")
    digits = list(range(model.num_classes)) if o.digit is None else [o.digit]
    labels = torch.tensor(digits).repeat_interleave(o.n)
    imgs = model.generate(labels, generator=torch.Generator().manual_seed(o.seed))
    # one row per digit
    out = save_grid(
        imgs,
        args.out or _default_out(run) / ("generated.png" if o.digit is None else f"digit{o.digit}.png"),
        nrow=o.n,
    )
    print(out)
    if o.judge:
        # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
        from vaelab.evaluate.reference_classifier import load_classifier

        n = max(o.n, o.judge_n)
        labels = torch.tensor(digits).repeat_interleave(n)
        gen = model.generate(labels, generator=torch.Generator().manual_seed(o.seed + 1))
        pred = load_classifier(o.classifier).predict_proba(gen).argmax(1)
        shares = [float((pred[labels == d] == d).double().mean()) for d in digits]
        print(
            table(
                [[d, f"{s:.2f}"] for d, s in zip(digits, shares, strict=True)],
                ["digit asked", f"share labelled so by the reference classifier ({n} samples)"],
            )
        )
    return 0


def _add_denoise(p):
    _add(p, "DenoiseOptions", "PNG path (default RUN/figures/denoising.png)", cmd_denoise, data=True)


def _add_generate(p):
    _add(p, "GenerateOptions", "PNG path (default RUN/figures/generated.png or digit<D>.png)", cmd_generate)


COMMANDS = {
    "sample": ("PNG grid of images decoded from prior samples", _add_sample),
    "reconstruct": ("PNG of test images (odd rows) above their reconstructions (even rows)", _add_reconstruct),
    "denoise": ("denoising autoencoder: noisy | denoised | clean figure and test PSNR", _add_denoise),
    "generate": ("guided VAE: images of a chosen digit (one-hot digit + z from the prior)", _add_generate),
}


def _default_out(run):
    """``RUN/figures``, where an image goes without ``--out`` (refused in a Hub cache snapshot: one line)."""
    run.check_writable("writing into its figures/ (give --out)")
    return run.figures
