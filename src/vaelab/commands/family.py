"""The model family's commands: ``compare``, ``classifier``, ``subspace``, ``denoise``, ``generate``,
``pca-example``, and the extra ``vaelab train`` model options of the autoencoders, guided VAE and conv VAE."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vaelab.errors import ConfigError

TRAIN_MODEL_FLAGS: tuple[str, ...] = ("noise", "noise_level", "loss", "classifier_weight", "classifier_hidden",
                                      "channels")


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.replace(" ", "").split(",") if v != "")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected comma-separated integers, e.g. 32,64") from None


def add_train_flags(group) -> None:
    group.add_argument("--noise", choices=["none", "gaussian", "salt-pepper"],
                       help="ae / dae: input corruption (dae default gaussian)")
    group.add_argument("--noise-level", type=float, help="dae: Gaussian sigma or salt-and-pepper rate (default 0.5)")
    group.add_argument("--ae-loss", dest="loss", choices=["mse", "bce"],
                       help="autoencoders: squared error (default) or cross-entropy on grey pixels")
    group.add_argument("--classifier-weight", type=float, help="guided-vae: weight of the cross-entropy (default 10)")
    group.add_argument("--classifier-hidden", type=_int_list, help="guided-vae: classifier MLP sizes (default 128)")
    group.add_argument("--channels", type=_int_list, help="conv-vae: channels of the stride-2 convolutions (32,64)")


# helpers ---------------------------------------------------------------------------------------------------
def _split(run, split: str, data_dir=None, limit=None):
    from vaelab.data import load_dataset

    ds = run.load_config()["dataset"]
    if split == "train" and limit is None:
        limit = ds.get("limit")  # the images the run was trained on
    return load_dataset(ds["name"], split, data_dir or ds.get("data_dir"), val_size=ds.get("val_size"), limit=limit)


def _table(rows: list[list], header: list[str]) -> str:
    """A Markdown table (also readable as plain text)."""
    cells = [[str(c) for c in r] for r in [header, *rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, cells[1:])])


# compare ---------------------------------------------------------------------------------------------------
def cmd_compare(args) -> int:
    from vaelab.classifier import load_classifier
    from vaelab.latent_metrics import encode_means, latent_properties
    from vaelab.plots.compare import save_latent_scatters
    from vaelab.runs import RunDir, atomic_write_text

    runs = [RunDir(args.run_a).require(), RunDir(args.run_b).require()]
    clf = load_classifier(args.classifier)
    models = [r.load_model() for r in runs]
    names = [f"{r.path.name} ({r.load_config()['model']})" for r in runs]
    for r, m in zip(runs, models):
        if m.latent_dim < 2:
            raise ConfigError(f"{r.path}: a {m.latent_dim}-D code; compare draws 2-D scatters (train with --latent-dim 2)")
    results, codes = [], []
    test = None
    for r, m in zip(runs, models):
        train = _split(r, "train", args.data_dir)
        test = _split(r, "test", args.data_dir, args.limit)
        if test.labels is None:
            raise ConfigError(f"{r.path}: dataset {test.name} has no labels; compare needs a labelled dataset")
        results.append(latent_properties(m, clf, train, test, n_prior=args.n, knn_train=args.knn_train, seed=args.seed))
        codes.append(encode_means(m, test.images).numpy())
    out = Path(args.out) if args.out else runs[0].path / "figures" / f"compare-{runs[1].path.name}"
    out.mkdir(parents=True, exist_ok=True)
    titles = [f"{n}\n{m.latent_dim}-D code" + ("" if m.latent_dim == 2 else " (first 2 dims)")
              for n, m in zip(names, models)]
    png = save_latent_scatters(codes, test.labels.numpy(), titles, out / "latent_scatter.png")
    rows = [
        ["completeness: share of z ~ N(0, I) decoded to a digit with confidence >= 0.9",
         *[f"{r['completeness']:.3f}" for r in results]],
        ["digits reached: classes given >= 1% of those z ~ N(0, I), confidently",
         *[f"{r['classes_reached']} of {len(r['class_counts'])}" for r in results]],
        ["completeness with z ~ N(mean, cov) fitted to the run's training codes",
         *[f"{r['completeness_fitted']:.3f}" for r in results]],
        ["continuity: mean pixel change per unit step in z (mean ± std)",
         *[f"{r['continuity_mean']:.4f} ± {r['continuity_std']:.4f}" for r in results]],
        ["continuity: 95th percentile", *[f"{r['continuity_p95']:.4f}" for r in results]],
        [f"k-NN accuracy of test codes (k={results[0]['knn_k']}, {results[0]['knn_train_images']} train codes)",
         *[f"{r['knn_accuracy']:.4f}" for r in results]],
        ["test reconstruction: squared error per image (sum over pixels)", *[f"{r['sq_error']:.2f}" for r in results]],
        ["test reconstruction: PSNR (dB)", *[f"{r['psnr_db']:.2f}" for r in results]],
    ]
    table = _table(rows, ["property", *names])
    atomic_write_text(out / "compare.md", table + "\n")
    atomic_write_text(out / "compare.json", json.dumps({"runs": [str(r.path) for r in runs], "results": results,
                                                        "classifier": str(args.classifier)}, indent=2) + "\n")
    print(table)
    print(f"\n{png}\n{out / 'compare.md'}\n{out / 'compare.json'}")
    return 0


# classifier ------------------------------------------------------------------------------------------------
def cmd_classifier_train(args) -> int:
    from vaelab.classifier import train_classifier

    result = train_classifier(args.out, args.dataset, args.data_dir, args.epochs, args.batch_size, args.lr,
                              args.seed, args.limit, progress=not args.no_progress)
    print(f"{args.out}: test accuracy {result['test_accuracy']:.4f} on {result['n_images']} test images "
          f"({result['epochs']} epochs on {result['n_train']} images, {result['seconds']:.0f} s)")
    return 0


def cmd_classifier_evaluate(args) -> int:
    from vaelab.classifier import accuracy, load_classifier
    from vaelab.data import load_dataset

    model = load_classifier(args.path)
    test = load_dataset("mnist", "test", args.data_dir)
    print(f"{args.path}: test accuracy {accuracy(model, test.images, test.labels):.4f} on {len(test)} images")
    return 0


# subspace (linear AE vs PCA) -------------------------------------------------------------------------------
def cmd_subspace(args) -> int:
    from vaelab.latent_metrics import subspace_comparison
    from vaelab.models import build_model
    from vaelab.runs import RunDir, atomic_write_text

    run = RunDir(args.run).require()
    model = run.load_model(args.checkpoint)
    if not hasattr(model, "decoder_weight"):
        raise ConfigError(f"{run.path}: a {run.load_config()['model']!r} run; subspace needs a linear-ae run")
    train = _split(run, "train", args.data_dir)
    pca = build_model("pca", {"latent_dim": model.latent_dim, "image_shape": model.image_shape}).fit(train.images)
    res = subspace_comparison(model.decoder_weight, pca.components)
    rows = [[i + 1, f"{res['principal_angles_deg'][i]:.3f}", f"{res['column_norms'][i]:.3f}",
             f"{res['angle_to_pc_i_deg'][i]:.1f}", f"PC{res['closest_pc'][i]} ({res['closest_pc_angle_deg'][i]:.1f})"]
            for i in range(model.latent_dim)]
    table = _table(rows, ["i", "principal angle (deg)", "norm of w_i (PCA: 1)", "angle(w_i, PC_i) (deg)",
                          "closest PC (angle, deg)"])
    note = (f"Decoder columns w_i of {run.path.name} ({args.checkpoint} checkpoint) vs PCA fitted on the same {len(train)} training images.\n"
            f"Largest principal angle: {res['max_principal_angle_deg']:.3f} deg (same subspace if ~0); largest "
            f"|cos| between two decoder columns: {res['max_column_cosine']:.3f} (PCA: 0).")
    out = run.path / "subspace.json"
    atomic_write_text(out, json.dumps(res, indent=2) + "\n")
    print(table + "\n" + note + f"\n{out}")
    return 0


# denoise ---------------------------------------------------------------------------------------------------
def cmd_denoise(args) -> int:
    import torch

    from vaelab.evaluation import denoising_psnr
    from vaelab.plots.grids import save_grid
    from vaelab.runs import RunDir

    run = RunDir(args.run).require()
    model = run.load_model()
    if not getattr(model, "denoising", False):
        raise ConfigError(f"{run.path}: a {run.load_config()['model']!r} run without input noise; denoise needs a dae run")
    test = _split(run, "test", args.data_dir, args.limit)
    x = test.images[: args.n]
    g = torch.Generator().manual_seed(args.seed)
    noisy = model.corrupt(x, g)
    den = model.reconstruct(noisy)
    rows = torch.cat([torch.cat([noisy[i : i + 1], den[i : i + 1], x[i : i + 1]]) for i in range(len(x))])
    png = save_grid(rows, args.out or run.figures / "denoising.png", nrow=args.per_row * 3)
    res = denoising_psnr(model, test.images, seed=args.seed)
    print(f"{png}  (triplets: noisy | denoised | clean)")
    print(f"test PSNR over {len(test)} images, {res['noise']} noise {res['noise_level']}: noisy "
          f"{res['psnr_noisy_db']:.2f} dB -> denoised {res['psnr_denoised_db']:.2f} dB")
    return 0


# generate (guided VAE) -------------------------------------------------------------------------------------
def cmd_generate(args) -> int:
    import torch

    from vaelab.plots.grids import save_grid
    from vaelab.runs import RunDir

    run = RunDir(args.run).require()
    model = run.load_model()
    if not hasattr(model, "generate"):
        raise ConfigError(f"{run.path}: a {run.load_config()['model']!r} run; generate needs a guided-vae run")
    digits = list(range(model.num_classes)) if args.digit is None else [args.digit]
    labels = torch.tensor(digits).repeat_interleave(args.n)
    imgs = model.generate(labels, generator=torch.Generator().manual_seed(args.seed))
    # one row per digit
    out = save_grid(imgs, args.out or run.figures / ("generated.png" if args.digit is None else f"digit{args.digit}.png"),
                    nrow=args.n)
    print(out)
    if args.judge:
        from vaelab.classifier import load_classifier

        n = max(args.n, args.judge_n)
        labels = torch.tensor(digits).repeat_interleave(n)
        gen = model.generate(labels, generator=torch.Generator().manual_seed(args.seed + 1))
        pred = load_classifier(args.classifier).predict_proba(gen).argmax(1)
        shares = [float((pred[labels == d] == d).double().mean()) for d in digits]
        print(_table([[d, f"{s:.2f}"] for d, s in zip(digits, shares)],
                     ["digit asked", f"share labelled so by the reference classifier ({n} samples)"]))
    return 0


def cmd_pca_example(args) -> int:
    from vaelab.models.pca import pca_example

    r = pca_example()
    rows = [[name, f"({p[0]:.2f}, {p[1]:.2f})", f"{c[0]:.2f}", f"({q[0]:.2f}, {q[1]:.2f})"]
            for name, p, c, q in zip("ABCDE", r["points"], r["codes"], r["reconstructions"])]
    print(_table(rows, ["point", "x", "code z (1-D)", "reconstruction"]))
    comp = r["component"][0]
    print(f"mean ({r['mean'][0]:.2f}, {r['mean'][1]:.2f}); component ({comp[0]:.3f}, {comp[1]:.3f}); "
          f"explained variance {r['explained_variance'][0]:.4f}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("compare", help="AE vs VAE: latent scatters side by side and a table of latent properties",
                       description="Latent scatter plots of two runs side by side and a table: completeness, "
                       "continuity, k-NN accuracy of codes, test reconstruction error. Needs the reference "
                       "classifier (vaelab classifier train).")
    p.add_argument("run_a", type=Path)
    p.add_argument("run_b", type=Path)
    p.add_argument("--classifier", type=Path, default=Path("runs") / "mnist-classifier",
                   help="reference classifier folder (default runs/mnist-classifier)")
    p.add_argument("--out", type=Path, help="output folder (default RUN_A/figures/compare-<RUN_B name>)")
    p.add_argument("-n", type=int, default=2000, help="prior samples for completeness and continuity (default 2000)")
    p.add_argument("--knn-train", type=int, default=10000, help="training codes for the k-NN (default 10000)")
    p.add_argument("--limit", type=int, help="first N test images only")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", type=Path)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("classifier", help="the reference MNIST classifier (train / evaluate)")
    csub = p.add_subparsers(dest="classifier_command", metavar="ACTION")
    csub.required = True
    t = csub.add_parser("train", help="train the small CNN; writes runs/mnist-classifier/")
    t.add_argument("--out", type=Path, default=Path("runs") / "mnist-classifier")
    t.add_argument("--dataset", default="mnist")
    t.add_argument("--data-dir", type=Path)
    t.add_argument("--epochs", type=int, default=2)
    t.add_argument("--batch-size", type=int, default=128)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--limit", type=int, help="first N training images only")
    t.add_argument("--no-progress", action="store_true")
    t.set_defaults(func=cmd_classifier_train)
    e = csub.add_parser("evaluate", help="test accuracy of a saved classifier")
    e.add_argument("path", type=Path, nargs="?", default=Path("runs") / "mnist-classifier")
    e.add_argument("--data-dir", type=Path)
    e.set_defaults(func=cmd_classifier_evaluate)

    p = sub.add_parser("subspace", help="linear autoencoder vs PCA: principal angles and the two bases",
                       description="Compare a linear-ae run's decoder with PCA fitted on the run's training images. "
                       "Uses the last checkpoint by default: the question is where training converged (the "
                       "best-validation checkpoint can be an earlier epoch).")
    p.add_argument("run", type=Path)
    p.add_argument("--checkpoint", default="last", choices=["best", "last"])
    p.add_argument("--data-dir", type=Path)
    p.set_defaults(func=cmd_subspace)

    p = sub.add_parser("denoise", help="denoising autoencoder: noisy | denoised | clean figure and test PSNR")
    p.add_argument("run", type=Path)
    p.add_argument("-n", type=int, default=16, help="test images in the figure (default 16)")
    p.add_argument("--per-row", type=int, default=4, help="triplets per row (default 4)")
    p.add_argument("--limit", type=int, help="PSNR over the first N test images only (default all)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--data-dir", type=Path)
    p.set_defaults(func=cmd_denoise)

    p = sub.add_parser("generate", help="guided VAE: images of a chosen digit (one-hot digit + z from the prior)")
    p.add_argument("run", type=Path)
    p.add_argument("--digit", type=int, help="the digit (default: a row for each digit)")
    p.add_argument("-n", type=int, default=10, help="images per digit (default 10)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    p.add_argument("--judge", action="store_true",
                   help="also print the share of generated images the reference classifier labels as asked")
    p.add_argument("--judge-n", type=int, default=100, help="samples per digit for --judge (default 100)")
    p.add_argument("--classifier", type=Path, default=Path("runs") / "mnist-classifier")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("pca-example", help="seed 001's worked PCA example: five 2-D points reduced to 1-D")
    p.set_defaults(func=cmd_pca_example)


