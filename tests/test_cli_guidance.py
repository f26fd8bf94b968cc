"""A command line that guides: one line per mistake with a "did you mean", exit status 2 for bad input, options
refused where they do not apply, help text for every option, a light `vaelab --help`, the options of every
command declared once (argparse and the API's keywords derived), and the time left in a run."""

from __future__ import annotations

import argparse
import inspect
import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from vaelab.cli.main import build_parser, main


@pytest.fixture
def run_dir(tmp_path):
    """A folder the parser takes for a run (it holds config.json); the commands are not run on it."""
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"model": "vae"}))
    return str(tmp_path / "run")


def one_line_error(capsys, argv: list[str]) -> str:
    """Run ``vaelab ARGV`` in-process; assert exit status 2 and a single line on stderr without usage; return it."""
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "usage:" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["trian"], "unknown command 'trian'; did you mean 'train'?"),  # a command
        (["train", "--latent_dim", "2"], "unknown option --latent_dim; did you mean '--latent-dim'?"),  # an option
        (["train", "--lattent-dim", "2"], "did you mean '--latent-dim'?"),
        (["train", "--model", "vea"], "--model 'vea': expected one of"),  # a model ...
        (["train", "--model", "vea"], "did you mean 'vae'?"),
        (["train", "--dataset", "mnsit"], "did you mean 'mnist'?"),  # a dataset (checked by DataConfig)
        (["train", "--likelihood", "gausian"], "did you mean 'gaussian'?"),  # a choice of a model option
        (["plot", "RUN", "lattent"], "unknown figure kind 'lattent'; did you mean 'latent'?"),  # a plot kind
        (["plot", "RUN", "latent", "--method", "tsen"], "did you mean 'tsne'?"),
        (["evaluate", "RUN", "--batchsize", "5"], "did you mean '--batch-size'?"),
        (["classifier", "train", "--dataset", "mnsit"], "did you mean 'mnist'?"),
        (["reproduce", "burda-vae-1layer-k2"], "no such recipe; did you mean 'burda-vae-1layer-k5'?"),
    ],
)
def test_did_you_mean(capsys, run_dir, argv, expected):
    err = one_line_error(capsys, [run_dir if a == "RUN" else a for a in argv])
    assert expected in err
    if argv[0] == "trian":
        assert "(see `vaelab --help`)" in err
    elif argv[0] != "reproduce":  # a recipe name points to `vaelab reproduce --list`
        assert f"(see `vaelab {argv[0]}" in err


def test_did_you_mean_in_python():
    from vaelab.core.commands import LatentPlot
    from vaelab.core.errors import ConfigError
    from vaelab.core.suggest import suggest

    with pytest.raises(ConfigError, match="methd: unknown option; did you mean 'method'"):
        LatentPlot.from_dict({"methd": "pca"}, "run.plot('latent'): ")
    with pytest.raises(ConfigError, match="method='tsen': expected one of .*; did you mean 'tsne'"):
        LatentPlot.from_dict({"method": "tsen"})
    assert suggest("xyzzy", ["train", "evaluate"]) == ""  # nothing close: no guess


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--epochs", "x"], "--epochs 'x': expected an integer"),
        (["train", "--hidden", "512;256"], "--hidden '512;256': expected comma-separated integers"),
        (["train", "--latent-dim", "0"], "--latent-dim 0: expected an integer >= 1"),
        (["evaluate", "RUN", "--k", "0"], "-k 0: expected an integer from 1 to 1000000"),
        (["evaluate", "RUN", "--split", "tset"], "--split 'tset': expected one of test, val, train"),
        (["sample", "RUN", "-n", "0"], "-n 0: expected an integer >= 1"),
        (["plot", "RUN", "manifold", "--dims", "0"], "--dims"),
        (["plot", "RUN", "latent", "--dpi", "50"], "--dpi 50: expected an integer >= 100"),
        (["explore", "RUN", "--port", "70000"], "--port 70000: expected an integer from 0 to 65535"),
        (["evaluate", "no/such/run"], "no/such/run: not a vaelab run directory (no such folder)"),
        (["evaluate"], "the following arguments are required: RUN"),
    ],
)
def test_bad_value_is_one_line_and_exit_2(capsys, run_dir, argv, expected):
    err = one_line_error(capsys, [run_dir if a == "RUN" else a for a in argv])
    assert expected in err
    assert f"(see `vaelab {argv[0]}" in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["train", "--decoder-std", "learned"], "--decoder-std: applies only with --likelihood gaussian"),
        (["train", "--decoder-mean", "identity"], "--decoder-mean: applies only with --likelihood gaussian"),
        (["train", "--pseudo-inputs", "50"], "--pseudo-inputs: applies only with --prior vampprior"),
        (["train", "--model", "guided-vae", "--objective", "iwae"], "--objective: not an option of --model guided-vae"),
        (["train", "--model", "guided-vae", "--prior", "vampprior"], "--prior: not an option of --model guided-vae"),
        (["train", "--model", "ae", "--noise-level", "0.3"], "--noise-level: applies only with --noise"),
        (["train", "--model", "linear-ae", "--noise", "gaussian"], "--noise: not an option of --model linear-ae"),
        (["train", "--objective", "iwae", "--kl-estimate", "monte-carlo"], "--kl-estimate: applies only with"),
    ],
)
def test_inapplicable_options_are_refused(capsys, argv, expected):
    assert expected in one_line_error(capsys, argv)


def test_applicable_options_pass_and_python_keywords_are_checked_the_same_way():
    from vaelab.core.errors import ConfigError
    from vaelab.runs.spec import resolve

    spec = resolve("vae", "g", {"likelihood": "gaussian", "decoder_std": "learned"}, {}, {})
    assert spec.model_config.likelihood == "gaussian" and spec.model_config.decoder_std is None
    spec = resolve("vae", "v", {"prior": "vampprior", "pseudo_inputs": 50}, {}, {})
    assert spec.model_config.pseudo_inputs == 50
    spec = resolve("vae-2layer", "l", {"likelihood": "bernoulli"}, {}, {})  # stating a fixed value (as recipes do)
    assert spec.model_config.likelihood == "bernoulli"
    with pytest.raises(ConfigError, match="decoder.std: applies only with --likelihood gaussian"):
        resolve("vae", "b", {"decoder_std": 0.5}, {}, {})  # vaelab.train(decoder_std=0.5) goes through resolve


def test_family_brackets_come_from_the_declarations():
    from vaelab.cli.train import model_options

    opts = model_options()
    assert "guided-vae" not in opts["objective"]["families"] and "guided-vae" not in opts["prior"]["families"]
    assert "conv-vae" not in opts["init"]["families"] and "linear-ae" not in opts["noise"]["families"]
    assert opts["decoder_std"]["when"].describe() == "--likelihood gaussian|discretized-logistic"
    train = _subparser(build_parser("train"), "train")
    helps = {a.option_strings[0]: a.help for a in train._actions if a.option_strings}
    assert helps["--objective"].endswith("[vae, conv-vae, vae-2layer, custom-vae]")
    assert helps["--decoder-std"].endswith(
        "[vae, guided-vae, conv-vae, custom-vae; with --likelihood gaussian|discretized-logistic]"
    )


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


def _walk(parser: argparse.ArgumentParser, path: str):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {c.dest: c.help for c in action._choices_actions}
            for name, sub in action.choices.items():
                yield f"{path} {name}", "(the command itself)", helps.get(name)
                yield from _walk(sub, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, "/".join(action.option_strings) or action.dest, action.help


def test_every_option_of_every_command_has_help_text():
    seen = list(_walk(build_parser(full=True), "vaelab"))
    missing = [f"{path} {name}" for path, name, help_text in seen if not help_text or help_text == argparse.SUPPRESS]
    assert len(seen) > 200 and not missing, missing


def test_one_name_for_one_idea_across_commands():
    parser = build_parser(full=True)
    flags: dict[str, set] = {}
    for path, name, _ in _walk(parser, "vaelab"):
        for flag in name.split("/"):
            flags.setdefault(path, set()).add(flag)
    for path, have in flags.items():
        if "-n" in have or "--n" in have:  # a count of images is -n and --n everywhere
            assert {"-n", "--n"} <= have, path
    manifold, interpolate = flags["vaelab plot manifold"], flags["vaelab plot interpolate"]
    assert {"--from", "--to", "--from-index", "--to-index"} <= manifold & interpolate
    assert "--path-from" in manifold  # the old spelling, still accepted (docs/guide/cli.md)


def test_vaelab_help_imports_neither_torch_nor_matplotlib():
    code = (
        "import sys, contextlib, io\n"
        "from vaelab.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'train' in out.getvalue() and 'evaluate' in out.getvalue()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'matplotlib', 'numpy', 'pydantic')))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_options_are_declared_once_and_derived():
    from vaelab.api import Run, evaluate_run
    from vaelab.core.commands import DEFAULT_K, PLOT_KINDS, EvaluateOptions, FigureOptions
    from vaelab.evaluate import evaluate
    from vaelab.evaluate.nll import evaluate_nll
    from vaelab.viz.render import RunFigures

    assert DEFAULT_K == 1000
    for fn in (evaluate, evaluate_nll):
        assert inspect.signature(fn).parameters["k"].default == DEFAULT_K
    for fn in (evaluate_run, Run.evaluate):  # the API's keywords are the declaration's fields
        params = inspect.signature(fn).parameters
        assert {n: params[n].default for n in EvaluateOptions.model_fields} == EvaluateOptions().model_dump()
    evaluate_parser = _subparser(build_parser("evaluate"), "evaluate")
    k = next(a for a in evaluate_parser._actions if "--k" in a.option_strings)
    assert "(default 1000)" in k.help and k.type is int
    plot = _subparser(_subparser(build_parser("plot"), "plot"), "manifold")
    dests = {a.dest for a in plot._actions if a.option_strings and a.dest != "help"}
    assert dests == set(PLOT_KINDS["manifold"][0].model_fields) | set(FigureOptions.model_fields)
    for kind, (cls, _) in PLOT_KINDS.items():  # the figure methods take the same keywords
        params = inspect.signature(getattr(RunFigures, kind.replace("-", "_"))).parameters
        assert set(cls.model_fields) <= set(params), kind


def test_old_spellings_still_accepted(run_dir):
    from vaelab.cli.main import parse
    from vaelab.core.commands import ManifoldPlot

    args = parse(["plot", run_dir, "manifold", "--path-from", "0", "--to", "7", "--range", "-3", "3"])
    assert (args.from_digit, args.to_digit, args.range) == (0, 7, [-3.0, 3.0])
    assert ManifoldPlot.from_dict({"path_from": 1, "path_to_index": 4}).model_dump()["from_digit"] == 1


def test_time_left_in_the_whole_run(capsys):
    from vaelab.training.callbacks import EpochPrinter, run_time_left

    trainer = SimpleNamespace(config=SimpleNamespace(epochs=10), epoch=2, step_in_epoch=30)
    assert run_time_left(trainer, steps=100, seconds_per_step=0.1) == pytest.approx((70 + 7 * 100) * 0.1)
    printer = EpochPrinter()
    printer.on_epoch_end(trainer, {"epoch": 3, "train_loss": 1.0, "time_s": 60.0})
    printer.on_epoch_end(trainer, {"epoch": 4, "train_loss": 1.0, "time_s": 120.0})
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("(60.0s; run 07:00 left)")  # 7 epochs to come at 60 s
    assert lines[1].endswith("(120.0s; run 09:00 left)")  # 6 epochs to come at the mean 90 s


def test_tsne_progress_reads_the_iterations():
    from vaelab.viz.embedding import TSNE_ITERATIONS, _IterationBar

    stream = _IterationBar(5000)
    stream.write("[t-SNE] Computing 91 nearest neighbors...\n")
    stream.write("[t-SNE] Iteration 50: error = 80.1, gradient norm = 0.02 (50 iterations in 3.1s)\n")
    assert stream.bar.n == 50 and stream.bar.total == TSNE_ITERATIONS
    stream.write("[t-SNE] Iteration 300: error = 1.3, gradient norm = 0.005 (50 iterations in 3.0s)\n")
    assert stream.bar.n == 300
    stream.bar.close()
