"""``vaelab train``: train a model into runs/<name>/, or continue one with ``--resume``.

Every option flag is derived from the typed configuration (``vaelab.runs.spec``): the fields of
``TrainConfig``, ``DataConfig`` and of each model family's config class, with their meaning, choices and the
families that have them. No list of flag names is kept by hand. The brackets after a model option's help name the
families where it applies and the condition it needs (``[vae, conv-vae, guided-vae; with --likelihood gaussian]``),
both read from the declarations (``vaelab.core.options.applies_in`` / ``OnlyWhen``); an option given where it does
not apply is refused by ``resolve``.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from pathlib import Path

from vaelab.cli.args import int_list

RUN_FLAGS = ("config", "model", "name", "runs_dir", "resume", "no_progress", "nproc")  # the flags that are not options


def _float_or_word(text: str):
    """A number, or a word the option accepts (``--decoder-std learned``); the typed config checks the word."""
    try:
        return float(text)
    except ValueError:
        return text


def _argparse_kwargs(annotation) -> dict:
    """``type`` / ``choices`` / ``metavar`` for a flag from a field's type annotation."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType) and len(args) == 1:
        kw = _argparse_kwargs(args[0])
        if kw.get("type") is float:
            kw["type"] = _float_or_word
        return kw
    if origin is typing.Annotated:
        from pydantic import BeforeValidator

        if any(isinstance(m, BeforeValidator) for m in annotation.__metadata__):
            return {"type": str}  # the field parses its own text (e.g. --image-size 64x48); its check names the flag
        return _argparse_kwargs(args[0])
    if origin is typing.Literal:
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):  # e.g. --image-channels 1|3
            return {"type": int, "metavar": "{" + ",".join(map(str, args)) + "}"}  # the typed config checks it
        return {"choices": list(args)}
    if origin is tuple:
        return {"type": int_list, "metavar": "N,N,..."}
    if annotation is bool:
        return {"type": _bool, "nargs": "?", "const": True, "metavar": "true|false"}  # --flag alone means true
    if annotation in (int, float, str):
        return {"type": annotation}
    return {}


def _bool(text: str) -> bool:
    if text.lower() in ("true", "yes", "1"):
        return True
    if text.lower() in ("false", "no", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r}: expected true or false")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _kwargs(name: str, annotation) -> dict:
    kw = _argparse_kwargs(annotation)
    if "choices" not in kw:
        kw.setdefault("metavar", name.upper())
    return kw


def model_options() -> dict[str, dict]:
    """Every model option of every family: ``{name: {"annotation", "help", "families", "when"}}``; ``families``
    are those where the option applies (``applies_in``: declared, not fixed, its condition satisfiable), ``when``
    its ``OnlyWhen`` condition or None."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.options import applies_in, field_help, only_when
    from vaelab.models.registry import MODELS

    options: dict[str, dict] = {}
    for family, (cfg_cls, _) in MODELS.items():
        for name, field in cfg_cls.model_fields.items():
            if name == "image_shape":
                continue
            opt = options.setdefault(name, {"annotation": field.annotation, "help": "", "families": [], "when": None})
            if applies_in(cfg_cls, name):  # the type, meaning and condition of a family where it is an option
                if not opt["families"]:
                    opt.update(annotation=field.annotation, help="", when=only_when(cfg_cls, name))
                opt["families"].append(family)
            opt["help"] = opt["help"] or field_help(cfg_cls, name)
    return options


def _brackets(opt: dict, n_families: int) -> str:
    which = "all families" if len(opt["families"]) == n_families else ", ".join(opt["families"])
    return f"[{which}; with {opt['when'].describe()}]" if opt["when"] else f"[{which}]"


def _add_train(p) -> None:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.options import field_help
    from vaelab.models.registry import MODELS, model_names
    from vaelab.runs.spec import RESUMABLE_OPTIONS, DataConfig, TrainConfig

    families = ", ".join(f"{n} ({MODELS[n][1].__name__})" for n in model_names())
    p.description = (
        "Train a model into runs/<name>/ (config.json, checkpoints/, metrics.jsonl, tensorboard/). "
        "Options from --config FILE.toml (tables [model] (with family = NAME), [train], [data], or flat keys) are "
        "overridden by the flags given. Model families: " + families + ". Each model option says which families "
        "it applies to; one given where it does not apply is refused. With --resume only "
        + ", ".join("--no-progress" if n == "progress" else "--" + n.replace("_", "-") for n in RESUMABLE_OPTIONS)
        + " may change; any other option given must equal the saved one."
    )
    p.add_argument("--config", type=Path, help="TOML file with options")
    p.add_argument("--model", choices=model_names(), default=None, help="model family (default vae)")
    p.add_argument(
        "--name", default=None, help="run name: 1-100 letters, digits, '-', '_', '.' (default: <model>-<dataset>-z<D>)"
    )
    p.add_argument("--runs-dir", type=Path, default=Path("runs"), help="parent folder of runs (default runs/)")
    p.add_argument("--resume", action="store_true", help="continue the run --name from its last checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bars or per-epoch lines")
    p.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train with N processes (data-parallel, DistributedDataParallel): starts torchrun's standalone "
        "rendezvous itself, N processes on this machine (default: one process, no torchrun)",
    )
    groups = {
        "model": p.add_argument_group("model options (families that have each one in brackets)"),
        "train": p.add_argument_group("training options"),
        "data": p.add_argument_group("data options"),
    }
    for name, opt in model_options().items():
        if not opt["families"]:
            continue  # fixed in every family that declares it: not an option
        groups["model"].add_argument(
            _flag(name),
            dest=f"model.{name}",
            default=None,
            help=f"{opt['help']} {_brackets(opt, len(MODELS))}",
            **_kwargs(name, opt["annotation"]),
        )
    for section, cls in (("train", TrainConfig), ("data", DataConfig)):
        for name, field in cls.model_fields.items():
            if name == "progress":
                continue
            kw = _kwargs(name, field.annotation)
            if name == "dataset":
                kw["metavar"] = "NAME|folder:PATH"
            groups[section].add_argument(
                _flag(name),
                dest=f"{section}.{name}",
                default=None,
                help=_with_default(field_help(cls, name), field.default),
                **kw,
            )
    p.set_defaults(func=cmd_train)


def _with_default(text: str, default) -> str:
    """The help, with the default where it is a value the help does not already state (None is "not set")."""
    if default is None or "default" in text:
        return text
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f"{text} (default {shown})"


def _given(args, section: str) -> dict:
    prefix = section + "."
    return {k[len(prefix) :]: v for k, v in vars(args).items() if k.startswith(prefix) and v is not None}


def _resume_given(args, flags: dict) -> dict:
    """What ``--resume`` was given: the options of ``--config`` (if any), the flags over them, and the family; each
    must equal the run's saved value unless it may change (``vaelab.training.lifecycle.resume_options``)."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.spec import load_toml, split_toml

    given: dict = {}
    if args.config is not None:
        _, family, sections = split_toml(load_toml(args.config), args.config, None)
        given.update({k: v for section in sections.values() for k, v in section.items()})
        if family is not None:
            given["model"] = family
    given.update(flags)
    if args.model is not None:
        given["model"] = args.model
    return given


def _torchrun(nproc: int, argv: list[str]) -> int:
    """Run ``vaelab train ARGV`` under ``torchrun --standalone --nproc_per_node NPROC``; returns its exit status.
    SIGTERM / SIGUSR1 reach torchrun, which passes them on to its processes (they save and stop together)."""
    import signal
    import subprocess

    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)]
    cmd += ["-m", "vaelab", "train", *argv]
    print(f"starting {nproc} processes: torchrun --standalone --nproc_per_node {nproc} -m vaelab train ...",
          file=sys.stderr)  # fmt: skip
    proc = subprocess.Popen(cmd)
    forward = lambda signum, frame: proc.send_signal(signum)  # noqa: E731
    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)}
    try:
        return proc.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _without_nproc(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def cmd_train(args) -> int:
    import os

    from vaelab.core.errors import ConfigError  # import cost: as every command's, imported when it runs

    if args.nproc is not None:
        if args.nproc < 1:
            raise ConfigError(f"--nproc {args.nproc}: expected a number of processes >= 1")
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise ConfigError("--nproc: this process was already started by torchrun; give one or the other")
        if args.nproc > 1:
            raw = args.raw_argv
            return _torchrun(args.nproc, _without_nproc(raw[raw.index("train") + 1 :]))
    return _cmd_train(args)


def _cmd_train(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.device import process_devices
    from vaelab.core.errors import ConfigError
    from vaelab.runs.spec import check_run_name, resolve
    from vaelab.training.distributed import exit_process, init_from_environment
    from vaelab.training.lifecycle import create_run, join_run, resume_run

    model_flags, train_flags, data_flags = _given(args, "model"), _given(args, "train"), _given(args, "data")
    if args.no_progress:
        train_flags["progress"] = False
    if args.resume:
        if args.name is None:
            raise ConfigError("--resume: expected --name NAME of the run to continue")
        given = _resume_given(args, {**model_flags, **train_flags, **data_flags})
        run_dir = args.runs_dir / check_run_name(args.name)
    else:
        spec = resolve(args.model, args.name, model_flags, train_flags, data_flags, args.config)
        run_dir = args.runs_dir / spec.name
    args.run_dir = run_dir  # named by the stop message of a start stopped before it saved anything (cli.main)
    # under torchrun: join the job (gloo on CPU, nccl on CUDA); rank 0 creates / resumes and writes the run
    dist = init_from_environment(train_flags.get("device", "auto"), train_flags.get("dist_timeout", 120))
    if dist is not None and dist.is_main:
        devices = process_devices(train_flags.get("device", "auto"))
        print(f"torchrun: {dist.world_size} processes ({dist.backend}), devices {', '.join(devices)}", file=sys.stderr)
    try:
        if dist is not None and not dist.is_main:
            result = join_run(run_dir, dist, given if args.resume else train_flags)
        elif args.resume:
            result = resume_run(run_dir, given, dist=dist)
        else:
            result = create_run(spec, args.runs_dir, dist=dist)
    finally:
        if dist is not None:
            dist.close()
    if dist is not None and not dist.is_main:
        exit_process(result.exit_status)  # rank 0 reports the run; every process stopped at the same step
    metrics = result.run.read_metrics()
    print(f"run: {result.run.path}")
    if metrics:
        last = metrics[-1]
        keys = [k for k in ("val_loss", "val_elbo") if last.get(k) is not None]
        keys = keys or [k for k in ("train_loss", "train_elbo") if last.get(k) is not None]  # no validation split
        print(f"epoch {last['epoch']}: " + ", ".join(f"{k}={last[k]:.2f}" for k in keys))
    if result.interrupted:
        print(
            f"interrupted; continue with: vaelab train --name {result.run.path.name} --runs-dir "
            f"{result.run.path.parent} --resume",
            file=sys.stderr,
        )
        status = result.exit_status
    else:
        status = 0
    if dist is not None:
        exit_process(status)
    return status


COMMANDS = {"train": ("train a model; writes runs/<name>/", _add_train)}
