"""``vaelab classifier train|evaluate``: the reference MNIST classifier that judges generated digits."""

from __future__ import annotations

from pathlib import Path


def cmd_classifier_train(args) -> int:
    from vaelab.evaluate.reference_classifier import train_classifier

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
    from vaelab.data import load_dataset
    from vaelab.evaluate.reference_classifier import accuracy, load_classifier

    model = load_classifier(args.path)
    test = load_dataset("mnist", "test", args.data_dir)
    print(f"{args.path}: test accuracy {accuracy(model, test.images, test.labels):.4f} on {len(test)} images")
    return 0


def register(sub) -> None:
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
