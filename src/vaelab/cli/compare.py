"""Commands that compare latent spaces: ``compare`` (AE vs VAE: scatters and measured properties), ``subspace``
(linear autoencoder vs PCA) and ``pca-example`` (seed 001's worked example)."""

from __future__ import annotations

import json
from pathlib import Path

from vaelab.cli.args import load_split, table
from vaelab.cli.parser import run_folder
from vaelab.core.errors import ConfigError

DATA_DIR_HELP = "folder holding <dataset>/<files> (default: as recorded in the run, then $VAELAB_DATA)"


def cmd_compare(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.io import atomic_write_text
    from vaelab.core.options import check_seed
    from vaelab.core.paths import check_output_folder
    from vaelab.evaluate.latent_metrics import encode_means, latent_properties
    from vaelab.evaluate.reference_classifier import load_classifier
    from vaelab.runs.open import open_run
    from vaelab.viz.compare import save_latent_scatters

    check_seed(args.seed)
    if args.out is not None:
        check_output_folder(args.out)  # before the models and the data are loaded
    runs = [open_run(args.run_a), open_run(args.run_b)]
    clf = load_classifier(args.classifier)
    models = [r.load_model() for r in runs]
    names = [f"{r.path.name} ({r.load_config()['model']})" for r in runs]
    for r, m in zip(runs, models, strict=True):
        if m.latent_dim < 2:
            raise ConfigError(
                f"{r.path}: a {m.latent_dim}-D code; compare draws 2-D scatters (train with --latent-dim 2)"
            )
    results, codes = [], []
    test = None
    for r, m in zip(runs, models, strict=True):
        train = load_split(r, "train", args.data_dir)
        test = load_split(r, "test", args.data_dir, args.limit)
        if test.labels is None:
            raise ConfigError(f"{r.path}: dataset {test.name} has no labels; compare needs a labelled dataset")
        results.append(latent_properties(m, clf, train, test, n_prior=args.n, knn_train=args.knn_train, seed=args.seed))
        codes.append(encode_means(m, test.images).numpy())
    out = Path(args.out) if args.out else runs[0].path / "figures" / f"compare-{runs[1].path.name}"
    out.mkdir(parents=True, exist_ok=True)
    titles = [
        f"{n}\n{m.latent_dim}-D code" + ("" if m.latent_dim == 2 else " (first 2 dims)")
        for n, m in zip(names, models, strict=True)
    ]
    png = save_latent_scatters(codes, test.labels.numpy(), titles, out / "latent_scatter.png")
    rows = _property_rows(results)
    text = table(rows, ["property", *names])
    atomic_write_text(out / "compare.md", text + "\n")
    atomic_write_text(
        out / "compare.json",
        json.dumps(
            {"runs": [str(r.path) for r in runs], "results": results, "classifier": str(args.classifier)}, indent=2
        )
        + "\n",
    )
    print(text)
    print(f"\n{png}\n{out / 'compare.md'}\n{out / 'compare.json'}")
    return 0


def _property_rows(results: list[dict]) -> list[list[str]]:
    """The table of ``vaelab compare``: one row per latent-space property, one column per run."""
    rows = [
        [
            "completeness: share of z ~ N(0, I) decoded to a digit with confidence >= 0.9",
            *[f"{r['completeness']:.3f}" for r in results],
        ],
        [
            "digits reached: classes given >= 1% of those z ~ N(0, I), confidently",
            *[f"{r['classes_reached']} of {len(r['class_counts'])}" for r in results],
        ],
        [
            "completeness with z ~ N(mean, cov) fitted to the run's training codes",
            *[f"{r['completeness_fitted']:.3f}" for r in results],
        ],
        [
            "continuity: mean pixel change per unit step in z (mean ± std)",
            *[f"{r['continuity_mean']:.4f} ± {r['continuity_std']:.4f}" for r in results],
        ],
        ["continuity: 95th percentile", *[f"{r['continuity_p95']:.4f}" for r in results]],
        [
            f"k-NN accuracy of test codes (k={results[0]['knn_k']}, {results[0]['knn_train_images']} train codes)",
            *[f"{r['knn_accuracy']:.4f}" for r in results],
        ],
        ["test reconstruction: squared error per image (sum over pixels)", *[f"{r['sq_error']:.2f}" for r in results]],
        ["test reconstruction: PSNR (dB)", *[f"{r['psnr_db']:.2f}" for r in results]],
    ]
    return rows


def cmd_subspace(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.io import atomic_write_text
    from vaelab.evaluate.latent_metrics import subspace_comparison
    from vaelab.models import build_model
    from vaelab.runs.open import open_run

    run = open_run(args.run)
    model = run.load_model(args.checkpoint)
    if not model.linear_decoder:
        raise ConfigError(f"{run.path}: a {run.load_config()['model']!r} run; subspace needs a linear-ae run")
    train = load_split(run, "train", args.data_dir)
    pca = build_model("pca", {"latent_dim": model.latent_dim, "image_shape": model.image_shape}).fit(train.images)
    res = subspace_comparison(model.decoder_weight, pca.components)
    rows = [
        [
            i + 1,
            f"{res['principal_angles_deg'][i]:.3f}",
            f"{res['column_norms'][i]:.3f}",
            f"{res['angle_to_pc_i_deg'][i]:.1f}",
            f"PC{res['closest_pc'][i]} ({res['closest_pc_angle_deg'][i]:.1f})",
        ]
        for i in range(model.latent_dim)
    ]
    text = table(
        rows,
        ["i", "principal angle (deg)", "norm of w_i (PCA: 1)", "angle(w_i, PC_i) (deg)", "closest PC (angle, deg)"],
    )
    note = (
        f"Decoder columns w_i of {run.path.name} ({args.checkpoint} checkpoint) vs PCA fitted on the same "
        f"{len(train)} training images.\n"
        f"Largest principal angle: {res['max_principal_angle_deg']:.3f} deg (same subspace if ~0); largest "
        f"|cos| between two decoder columns: {res['max_column_cosine']:.3f} (PCA: 0)."
    )
    out = run.path / "subspace.json"
    atomic_write_text(out, json.dumps(res, indent=2) + "\n")
    print(text + "\n" + note + f"\n{out}")
    return 0


def cmd_pca_example(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.models.pca import pca_example

    r = pca_example()
    rows = [
        [name, f"({p[0]:.2f}, {p[1]:.2f})", f"{c[0]:.2f}", f"({q[0]:.2f}, {q[1]:.2f})"]
        for name, p, c, q in zip("ABCDE", r["points"], r["codes"], r["reconstructions"], strict=True)
    ]
    print(table(rows, ["point", "x", "code z (1-D)", "reconstruction"]))
    comp = r["component"][0]
    print(
        f"mean ({r['mean'][0]:.2f}, {r['mean'][1]:.2f}); component ({comp[0]:.3f}, {comp[1]:.3f}); "
        f"explained variance {r['explained_variance'][0]:.4f}"
    )
    return 0


def _add_compare(p) -> None:
    p.description = (
        "Latent scatter plots of two runs side by side and a table: completeness, continuity, k-NN accuracy of "
        "codes, test reconstruction error. Needs the reference classifier (vaelab classifier train)."
    )
    p.add_argument("run_a", type=run_folder, metavar="RUN_A", help="the first run (e.g. an autoencoder)")
    p.add_argument("run_b", type=run_folder, metavar="RUN_B", help="the second run (e.g. a VAE)")
    p.add_argument(
        "--classifier",
        type=Path,
        default=Path("runs") / "mnist-classifier",
        help="reference classifier folder (default runs/mnist-classifier)",
    )
    p.add_argument("--out", type=Path, help="output folder (default RUN_A/figures/compare-<RUN_B name>)")
    p.add_argument(
        "-n", "--n", type=int, default=2000, help="prior samples for completeness and continuity (default 2000)"
    )
    p.add_argument("--knn-train", type=int, default=10000, help="training codes for the k-NN (default 10000)")
    p.add_argument("--limit", type=int, help="first N test images only")
    p.add_argument("--seed", type=int, default=0, help="seed of the prior samples (default 0)")
    p.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    p.set_defaults(func=cmd_compare)


def _add_subspace(p) -> None:
    p.description = (
        "Compare a linear-ae run's decoder with PCA fitted on the run's training images. Uses the last checkpoint "
        "by default: the question is where training converged (the best-validation checkpoint can be an earlier "
        "epoch)."
    )
    p.add_argument("run", type=run_folder, metavar="RUN", help="a linear-ae run")
    p.add_argument(
        "--checkpoint", default="last", choices=["best", "last"], help="the parameters compared (default last)"
    )
    p.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    p.set_defaults(func=cmd_subspace)


def _add_pca_example(p) -> None:
    p.description = "Seed 001's worked PCA example: five 2-D points reduced to 1-D, printed as a table."
    p.set_defaults(func=cmd_pca_example)


COMMANDS = {
    "compare": ("AE vs VAE: latent scatters side by side and a table of latent properties", _add_compare),
    "subspace": ("linear autoencoder vs PCA: principal angles and the two bases", _add_subspace),
    "pca-example": ("seed 001's worked PCA example: five 2-D points reduced to 1-D", _add_pca_example),
}
