"""Recipes (papers' protocols as TOML), ``vaelab reproduce``, result files and the leaderboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vaelab.cli.main import main
from vaelab.models.registry import MODELS
from vaelab.runs.recipes import (
    ABSENT,
    PENDING_TRAIN_OPTIONS,
    list_recipes,
    load_recipe,
    recipe_spec,
    unapplied_options,
)
from vaelab.runs.spec import TrainConfig, load_toml

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "configs" / "recipes"
BURDA = {  # Burda et al. 2016, Table 1 (MNIST test NLL, k = 5000): the rows the recipes reproduce
    "burda-vae-1layer-k1": 86.76,
    "burda-vae-1layer-k5": 86.47,
    "burda-vae-1layer-k50": 86.35,
    "burda-iwae-1layer-k5": 85.54,
    "burda-iwae-1layer-k50": 84.78,
    "burda-vae-2layer-k1": 85.33,
    "burda-vae-2layer-k50": 84.78,
    "burda-iwae-2layer-k5": 83.89,
    "burda-iwae-2layer-k50": 82.90,
}


def run_cli(*args, cwd=None):
    """``python -m vaelab ARGS`` in a subprocess, importing this checkout's vaelab whatever ``cwd`` is."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "vaelab", *map(str, args)], capture_output=True, text=True, cwd=cwd, env=env, timeout=600
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_every_recipe_file_parses_and_names_a_known_family_and_options():
    names = sorted(p.stem for p in RECIPES.glob("*.toml"))
    assert set(BURDA) | {"tomczak-vampprior-1layer"} == set(names)
    for path in RECIPES.glob("*.toml"):
        doc = load_toml(path)  # valid TOML
        assert set(doc) == {"recipe", "model", "train", "data"}, path
        assert doc["model"]["family"] in MODELS, path
        config_cls = MODELS[doc["model"]["family"]][0]
        assert set(doc["model"]) - {"family"} <= set(config_cls.model_fields), path
        assert set(doc["train"]) <= set(TrainConfig.model_fields) | set(PENDING_TRAIN_OPTIONS), path
        recipe = load_recipe(path.stem, RECIPES)
        spec, not_applied = recipe_spec(recipe)  # the rest goes through the normal loader
        assert spec.model == doc["model"]["family"] and spec.name == path.stem
        assert set(not_applied) <= set(PENDING_TRAIN_OPTIONS)
        assert recipe.eval_k == recipe.paper_k == 5000 and recipe.deviations


@pytest.mark.parametrize("name", sorted(BURDA))
def test_burda_recipes_name_the_papers_protocol(name):
    recipe = load_recipe(name, RECIPES)
    model, train, data = recipe.doc["model"], recipe.doc["train"], recipe.doc["data"]
    assert recipe.paper_nll == BURDA[name] and recipe.paper.startswith("Burda, Grosse & Salakhutdinov")
    method, layers, k = name.split("-")[1], name.split("-")[2], int(name.split("-k")[-1])
    assert model["objective"] == ("iwae" if method == "iwae" else "elbo") and model["k"] == k
    assert model["activation"] == "tanh" and model["likelihood"] == "bernoulli" and model["latent_dim"] == 50
    assert model["hidden"] == [200, 200]
    if layers == "2layer":
        assert model["family"] == "vae-2layer" and model["z1_dim"] == 100 and model["hidden_z"] == [100, 100]
    else:
        assert model["family"] == "vae"
    assert train["epochs"] == sum(3**i for i in range(8)) == 3280
    assert train["batch_size"] == 20 and train["lr"] == 1e-3 and train["lr_schedule"] == "burda"
    assert (train["adam_beta1"], train["adam_beta2"], train["adam_eps"]) == (0.99, 0.999, 1e-4)
    assert train["binarize"] == "dynamic" and data == {"dataset": "mnist", "val_size": 400}  # the last 400 held out


def test_unapplied_options_compare_the_recipe_with_the_runs_own_config():
    recipe = load_recipe("burda-iwae-1layer-k5", RECIPES)
    spec, _ = recipe_spec(recipe, train_flags={"epochs": 3})
    config = spec.to_config(60000, 0)
    assert unapplied_options(recipe, config) == {}  # everything applied (epochs are reported apart)
    old = json.loads(json.dumps(config))  # a run made by a vaelab without the schedule / Adam options
    for key in ("lr_schedule", "adam_beta1", "adam_beta2", "adam_eps", "optimizer"):
        del old["train"][key]
    del old["model_config"]["init"]
    old["train"]["batch_size"] = 100
    old["model_config"]["hidden"] = [100]
    assert unapplied_options(recipe, old) == {  # adam_beta2 = 0.999 is the default an older vaelab used anyway
        "batch_size": (20, 100),
        "lr_schedule": ("burda", ABSENT),
        "adam_beta1": (0.99, ABSENT),
        "adam_eps": (1e-4, ABSENT),
        "optimizer": ("burda-adam", ABSENT),
        "init": ("burda", ABSENT),
        "hidden": ([200, 200], [100]),
    }


def test_vampprior_recipe():
    recipe = load_recipe("tomczak-vampprior-1layer", RECIPES)
    spec, _ = recipe_spec(recipe)
    assert recipe.paper_nll == 85.57 and "Tomczak & Welling" in recipe.paper
    assert spec.model_config.prior == "vampprior" and spec.model_config.pseudo_inputs == 500
    assert spec.model_config.latent_dim == 40 and spec.model_config.hidden == (300, 300)
    assert spec.train.batch_size == 100 and spec.train.lr == 5e-4 and spec.data.val_size == 10000


def test_vampprior_protocol_tests_the_best_validation_epoch(tmp_path, data_dir):
    """Their code tests the model saved at the best validation loss: the recipe says checkpoint = "best", and
    reproduce evaluates exactly those parameters and says which epoch they are from."""
    from vaelab.data import load_dataset
    from vaelab.evaluate import evaluate
    from vaelab.runs.folder import RunDir

    assert load_recipe("tomczak-vampprior-1layer", RECIPES).checkpoint == "best"
    assert load_recipe("burda-vae-1layer-k1", RECIPES).checkpoint == "last"
    runs = tmp_path / "runs"
    args = ["reproduce", "tomczak-vampprior-1layer", "--epochs", "3", "--runs-dir", str(runs), "--limit", "200"]
    args += ["--data-dir", str(data_dir), "--eval-k", "12", "--eval-limit", "30", "--no-progress"]
    assert main(args) == 0
    run = RunDir(runs / "tomczak-vampprior-1layer")
    result = json.loads((run.path / "result.json").read_text())
    best_epoch = max(r["epoch"] for r in run.read_metrics() if r["best"])
    assert result["checkpoint"] == "best" and result["checkpoint_epoch"] == best_epoch
    assert result["shorter_than_protocol"] and not result["stopped_early"]
    test = load_dataset("mnist", "test", data_dir, val_size=10000).subset(30)
    direct = evaluate(run.load_model("best"), test, k=12, progress=False)
    assert result["nll"] == pytest.approx(direct["nll"], abs=1e-9)
    board = tmp_path / "board.md"
    assert main(["leaderboard", "--runs-dir", str(runs), "--out", str(board)]) == 0
    row = next(r for r in board.read_text().splitlines() if r.startswith("| `tomczak"))
    assert f"3 of 2,000 (shorter than the protocol); tested: epoch {best_epoch}, the best validation ELBO" in row


def test_early_stopping_ends_a_run_as_the_protocol_does():
    """A run that its early-stopping rule ended is not shorter than the protocol, whatever --epochs allowed."""
    from vaelab.runs.results import checkpoint_epoch, shorter_than_protocol, stopped_early

    recipe = load_recipe("tomczak-vampprior-1layer", RECIPES)
    metrics = [{"epoch": e, "best": e in (1, 2, 4)} for e in range(1, 11)]
    patient = {"train": {"epochs": 2000, "early_stopping_patience": 6}}
    assert checkpoint_epoch(metrics, "best") == 4 and checkpoint_epoch(metrics, "last") == 10
    assert stopped_early(patient, metrics) and not shorter_than_protocol(patient, metrics, recipe)
    impatient = {"train": {"epochs": 10, "early_stopping_patience": 7}}  # 6 epochs since the best: not yet
    assert not stopped_early(impatient, metrics) and shorter_than_protocol(impatient, metrics, recipe)
    assert not stopped_early({"train": {"epochs": 10}}, metrics)  # no rule, no early stop
    assert checkpoint_epoch([], "best") is None and not stopped_early(patient, [])


def test_recipe_checkpoint_must_be_last_or_best(tmp_path):
    doc = (RECIPES / "burda-vae-1layer-k1.toml").read_text().replace("[recipe]\n", '[recipe]\ncheckpoint = "final"\n')
    (tmp_path / "bad.toml").write_text(doc)
    code, _, err = run_cli("reproduce", "bad", "--recipes", tmp_path, cwd=tmp_path)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "bad.toml: [recipe] checkpoint = 'final': expected 'last' or 'best'" in err


def test_reproduce_list_and_bad_input(tmp_path):
    code, out, err = run_cli("reproduce", "--list")
    assert code == 0, err
    for name, nll in BURDA.items():
        assert name in out and f"{nll:.2f}" in out
    assert "tomczak-vampprior-1layer" in out and "85.57" in out
    code, out, err = run_cli("reproduce", "no-such-recipe", cwd=tmp_path)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "recipe 'no-such-recipe': no such recipe; expected one of: burda-iwae-1layer-k5" in err
    code, _, err = run_cli("train", "--objective", "foo", cwd=tmp_path)
    assert code == 2 and "--objective 'foo': expected one of elbo, iwae" in err and "Traceback" not in err
    (tmp_path / "c.toml").write_text('[model]\nobjective = "foo"\n')
    code, _, err = run_cli("train", "--config", "c.toml", cwd=tmp_path)
    assert code == 2 and "c.toml: [model] objective='foo': expected one of" in err
    code, _, err = run_cli("reproduce", "burda-vae-1layer-k1", "--epochs", "0", cwd=tmp_path)
    assert code == 2 and "--epochs 0: expected an integer >= 1" in err


def test_reproduce_a_short_run_then_the_leaderboard(tmp_path, data_dir, capsys):
    runs = tmp_path / "runs"
    common = ["--runs-dir", str(runs), "--data-dir", str(data_dir), "--limit", "100", "--eval-k", "12"]
    common += ["--eval-limit", "30"]
    assert main(["reproduce", "burda-iwae-2layer-k5", "--epochs", "1", *common, "--no-progress"]) == 0
    run = runs / "burda-iwae-2layer-k5"
    result = json.loads((run / "result.json").read_text())
    ev = json.loads((run / "eval.json").read_text())
    assert result["recipe"] == "burda-iwae-2layer-k5" and result["paper_nll"] == 83.89
    assert result["epochs_run"] == 1 and result["epochs_protocol"] == 3280 and result["shorter_than_protocol"]
    assert result["k"] == 12 and result["n_test"] == 30 and result["split"] == "test"
    assert result["n_train"] == 100 and result["n_val"] == 400 and result["binarization_train"] == "dynamic"
    assert set(result["layers"]) == {"z1", "z2"} and [e["k"] for e in result["nll_vs_k"]] == [1, 10, 12]
    deviations = "\n".join(result["deviations"])
    assert "trained 1 of the protocol's 3,280 epochs" in deviations and "K = 12" in deviations
    assert "first 100 training images" in deviations and "first 30 test images" in deviations
    for key in PENDING_TRAIN_OPTIONS:
        if key not in TrainConfig.model_fields and key in load_recipe("burda-iwae-2layer-k5", RECIPES).doc["train"]:
            assert f"not applied: {key}" in deviations
    assert ev["protocol_deviations"] == result["deviations"] and ev["checkpoint"] == "last"
    assert result["checkpoint"] == "last" and result["checkpoint_epoch"] == 1 and not result["stopped_early"]
    assert ev["nll_vs_k"] and "layers" in ev and "warnings" in ev

    # --resume --epochs trains further and rewrites the result
    assert main(["reproduce", "burda-iwae-2layer-k5", "--resume", "--epochs", "2", *common, "--no-progress"]) == 0
    again = json.loads((run / "result.json").read_text())
    assert again["epochs_run"] == 2
    # --reuse-eval rewrites result.json from eval.json without evaluating again
    (run / "result.json").unlink()
    args = ["reproduce", "burda-iwae-2layer-k5", "--resume", "--reuse-eval", *common, "--no-progress"]
    assert main(args) == 0
    reused = json.loads((run / "result.json").read_text())
    assert reused["nll"] == again["nll"] and reused["deviations"] == again["deviations"]
    _unusable_files_for_reuse_eval(run, args, capsys)

    # the NLL-vs-K figure
    assert main(["plot", str(run), "nll-vs-k", "--data-dir", str(data_dir)]) == 0
    assert (run / "figures" / "nll-vs-k.png").is_file()
    import vaelab

    fig = vaelab.load_run(run).plot("nll-vs-k")  # the Python API gets the same figure, unwritten
    assert len(fig.axes) == 1 and fig.axes[0].get_xscale() == "log"

    # publish into a results folder and render the leaderboard from it
    results, out = tmp_path / "results", tmp_path / "leaderboard.md"
    assert main(["leaderboard", "--runs-dir", str(results), "--add", str(run), "--out", str(out)]) == 0
    for name in ("config.json", "eval.json", "result.json", "metrics-summary.json", "nll-vs-k.png"):
        assert (results / "burda-iwae-2layer-k5" / name).is_file()
    board = out.read_text()
    rows = [line for line in board.splitlines() if line.startswith("| `")]
    assert len(rows) == 10  # one per recipe
    row = next(r for r in rows if "`burda-iwae-2layer-k5`" in r)
    assert "83.89" in row and "(short run)" in row and "2 of 3,280 (shorter than the protocol)" in row
    assert "| 12 |" in row and "100 / 400 / 30 (test)" in row
    assert sum("not run yet" in r for r in rows) == 9


def _unusable_files_for_reuse_eval(run, args, capsys) -> None:
    """--reuse-eval on an eval.json it cannot use: one line naming the file (exit 1), result.json untouched; a
    damaged result.json is rewritten, which is what --reuse-eval is for, saying so."""
    capsys.readouterr()
    good, result = (run / "eval.json").read_text(), (run / "result.json").read_text()
    no_n = json.dumps({k: v for k, v in json.loads(good).items() if k != "n_images"})
    text_k = json.dumps({**json.loads(good), "k": "12"})
    for text, message in (
        ("[1]", "field (top level): expected a mapping (JSON object), got list"),
        ('{"broken', "cannot read it as JSON"),
        (no_n, "field n_images: missing (required)"),
        (text_k, "field k: expected an integer >= 1, got str '12'"),
    ):
        (run / "eval.json").write_text(text)
        assert main(args) == 1
        err = capsys.readouterr().err
        line = err.splitlines()[-1]  # after resume's note that there is nothing left to train
        assert line.startswith(f"vaelab reproduce: error: {run / 'eval.json'}: ") and message in line, err
        assert err.count("error:") == 1 and "Traceback" not in err
        assert (run / "result.json").read_text() == result and (run / "eval.json").read_text() == text
    (run / "eval.json").write_text(good)
    (run / "result.json").write_text('{"broken')
    assert main(args) == 0
    assert f"{run / 'result.json'}: unreadable (JSONDecodeError); rewriting it" in capsys.readouterr().err
    assert json.loads((run / "result.json").read_text())["nll"] == json.loads(result)["nll"]


def test_runs_outside_the_protocols_get_their_own_section_with_bits_per_dim_and_sample_scores(tmp_path):
    from vaelab.core.errors import CheckpointError
    from vaelab.runs.results import collect_evaluations
    from vaelab.viz.leaderboard import render_leaderboard

    def run(name, ev, *, result=False, epochs=2):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "eval.json").write_text(json.dumps(ev))
        (folder / "config.json").write_text(json.dumps({"model": "vae", "dataset": {"name": "fashion-mnist"}}))
        (folder / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e + 1}) + "\n" for e in range(epochs)))
        if result:
            (folder / "result.json").write_text("{}")

    base = {"nll": 2226.834, "nll_stderr": 4.94, "k": 1000, "split": "test", "n_images": 10000}
    scores = {"name": "Fréchet distance, vaelab Fashion-MNIST classifier features", "frechet_distance": 90.4}
    scores |= {"precision": 0.737, "recall": 0.611, "k": 3, "n_samples": 1000}
    scores["reference"] = {"frechet_distance": 3.9, "precision": 0.88, "recall": 0.9}
    run(
        "fm",
        {
            **base,
            "likelihood": "discretized-logistic",
            "bits_per_dim": 4.0977,
            "bits_per_dim_stderr": 0.0091,
            "samples": scores,
        },
        epochs=30,
    )
    run("plain", {**base, "likelihood": "bernoulli"})
    run("a-recipe", base, result=True)  # a recipe's row: the table above, not this section
    records = collect_evaluations([tmp_path])
    assert [(r["name"], r["epochs_run"]) for r in records] == [("fm", 30), ("plain", 2)]
    board = render_leaderboard([], [], [], records)
    section = board.split("## Other measured runs", 1)[1]
    assert (
        "| `fm` | vae | fashion-mnist (discretized-logistic) | 30 | 2226.83 ± 4.94 (K = 1,000, 10,000 test " in section
    )
    assert (
        "| 4.098 ± 0.009 | Fréchet distance, vaelab Fashion-MNIST classifier features 90.400 (floor 3.900)" in section
    )
    assert (
        "| `plain` | vae | fashion-mnist (bernoulli) | 2 |" in section and "| not measured | not measured |" in section
    )
    assert "a-recipe" not in section
    assert "## Other measured runs" not in render_leaderboard([], [], [], [])
    (tmp_path / "plain" / "eval.json").write_text(json.dumps({"nll": "low"}))
    with pytest.raises(CheckpointError, match="plain/eval.json: not a vaelab evaluation"):
        collect_evaluations([tmp_path])
    (tmp_path / "plain" / "eval.json").write_text("[1]")
    with pytest.raises(CheckpointError, match="expected a JSON object"):
        collect_evaluations([tmp_path])


def test_committed_leaderboard_is_regenerated_byte_for_byte(tmp_path):
    committed = ROOT / "docs" / "results" / "leaderboard.md"
    out = tmp_path / "leaderboard.md"
    code, _, err = run_cli(
        "leaderboard", "--runs-dir", ROOT / "docs" / "results", "--recipes", RECIPES, "--out", out, cwd=tmp_path
    )
    assert code == 0, err
    assert out.read_bytes() == committed.read_bytes()
    results = list((ROOT / "docs" / "results").glob("*/result.json"))
    assert results  # at least one measured row
    names = {r.name for r in list_recipes(RECIPES)}
    for path in results:
        record = json.loads(path.read_text())
        assert record["recipe"] in names and record["k"] >= 1 and record["epochs_run"] >= 1
        assert {"config.json", "eval.json", "metrics-summary.json"} <= {p.name for p in path.parent.iterdir()}


def _record(recipe, nll, **extra):
    """A result.json record with the keys the summary reads (constructed numbers, not a run's)."""
    record = {
        "recipe": recipe,
        "paper_nll": 86.76,
        "nll": nll,
        "nll_stderr": 0.25,
        "k": 5000,
        "epochs_run": 40,
        "epochs_protocol": 3280,
        "shorter_than_protocol": True,
        "elbo": -(nll + 4.5),
        "layers": {"z": {"active_units": 17, "latent_dim": 50}},
        "paper_active_units": "19",
        "train_seconds": 600.0,
        "eval_seconds": 90.0,
        "hardware": "a test CPU",
        "nll_vs_k": [{"k": 1, "nll": nll + 5, "nll_stderr": 0.3}, {"k": 5000, "nll": nll, "nll_stderr": 0.25}],
    }
    record.update(extra)
    return record


def test_readme_summary_renders_the_measured_rows():
    from vaelab.viz.leaderboard import render_summary

    recipes = list_recipes(RECIPES)
    assert "No recipe has a measured result yet" in render_summary(recipes, [])
    results = [
        _record("burda-vae-1layer-k1", 90.0),
        _record("burda-vae-1layer-k1", 88.0, epochs_run=100),  # the longer run of one recipe is the one shown
        _record(
            "tomczak-vampprior-1layer",
            85.0,
            paper_nll=85.57,
            checkpoint="best",
            checkpoint_epoch=39,
            shorter_than_protocol=False,
            stopped_early=True,
            epochs_protocol=2000,
        ),
    ]
    text = render_summary(recipes, results)
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert len(rows) == 4  # two recipes in the NLL table, the same two in the NLL-vs-K table
    vae = rows[0]
    assert vae.startswith("| `burda-vae-1layer-k1` | 86.76 | **88.00 ± 0.25** (K = 5,000) | +1.24 |")
    assert "100 of 3,280 (short run)" in vae and "| -92.50 | 4.50 | 17 of 50 (19) |" in vae
    assert "10 min + 90 s" in vae and vae.endswith("| a test CPU |")
    vamp = rows[1]
    assert "| -0.57 |" in vamp and "40 of 2,000 (stopped early); tested: epoch 39" in vamp
    assert "(short run)" not in vamp
    assert "| K = 1 | K = 5,000 |" in text and rows[2] == "| `burda-vae-1layer-k1` | 93.00 ± 0.30 | 88.00 ± 0.25 |"


def test_a_row_carried_across_kinds_of_machine_names_each_with_its_epochs():
    from vaelab.viz.leaderboard import render_summary

    def seg(a, b, hw):
        return {"from_epoch": a, "to_epoch": b, "device": "cpu", "hardware": hw}

    segments = [seg(0, 1887, "CPU A"), seg(1887, 3032, "CPU A"), seg(3032, 3280, "CPU B")]
    one_kind = [seg(0, 100, "CPU A"), seg(100, 3280, "CPU A")]
    for segs, cell in ((segments, "| CPU A: epochs 1-3,032; CPU B: epochs 3,033-3,280 |"), (one_kind, "| CPU B |")):
        record = _record("burda-vae-1layer-k1", 86.7, epochs_run=3280, hardware="CPU B", segments=segs)
        row = [line for line in render_summary(list_recipes(RECIPES), [record]).splitlines() if "| 86.76 |" in line]
        assert row and row[0].endswith(cell), row


def test_readme_block_is_replaced_between_its_markers_or_refused(tmp_path):
    from vaelab.core.errors import ConfigError
    from vaelab.viz.leaderboard import README_BEGIN, README_END, replace_readme_block

    text = f"# title\n{README_BEGIN}\nold\n{README_END}\nafter\n"
    assert (
        replace_readme_block(text, "new 1\nnew 2\n", "R.md")
        == f"# title\n{README_BEGIN}\nnew 1\nnew 2\n{README_END}\nafter\n"
    )
    short = f"<!-- leaderboard:begin -->\nold\n{README_END}\n"  # a begin line is known by its start
    assert replace_readme_block(short, "new", "R.md") == f"<!-- leaderboard:begin -->\nnew\n{README_END}\n"
    for bad in ("no markers\n", f"{README_END}\n{README_BEGIN}\n", f"{README_BEGIN}\n{README_BEGIN}\n{README_END}\n"):
        with pytest.raises(ConfigError, match="R.md: expected one line"):
            replace_readme_block(bad, "x", "R.md")
    # the command: one line naming the file, exit 2, and neither the README nor the leaderboard written
    readme, out = tmp_path / "README.md", tmp_path / "leaderboard.md"
    readme.write_text("no markers here\n")
    code, _, err = run_cli("leaderboard", "--runs-dir", tmp_path, "--readme", readme, "--out", out)
    assert code == 2 and len(err.strip().splitlines()) == 1 and str(readme) in err and "Traceback" not in err
    assert readme.read_text() == "no markers here\n" and not out.exists()
    code, _, err = run_cli("leaderboard", "--runs-dir", tmp_path / "nope", "--out", out)
    assert code == 2 and "--runs-dir" in err and "no such folder" in err and not out.exists()


def test_committed_readme_summary_is_regenerated_byte_for_byte(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_bytes((ROOT / "README.md").read_bytes())
    args = ["leaderboard", "--runs-dir", ROOT / "docs" / "results", "--recipes", RECIPES, "--readme", readme]
    code, _, err = run_cli(*args, "--out", tmp_path / "leaderboard.md", cwd=tmp_path)
    assert code == 0, err
    assert readme.read_bytes() == (ROOT / "README.md").read_bytes()
