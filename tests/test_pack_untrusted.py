"""A pack is untrusted input: a real small pack, tampered in one way per case, gives one line naming the file and
the field, exit 2 for a malformed field and exit 1 for a damaged file (``vaelab.runs.pack_check``), from every
command and from ``vaelab.load``, and nothing is written outside the pack."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import CheckpointError, PackError

META = {"format": "vaelab-weights-1", "model": "vae"}


def _json(name, change):
    def tamper(pack: Path, outside: Path) -> None:
        path = pack / name
        value = json.loads(path.read_text())
        value = change(value)
        path.write_text(json.dumps(value, allow_nan=True))

    return tamper


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(d):
        target = d
        for k in keys[:-1]:
            target = target[k]
        target[keys[-1]] = value
        return d

    return change


def _text(name, text):
    def tamper(pack: Path, outside: Path) -> None:
        (pack / name).write_text(text)

    return tamper


def _truncate(name, keep=0.5):
    def tamper(pack: Path, outside: Path) -> None:
        data = (pack / name).read_bytes()
        (pack / name).write_bytes(data[: int(len(data) * keep)])

    return tamper


def _remove(name):
    def tamper(pack: Path, outside: Path) -> None:
        (pack / name).unlink()

    return tamper


def _weights(change, metadata=META):
    def tamper(pack: Path, outside: Path) -> None:
        state = load_file(str(pack / "model.safetensors"))
        save_file(change(state), str(pack / "model.safetensors"), metadata=metadata)

    return tamper


def _npy(name, array, allow_pickle=False):
    def tamper(pack: Path, outside: Path) -> None:
        with open(pack / name, "wb") as fh:
            np.save(fh, array, allow_pickle=allow_pickle)

    return tamper


def _huge_npy_header(pack: Path, outside: Path) -> None:
    """A valid .npy header that claims 10^12 images, followed by a few bytes."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (10**12, 10, 1, 8, 8)}
    with open(pack / "epoch_samples.npy", "wb") as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(b"\0" * 64)


def _huge_safetensors_header(pack: Path, outside: Path) -> None:
    data = (pack / "model.safetensors").read_bytes()
    (pack / "model.safetensors").write_bytes(struct.pack("<Q", 2**60) + data[8:])


def _npz(**arrays):
    def tamper(pack: Path, outside: Path) -> None:
        with open(pack / "epoch_codes.npz", "wb") as fh:
            np.savez(fh, **arrays)

    return tamper


def _link(name, target_in_outside, is_dir=False):
    def tamper(pack: Path, outside: Path) -> None:
        target = outside / target_in_outside
        if is_dir:
            target.mkdir(exist_ok=True)
        else:
            shutil.copyfile(pack / name, target)
        path = pack / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        path.symlink_to(target, target_is_directory=is_dir)

    return tamper


def _loop(pack: Path, outside: Path) -> None:
    (pack / "export").symlink_to(pack / "export")


def _fifo(name):
    def tamper(pack: Path, outside: Path) -> None:
        (pack / name).unlink()
        os.mkfifo(pack / name)

    return tamper


def _weights_dir(pack: Path, outside: Path) -> None:
    (pack / "model.safetensors").unlink()
    (pack / "model.safetensors").mkdir()


def _nan(state):
    return {k: torch.full_like(v, float("nan")) for k, v in state.items()}


def _one_inf(state):
    state["fc_mu.weight"][0, 0] = float("inf")
    return state


CARD_BAD_YAML = "---\nlicense: [mit\ntags: {\n---\n# card\n"
CARD_BAD_INDEX = "---\nlibrary_name: vaelab\nmodel-index:\n- results: 3\n---\n# card\n"

# (case, tamper, exit code, what the one line must name)
CASES = [
    ("config-top-level-list", _json("config.json", lambda c: [c]), 2, "config.json: field (top level)"),
    ("config-model-config-list", _json("config.json", _set("model_config", [2])), 2, "field model_config"),
    ("config-dataset-list", _json("config.json", _set("dataset", ["sklearn-digits"])), 2, "field dataset"),
    ("config-train-list", _json("config.json", _set("train", [])), 2, "field train"),
    ("config-environment-list", _json("config.json", _set("environment", ["x"])), 2, "field environment"),
    (
        "config-environment-nested",
        _json("config.json", _set("environment", "torch", {"a": 1})),
        2,
        "field environment.torch",
    ),
    ("config-pack-format-version", _json("config.json", _set("packed", "format", 2)), 2, "field packed.format"),
    (
        "config-packed-missing",
        _json("config.json", lambda c: {k: v for k, v in c.items() if k != "packed"}),
        2,
        "field packed: missing",
    ),
    ("config-config-format-newer", _json("config.json", _set("format", 99)), 2, "field format"),
    ("config-unknown-model", _json("config.json", _set("model", "gan")), 2, "config.json: model 'gan'"),
    ("config-latent-dim-string", _json("config.json", _set("model_config", "latent_dim", "2")), 2, "latent_dim"),
    (
        "config-latent-dim-huge",
        _json("config.json", _set("model_config", "latent_dim", 10**12)),
        2,
        "model.safetensors: tensor",
    ),
    (
        "config-hidden-huge",
        _json("config.json", _set("model_config", "hidden", [10**15])),
        2,
        "model.safetensors: tensor",
    ),
    (
        "config-image-shape-other",
        _json("config.json", _set("model_config", "image_shape", [1, 28, 28])),
        2,
        "model.safetensors: tensor",
    ),
    ("config-n-train-huge", _json("config.json", _set("dataset", "n_train", 10**30)), 2, "field dataset.n_train"),
    ("config-name-path", _json("config.json", _set("name", "../../evil")), 2, "field name"),
    ("config-epochs-float", _json("config.json", _set("train", "epochs", 1.5)), 2, "epochs"),
    ("config-not-json", _text("config.json", '{"model": "vae", '), 1, "config.json: not valid JSON"),
    ("config-not-utf8", lambda p, o: (p / "config.json").write_bytes(b"\xff\xfe{}"), 1, "config.json: cannot read"),
    ("config-missing", _remove("config.json"), 1, "config.json: missing"),
    ("eval-nll-string", _json("eval.json", _set("nll", "43.4")), 2, "eval.json: field nll"),
    ("eval-k-string", _json("eval.json", _set("k", "5")), 2, "eval.json: field k"),
    ("eval-nll-nan", _json("eval.json", _set("nll", float("nan"))), 2, "eval.json: field nll"),
    (
        "eval-elbo-infinite",
        _text("eval.json", '{"split": "test", "n_images": 5, "elbo": 1e999}'),
        2,
        "eval.json: field elbo",
    ),
    ("eval-n-images-huge", _json("eval.json", _set("n_images", 10**30)), 2, "eval.json: field n_images"),
    ("eval-split-unknown", _json("eval.json", _set("split", "holdout")), 2, "eval.json: field split"),
    ("eval-list", _json("eval.json", lambda e: [e]), 2, "eval.json: field (top level)"),
    ("eval-layers-list", _json("eval.json", _set("layers", "z", "kl_per_dim", "high")), 2, "layers.z.kl_per_dim"),
    (
        "eval-nll-without-k",
        _json("eval.json", lambda e: {k: v for k, v in e.items() if k != "k"}),
        2,
        "eval.json: field k: missing",
    ),
    ("eval-truncated", _truncate("eval.json"), 1, "eval.json: not valid JSON"),
    ("eval-deep-nesting", _text("eval.json", "[" * 100_000 + "]" * 100_000), 1, "eval.json: not valid JSON"),
    ("eval-int-too-long", _text("eval.json", '{"k": ' + "9" * 5000 + "}"), 1, "eval.json: not valid JSON"),
    ("metrics-record-list", _text("metrics.jsonl", "[1, 2]\n"), 2, "metrics.jsonl:1: field (top level)"),
    (
        "metrics-value-string",
        _text("metrics.jsonl", '{"epoch": 1, "val_loss": "low"}\n'),
        2,
        "metrics.jsonl:1: field val_loss",
    ),
    ("metrics-epoch-float", _text("metrics.jsonl", '{"epoch": 1e308}\n'), 2, "metrics.jsonl:1: field epoch"),
    ("metrics-not-json", _text("metrics.jsonl", '{"epoch": 1}\n{"epoch": \n'), 1, "metrics.jsonl:2: not valid"),
    (
        "samples-pickled",
        _npy("epoch_samples.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True),
        2,
        "epoch_samples.npy: a pickled",
    ),
    (
        "samples-float",
        _npy("epoch_samples.npy", np.zeros((1, 10, 1, 8, 8), np.float32)),
        2,
        "epoch_samples.npy: an array of dtype float32",
    ),
    (
        "samples-wrong-shape",
        _npy("epoch_samples.npy", np.zeros((1, 10, 1, 9, 9), np.uint8)),
        2,
        "epoch_samples.npy: shape",
    ),
    ("samples-truncated", _truncate("epoch_samples.npy", 0.8), 1, "epoch_samples.npy: the header declares"),
    ("samples-huge-header", _huge_npy_header, 1, "epoch_samples.npy: the header declares"),
    ("samples-a-fifo", _fifo("epoch_samples.npy"), 1, "epoch_samples.npy: not a regular file"),
    ("eval-a-fifo", _fifo("eval.json"), 1, "eval.json: not a file"),
    ("samples-not-npy", _text("epoch_samples.npy", "hello"), 1, "epoch_samples.npy: not a readable .npy"),
    ("codes-pickled", _npz(codes=np.array([None], dtype=object)), 2, "member codes.npy: a pickled"),
    (
        "codes-wrong-shape",
        _npz(codes=np.zeros((1, 5, 2), np.float32), epochs=np.ones(3, np.int32), index=np.arange(5)),
        2,
        "epoch_codes.npz: array epochs",
    ),  # fmt: skip
    ("codes-not-zip", _text("epoch_codes.npz", "PK nonsense"), 1, "epoch_codes.npz: not a readable .npz"),
    ("weights-truncated", _truncate("model.safetensors"), 1, "model.safetensors: cannot read the weights"),
    ("weights-header-huge", _huge_safetensors_header, 1, "model.safetensors: cannot read the weights"),
    ("weights-missing", _remove("model.safetensors"), 1, "model.safetensors: missing"),
    ("weights-a-folder", _weights_dir, 1, "model.safetensors: not a file"),
    ("weights-all-nan", _weights(_nan), 2, "non-finite value"),
    ("weights-one-inf", _weights(_one_inf), 2, "tensor 'fc_mu.weight' holds 1 non-finite"),
    ("weights-float64", _weights(lambda s: {k: v.double() for k, v in s.items()}), 2, "is float64"),
    ("weights-int8", _weights(lambda s: {k: v.to(torch.int8) for k, v in s.items()}), 2, "is int8"),
    (
        "weights-wrong-shape",
        _weights(lambda s: {**s, "fc_mu.weight": s["fc_mu.weight"].T.contiguous()}),
        2,
        "tensor 'fc_mu.weight' is float32 [16, 2]",
    ),
    (
        "weights-tensor-missing",
        _weights(lambda s: {k: v for k, v in s.items() if k != "fc_mu.bias"}),
        2,
        "tensors ['fc_mu.bias'] missing for",
    ),
    ("weights-tensor-extra", _weights(lambda s: {**s, "evil": torch.zeros(3)}), 2, "tensors ['evil'] unexpected for"),
    (
        "weights-format-other",
        _weights(lambda s: s, {"format": "vaelab-weights-7", "model": "vae"}),
        2,
        "(header metadata): field format",
    ),
    (
        "weights-model-other",
        _weights(lambda s: s, {"format": "vaelab-weights-1", "model": "ae"}),
        2,
        "(header metadata): field model",
    ),
    ("weights-no-metadata", _weights(lambda s: s, None), 2, "(header metadata): field format: missing"),
    ("figures-link-outside", _link("figures", "elsewhere", is_dir=True), 2, "figures: a symbolic link to"),
    ("config-link-outside", _link("config.json", "config.json"), 2, "config.json: a symbolic link to"),
    ("export-link-loop", _loop, 2, "export: a symbolic link"),
    ("card-bad-yaml", _text("README.md", CARD_BAD_YAML), 1, "README.md: front matter is not YAML"),
    ("card-bad-model-index", _text("README.md", CARD_BAD_INDEX), 2, "README.md: front matter"),
    ("card-a-list", _text("README.md", "---\n- a\n- b\n---\n"), 2, "README.md: front matter"),
]
COMMANDS = [
    ["info", "PACK"],
    ["sample", "PACK", "-n", "4"],
    ["evaluate", "PACK", "--k", "2", "--limit", "10", "--no-progress"],
    ["plot", "PACK", "curves"],
]


def _tree(root: Path, skip: Path) -> dict:
    """Every file and link under ``root`` except under ``skip``: path -> (size, mtime) or the link's target."""
    out = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if Path(folder, d) != skip]
        for name in dirs + files:
            p = Path(folder, name)
            out[str(p)] = os.readlink(p) if p.is_symlink() else (p.lstat().st_size, p.lstat().st_mtime_ns)
    return out


def _run(command, pack, capsys):
    rc = main([str(pack) if a == "PACK" else a for a in command])
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_untampered_pack_passes_every_command(digits_pack, tmp_path, capsys):
    pack = tmp_path / "pack"
    shutil.copytree(digits_pack[1], pack, symlinks=True)
    for command in COMMANDS:
        rc, out, err = _run(command, pack, capsys)
        assert rc == 0, (command, err)
    assert vaelab.load(pack).packed


@pytest.mark.parametrize("case, tamper, code, names", CASES, ids=[c[0] for c in CASES])
def test_a_tampered_pack_gives_one_line(digits_pack, tmp_path, capsys, case, tamper, code, names):
    root = tmp_path / "work"
    pack, outside = root / "pack", root / "outside"
    shutil.copytree(digits_pack[1], pack, symlinks=True)
    outside.mkdir()
    tamper(pack, outside)
    before = _tree(root, pack)
    for command in COMMANDS:
        rc, out, err = _run(command, pack, capsys)
        lines = err.strip().splitlines()
        assert rc == code and len(lines) == 1 and not out, (command, rc, out, err)
        assert lines[0].startswith(f"vaelab {command[0]}: error: ") and names in lines[0], (command, lines)
        assert str(pack) in lines[0], lines  # the file is named by its path
    with pytest.raises(PackError if code == 2 else CheckpointError) as info:
        vaelab.load(pack)
    assert names in str(info.value) and "\n" not in str(info.value)
    assert _tree(root, pack) == before  # nothing written outside the pack (the links' targets included)
    assert not list(outside.rglob("*.png"))
