"""``vaelab classifier train|evaluate``: the reference MNIST classifier that judges generated digits."""

from __future__ import annotations

from pathlib import Path


def cmd_classifier_train(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.data import check_dataset_name
    from vaelab.evaluate.reference_classifier import train_classifier

    check_dataset_name(args.dataset)  # a misspelt name is bad input (exit 2), with the closest name

    result = train_classifier(
        args.out,
        args.dataset,
        args.data_dir,
        args.epochs,
        args.batch_size,
        args.lr,
        args.seed,
        args.limit,
        progress=not args.no_progress,
    )
    print(
        f"{args.out}: test accuracy {result['test_accuracy']:.4f} on {result['n_images']} test images "
        f"({result['epochs']} epochs on {result['n_train']} images, {result['seconds']:.0f} s)"
    )
    return 0


def cmd_classifier_evaluate(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.data import load_dataset
    from vaelab.evaluate.reference_classifier import accuracy, load_classifier

    model = load_classifier(args.path)
    test = load_dataset("mnist", "test", args.data_dir)
    print(f"{args.path}: test accuracy {accuracy(model, test.images, test.labels):.4f} on {len(test)} images")
    return 0


def _add_classifier(p) -> None:
    p.description = "The reference MNIST classifier that judges generated digits (vaelab compare, generate --judge)."
    csub = p.add_subparsers(dest="classifier_command", metavar="ACTION")
    csub.required = True
    t = csub.add_parser("train", help="train the small CNN; writes runs/mnist-classifier/")
    t.add_argument("--out", type=Path, default=Path("runs") / "mnist-classifier", help="folder to write")
    t.add_argument("--dataset", default="mnist", help="the labelled dataset (default mnist)")
    t.add_argument("--data-dir", type=Path, help="folder holding <dataset>/<files> (default $VAELAB_DATA)")
    t.add_argument("--epochs", type=int, default=2, help="passes over the training images (default 2)")
    t.add_argument("--batch-size", type=int, default=128, help="images per step (default 128)")
    t.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (default 0.001)")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights and the order (default 0)")
    t.add_argument("--limit", type=int, help="first N training images only")
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    t.set_defaults(func=cmd_classifier_train)
    e = csub.add_parser("evaluate", help="test accuracy of a saved classifier")
    e.add_argument(
        "path",
        type=Path,
        nargs="?",
        default=Path("runs") / "mnist-classifier",
        metavar="PATH",
        help="the classifier's folder (default runs/mnist-classifier)",
    )
    e.add_argument("--data-dir", type=Path, help="folder holding <dataset>/<files> (default $VAELAB_DATA)")
    e.set_defaults(func=cmd_classifier_evaluate)


COMMANDS = {"classifier": ("the reference MNIST classifier (train / evaluate)", _add_classifier)}
