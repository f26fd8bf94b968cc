"""The relay: a long recipe's state as a pickle-free snapshot that another machine continues bit for bit (on the same
kind of device), and that refuses, in one line, a snapshot it cannot continue."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import pytest
import torch

from vaelab.cli.main import main
from vaelab.core.io import load_checkpoint
from vaelab.runs.relay import (
    RELAY_FORMAT,
    SNAPSHOT_FILE,
    RelayError,
    Snapshot,
    flatten_state,
    load_snapshot,
    save_snapshot,
    unflatten_state,
)

RECIPE = "burda-vae-1layer-k1"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def recipes(tmp_path_factory) -> Path:
    """A recipe folder with a 2-epoch copy of Burda et al.'s VAE recipe (every option of the protocol but its length)
    and a second recipe of another name."""
    folder = tmp_path_factory.mktemp("recipes")
    text = (REPO / "configs" / "recipes" / f"{RECIPE}.toml").read_text()
    assert "epochs = 3280" in text
    (folder / "tiny.toml").write_text(text.replace("epochs = 3280", "epochs = 2"))
    (folder / "other.toml").write_text(text.replace("epochs = 3280", "epochs = 2"))
    return folder


def reproduce(recipes: Path, runs: Path, relay: Path, data_dir, *extra, name="tiny") -> int:
    argv = ["reproduce", name, "--recipes", str(recipes), "--runs-dir", str(runs), "--relay", str(relay)]
    argv += ["--limit", "300", "--eval-k", "2", "--eval-limit", "20", "--data-dir", str(data_dir), "--no-progress"]
    return main(argv + [str(e) for e in extra])


def test_checkpoint_dicts_round_trip_without_pickle():
    state = {
        "model_state": {"w": torch.randn(3, 4), "b": torch.zeros(4, dtype=torch.float64)},
        "optimizer_state": {"state": {0: {"step": torch.tensor(3.0)}, 1: {}}, "param_groups": [{"lr": 1e-3}]},
        "generator_state": torch.arange(16, dtype=torch.uint8),
        "perm": None,
        "best_score": -math.inf,
        "sums": {"keys": ["loss"], "count": 7},
    }
    tensors: dict = {}
    doc = json.loads(json.dumps(flatten_state(state, tensors)))  # what the file holds: JSON and tensors
    back = unflatten_state(doc, tensors)
    assert back["optimizer_state"]["state"].keys() == {0, 1}  # integer keys survive
    assert back["best_score"] == -math.inf and back["perm"] is None and back["sums"] == state["sums"]
    assert torch.equal(back["model_state"]["b"], state["model_state"]["b"])
    assert back["model_state"]["b"].dtype == torch.float64
    assert torch.equal(back["generator_state"], state["generator_state"])


def test_a_stopped_relay_continues_bit_identically_from_its_snapshot_alone(tmp_path, data_dir, recipes):
    # uninterrupted: 2 epochs, evaluated, published beside the relay folder, whose snapshot is then removed
    ref_relay = tmp_path / "ref" / "tiny" / "relay"
    assert reproduce(recipes, tmp_path / "ref-runs", ref_relay, data_dir) == 0
    assert not ref_relay.exists() and (tmp_path / "ref" / "tiny" / "result.json").is_file()
    figure = tmp_path / "ref" / "tiny" / "nll-vs-k.png"  # drawn from this evaluation and published with it
    assert figure.is_file()
    reference = load_checkpoint(tmp_path / "ref-runs" / "tiny" / "checkpoints" / "last.pt")

    # stopped after its first steps (--stop-after), then continued on "another machine": only the snapshot travels
    relay = tmp_path / "results" / "tiny" / "relay"
    assert reproduce(recipes, tmp_path / "m1", relay, data_dir, "--stop-after", "0.0001") == 0
    snap = load_snapshot(relay, "tiny")
    assert (snap.epochs_done, snap.epochs_total) == (0, 2) and snap.state["step_in_epoch"] >= 1
    assert (relay / SNAPSHOT_FILE).stat().st_size < 8 * 2**20
    status = json.loads((relay / "status.json").read_text())
    assert status["recipe"] == "tiny" and status["epochs_done"] == 0 and not status["complete"]

    assert reproduce(recipes, tmp_path / "m2", relay, data_dir) == 0
    resumed = load_checkpoint(tmp_path / "m2" / "tiny" / "checkpoints" / "last.pt")
    assert resumed["global_step"] == reference["global_step"]
    for key, value in reference["model_state"].items():
        assert torch.equal(resumed["model_state"][key], value), key
    result = json.loads((tmp_path / "results" / "tiny" / "result.json").read_text())
    segments = result["segments"]
    assert [(s["from_epoch"], s["to_epoch"]) for s in segments] == [(0, 0), (0, 2)]
    assert all(s["bit_exact"] and s["device"] == "cpu" for s in segments)
    assert not any("relay" in d for d in result["deviations"])  # exact on one kind of device: nothing to declare


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory, data_dir, recipes) -> Path:
    """A relay folder holding a snapshot of recipe ``tiny`` (stopped after its first steps)."""
    base = tmp_path_factory.mktemp("snap")
    relay = base / "tiny" / "relay"
    assert reproduce(recipes, base / "runs", relay, data_dir, "--stop-after", "0.0001") == 0
    return relay


def _tamper_format(path: Path) -> None:
    from safetensors.torch import load_file, save_file

    with open(path, "rb") as fh:  # the header: 8 bytes of length, then JSON with the metadata
        n = int.from_bytes(fh.read(8), "little")
        meta = json.loads(fh.read(n))["__metadata__"]
    doc = json.loads(meta["vaelab_relay"])
    doc["format"] = RELAY_FORMAT + 1
    save_file(load_file(path), path, metadata={"vaelab_relay": json.dumps(doc)})


def _tamper(case: str, path: Path) -> None:
    data = path.read_bytes()
    if case == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif case == "garbage":
        path.write_bytes(b"\x00" * 64 + data[64:])
    elif case == "newer-format":
        _tamper_format(path)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("truncated", "corrupt relay snapshot"),
        ("garbage", "corrupt relay snapshot"),
        ("newer-format", "written by a newer vaelab"),
        ("other-recipe", "a snapshot of recipe 'tiny', not 'other'"),
    ],
)
def test_a_relay_folder_it_cannot_continue_gives_one_line(tmp_path, data_dir, recipes, snapshot, capsys, case, message):
    relay = tmp_path / "relay"
    shutil.copytree(snapshot, relay)
    _tamper(case, relay / SNAPSHOT_FILE)
    before = (relay / SNAPSHOT_FILE).read_bytes()
    name = "other" if case == "other-recipe" else "tiny"
    code = reproduce(recipes, tmp_path / "runs", relay, data_dir, name=name)
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err
    assert len(lines) == 1 and message in lines[0] and str(relay / SNAPSHOT_FILE) in lines[0], err
    assert "Traceback" not in err
    assert (relay / SNAPSHOT_FILE).read_bytes() == before  # nothing it was given is touched
    assert not (tmp_path / "runs" / name / "checkpoints").exists()


def test_non_finite_weights_are_refused(tmp_path, snapshot):
    snap = load_snapshot(snapshot, "tiny")
    key = next(iter(snap.state["model_state"]))
    snap.state["model_state"][key] = torch.full_like(snap.state["model_state"][key], float("nan"))
    save_snapshot(tmp_path, snap)
    with pytest.raises(RelayError, match="NaN or infinite"):
        load_snapshot(tmp_path, "tiny")


def test_relay_status_and_the_leaderboard_show_the_epoch_reached_and_the_eta(tmp_path, snapshot, capsys):
    results = tmp_path / "results"
    shutil.copytree(snapshot, results / "tiny" / "relay")
    snap = load_snapshot(results / "tiny" / "relay")
    snap.segments[-1].update(from_epoch=0, to_epoch=1, seconds=30.0)  # one epoch in 30 s: 1 epoch left
    snap.state["epoch"], snap.state["step_in_epoch"] = 1, 0
    snap.metrics = [{"epoch": 1}]
    save_snapshot(results / "tiny" / "relay", Snapshot(**vars(snap)))
    assert main(["relay", "status", "--results", str(results), "--runs-dir", str(tmp_path / "runs")]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "1 of 2" in out and "30 s" in out and "30.0 s" in out
    board = tmp_path / "board.md"
    assert main(["leaderboard", "--runs-dir", str(results), "--out", str(board)]) == 0
    text = board.read_text()
    assert "## In progress through the relay" in text and "| `tiny` | 1 of 2 | 30.0 s (cpu" in text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("garbage", "unreadable (not JSON)"),
        ("list", "expected a JSON object, found list"),
        ("partial", "field epochs_done: missing"),
        ("strings", 'field epochs_done: expected int, found "3"'),
        ("folder", "unreadable (Is a directory)"),
    ],
)
def test_relay_status_names_an_unusable_status_file_and_goes_on(tmp_path, snapshot, capsys, case, message):
    results = tmp_path / "results"
    shutil.copytree(snapshot, results / "good" / "relay")
    shutil.copytree(snapshot, results / "tiny" / "relay")
    status = results / "tiny" / "relay" / "status.json"
    if case == "folder":
        status.unlink()
        status.mkdir()
    else:
        text = {
            "garbage": "\x00\x93{not json",
            "list": "[1, 2]",
            "partial": '{"recipe": "tiny"}',
            "strings": '{"recipe": "tiny", "epochs_done": "3", "epochs_total": "4", "seconds_per_epoch": "fast"}',
        }[case]
        status.write_text(text)
    assert main(["relay", "status", "--results", str(results), "--runs-dir", str(tmp_path / "runs")]) == 1
    out, err = capsys.readouterr()
    assert err.strip() == f"vaelab relay: {status}: {message}; skipped (the next snapshot rewrites it)", err
    assert "| tiny " in out and "0 of 2" in out  # the good folder's row (its status says recipe tiny)
    board = tmp_path / "board.md"  # the leaderboard leaves the unusable one out
    assert main(["leaderboard", "--runs-dir", str(results), "--out", str(board)]) == 0
    assert board.read_text().count("| `tiny` | 0 of 2") == 1


def _damage_segments(runs: Path) -> Path:
    path = runs / "tiny" / "relay.json"
    assert json.loads(path.read_text())["segments"]
    path.write_text('{"segments": [1, "x"]}')
    return path


def test_a_damaged_relay_json_takes_the_segments_from_the_snapshot(tmp_path, data_dir, recipes, snapshot, capsys):
    runs, relay = tmp_path / "runs", tmp_path / "results" / "tiny" / "relay"
    shutil.copytree(snapshot.parent.parent / "runs", runs)
    shutil.copytree(snapshot, relay)
    path = _damage_segments(runs)
    assert reproduce(recipes, runs, relay, data_dir) == 0
    err = capsys.readouterr().err
    assert f'{path}: damaged, expected {{"segments": [objects]}}' in err and "taking the segments from" in err, err
    result = json.loads((tmp_path / "results" / "tiny" / "result.json").read_text())
    assert [(s["from_epoch"], s["to_epoch"]) for s in result["segments"]] == [(0, 0), (0, 2)]

    # without a snapshot to take them from: one line naming the file, exit 1, before any training
    runs2 = tmp_path / "runs2"
    shutil.copytree(snapshot.parent.parent / "runs", runs2)
    path = _damage_segments(runs2)
    before = (runs2 / "tiny" / "checkpoints" / "last.pt").read_bytes()
    assert reproduce(recipes, runs2, tmp_path / "empty" / "relay", data_dir) == 1
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"{path}: damaged" in err and "no relay snapshot in" in err, err
    assert (runs2 / "tiny" / "checkpoints" / "last.pt").read_bytes() == before


def test_relay_refuses_a_shorter_protocol_and_bad_minutes(tmp_path, data_dir, recipes, capsys):
    assert reproduce(recipes, tmp_path / "r", tmp_path / "relay", data_dir, "--epochs", "1") == 2
    assert "use --stop-after" in capsys.readouterr().err
    assert reproduce(recipes, tmp_path / "r", tmp_path / "relay", data_dir, "--relay-every", "0") == 2
    assert "--relay-every 0.0: expected minutes > 0" in capsys.readouterr().err
    assert not (tmp_path / "relay").exists()


def test_a_relay_folder_that_cannot_be_written_is_refused_before_any_training(
    tmp_path, data_dir, recipes, capsys, monkeypatch
):
    a_file = tmp_path / "passwd"
    a_file.write_text("root:x:0:0\n")
    assert reproduce(recipes, tmp_path / "r", a_file, data_dir) == 2
    err = capsys.readouterr().err
    assert f"--relay {a_file}: {a_file} is a file, not a folder" in err and err.count("\n") == 1, err
    assert not (tmp_path / "r").exists()  # refused before the run folder was made (it used to train all epochs)

    import errno
    import tempfile

    real, parent = tempfile.TemporaryFile, tmp_path / "mount"
    parent.mkdir()

    def read_only(*args, dir=None, **kwargs):  # as a read-only mount (chmod does not stop root)
        if dir is not None and Path(dir) == parent:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    code = reproduce(recipes, tmp_path / "r", parent / "tiny" / "relay", data_dir)
    err = capsys.readouterr().err
    assert code == 2 and "cannot write the relay snapshot into it" in err and "Read-only file system" in err, err
    assert not (tmp_path / "r").exists() and not (parent / "tiny").exists()


@pytest.mark.skipif(
    not Path("/proc/self/autogroup").exists(), reason="the kernel has no autogroup scheduling: nice alone applies"
)
def test_a_relay_process_gets_the_lowest_share_of_its_own_scheduler_group():
    """``relay start`` detaches each recipe into its own session; under autogroup scheduling that session would
    get a fair share against the user's work whatever its nice value, so the group's nice is lowered too."""
    import subprocess
    import sys

    from vaelab.cli.relay import _lower_autogroup

    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True, stdin=subprocess.DEVNULL
    )
    try:
        before = Path(f"/proc/{child.pid}/autogroup").read_text()
        assert before.split()[-1] != "19", before  # a new session's group starts at the default weight
        _lower_autogroup(child.pid)
        assert Path(f"/proc/{child.pid}/autogroup").read_text().split()[-1] == "19"
    finally:
        child.kill()
        child.wait()
    _lower_autogroup(child.pid)  # a process that is gone: nothing to do, no error


def test_relay_start_skips_a_complete_row_and_takes_the_next_one(tmp_path, capsys):
    """A row whose result ran the full protocol (and whose snapshot was removed) is not restarted; the relay's two
    places go to the next unfinished rows of DEFAULT_RECIPES, in order."""
    from argparse import Namespace

    from vaelab.cli.relay import DEFAULT_RECIPES, MAX_RELAYS, _unfinished

    args = Namespace(recipes=[], results=tmp_path)
    assert _unfinished(args) == list(DEFAULT_RECIPES[:MAX_RELAYS])
    done = tmp_path / DEFAULT_RECIPES[0]
    done.mkdir()
    (done / "result.json").write_text(json.dumps({"shorter_than_protocol": False}, indent=2))
    assert _unfinished(args) == list(DEFAULT_RECIPES[1 : 1 + MAX_RELAYS])
    assert f"{DEFAULT_RECIPES[0]}: complete" in capsys.readouterr().out
    (done / "relay").mkdir()  # a snapshot beside the result: the row is being carried again, not complete
    (done / "relay" / SNAPSHOT_FILE).write_bytes(b"")
    assert _unfinished(args)[0] == DEFAULT_RECIPES[0]


def _rewrite(path: Path, edit) -> None:
    """Rewrite a snapshot's tensors and JSON document through ``edit(doc, tensors)``."""
    from safetensors.torch import load_file, save_file

    with open(path, "rb") as fh:
        n = int.from_bytes(fh.read(8), "little")
        doc = json.loads(json.loads(fh.read(n))["__metadata__"]["vaelab_relay"])
    tensors = load_file(path)
    edit(doc, tensors)
    save_file(tensors, path, metadata={"vaelab_relay": json.dumps(doc)})


def test_the_metrics_travel_compressed_and_a_format_1_snapshot_is_still_read(tmp_path, snapshot):
    """Format 2 keeps the metrics records as zlib-compressed JSON (a two-layer row's 3,280 epochs of records would
    push its snapshot past 8 MB); the format-1 snapshots committed before it (records in the JSON document) are
    still continued; a damaged records entry is refused in one line."""
    import zlib

    from vaelab.runs.relay import MAX_SNAPSHOT_BYTES, METRICS_TENSOR

    snap = load_snapshot(snapshot, "tiny")
    keys = ("train_loss", "train_recon_nll", "train_kl", "val_loss", "val_recon_nll", "val_kl", "val_elbo", "lr")
    snap.metrics = [{"epoch": i + 1, **{k: 90.0 + (i * 7919 + j) % 1000 / 997 for j, k in enumerate(keys)}}
                    for i in range(3280)]  # fmt: skip
    snap.state["epoch"] = len(snap.metrics)
    path = save_snapshot(tmp_path / "v2", snap)
    plain = len(json.dumps(snap.metrics, separators=(",", ":")))
    with open(path, "rb") as fh:
        header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
    stored = header[METRICS_TENSOR]["data_offsets"][1] - header[METRICS_TENSOR]["data_offsets"][0]
    assert stored < plain / 4 and path.stat().st_size < MAX_SNAPSHOT_BYTES
    assert load_snapshot(tmp_path / "v2", "tiny").metrics == snap.metrics

    def to_format_1(doc, tensors):
        doc["format"], doc["metrics"] = 1, json.loads(zlib.decompress(tensors.pop(METRICS_TENSOR).numpy().tobytes()))

    shutil.copytree(tmp_path / "v2", tmp_path / "v1")
    _rewrite(tmp_path / "v1" / SNAPSHOT_FILE, to_format_1)
    old = load_snapshot(tmp_path / "v1", "tiny")
    assert old.metrics == snap.metrics and old.epochs_done == snap.epochs_done

    def damage(doc, tensors):
        tensors[METRICS_TENSOR] = tensors[METRICS_TENSOR][:-10].clone()

    shutil.copytree(tmp_path / "v2", tmp_path / "bad")
    _rewrite(tmp_path / "bad" / SNAPSHOT_FILE, damage)
    with pytest.raises(RelayError, match="corrupt relay snapshot"):
        load_snapshot(tmp_path / "bad", "tiny")
