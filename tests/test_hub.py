"""Models the Hugging Face Hub can read: the card's metadata read back with huggingface_hub's model-card tools,
files 0644, ``vaelab.load`` of a local pack and of a folder laid out as the Hub's cache (offline), ``vaelab push``
up to the upload call (the Hub cannot be reached from here: HfApi's methods are replaced and their arguments
checked), and the evaluation of a pack reading only the split it evaluates."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from huggingface_hub import HfApi, ModelCard, ModelCardData, metadata_load
from huggingface_hub.repocard_data import eval_results_to_model_index, model_index_to_eval_results

import vaelab
from vaelab.cli.main import main
from vaelab.core.errors import CheckpointError, ConfigError, PackError
from vaelab.runs.card import card_data, default_license

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _outputs(model, seed=0):
    x = torch.rand(6, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        mu, logvar = model.encode(x)
        return mu, logvar, model.decode(mu), model.sample(4, generator=torch.Generator().manual_seed(seed))


def _same_model(a, b) -> None:
    for u, v in zip(_outputs(a), _outputs(b), strict=True):
        torch.testing.assert_close(u, v, rtol=0, atol=0)


def test_card_is_hub_model_card_metadata(digits_pack, tmp_path, capsys):
    run_path, pack = digits_pack
    ev = json.loads((run_path / "eval.json").read_text())
    card = ModelCard.load(pack / "README.md")  # huggingface_hub's parser: YAML front matter -> ModelCardData
    data = card.data
    assert data.library_name == "vaelab" and data.license == "cc-by-4.0" == default_license("sklearn-digits")
    assert {"vaelab", "vae", "variational-autoencoder", "sklearn-digits"} <= set(data.tags)
    assert data.pipeline_tag == "unconditional-image-generation" and data.model_name == "digits-z2"
    results = {r.metric_type: r for r in data.eval_results}  # model-index parsed by huggingface_hub
    assert set(results) == {"nll", "elbo", "kl", "active_units", "bits_per_dim"}  # one entry per measured metric
    assert results["bits_per_dim"].metric_value == pytest.approx(ev["bits_per_dim"], abs=1e-4)
    nll = results["nll"]
    assert nll.metric_value == pytest.approx(ev["nll"], abs=1e-4) and nll.dataset_split == "test"
    assert nll.metric_args["k"] == ev["k"] == 5 and nll.metric_args["split"] == "test"
    assert nll.metric_args["binarization"] == ev["binarization"] and nll.metric_args["stderr"] == ev["nll_stderr"]
    assert "K = 5" in nll.metric_name and nll.task_type == "unconditional-image-generation"
    assert results["active_units"].metric_value == ev["active_units"]
    # the metadata round-trips through huggingface_hub's own model-index writer and ModelCardData
    meta = metadata_load(pack / "README.md")
    name, parsed = model_index_to_eval_results(meta["model-index"])
    assert eval_results_to_model_index(name, parsed) == meta["model-index"]
    assert ModelCardData(**meta).to_dict() == meta
    assert meta["vaelab"]["model_family"] == "vae" and meta["vaelab"]["image_shape"] == [1, 8, 8]
    assert str(ModelCard(card.content)) == card.content
    # the training data's Hub id and terms where vaelab knows them
    config = json.loads((pack / "config.json").read_text())
    mnist = card_data({**config, "dataset": {**config["dataset"], "name": "mnist"}}, ev, [], 1)
    assert mnist.datasets == ["ylecun/mnist"] and mnist.license == "cc-by-sa-3.0"
    assert card_data({**config, "dataset": {**config["dataset"], "name": "frey-face"}}, ev, [], 1).license == "unknown"
    terms = {"fashion-mnist": "mit", "emoji-faces-twitter": "cc-by-4.0", "emoji-google": "apache-2.0"}
    terms |= {"emoji-faces": "other", "celeba": "other"}
    for name, licence in terms.items():
        assert card_data({**config, "dataset": {**config["dataset"], "name": name}}, ev, [], 1).license == licence
    # --license, checked against the Hub's licence ids
    assert main(["pack", str(run_path), str(tmp_path / "mit"), "--license", "mit"]) == 0
    assert ModelCard.load(tmp_path / "mit" / "README.md").data.license == "mit"
    assert json.loads((tmp_path / "mit" / "config.json").read_text())["packed"]["license"] == "mit"
    capsys.readouterr()
    assert main(["pack", str(run_path), str(tmp_path / "bad"), "--license", "mitt"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "license 'mitt'" in err[0] and "did you mean mit" in err[0], err
    assert not (tmp_path / "bad").exists()


def test_pack_files_are_0644(digits_pack, tmp_path):
    old = os.umask(0o022)
    try:
        out = vaelab.load_run(digits_pack[0]).pack(tmp_path / "p").path
    finally:
        os.umask(old)
    modes = {p.name: oct(p.stat().st_mode & 0o777) for p in out.iterdir()}
    assert set(modes.values()) == {"0o644"}, modes
    assert "model.safetensors" in modes


def _hub_cache(pack: Path, cache: Path, repo: str) -> Path:
    """Lay ``pack`` out as huggingface_hub's cache does: blobs by hash, snapshots/<commit>/ of relative links to
    them, refs/main naming the commit. Returns the snapshot folder."""
    base = cache / ("models--" + repo.replace("/", "--"))
    snap = base / "snapshots" / COMMIT
    for path in sorted(p for p in pack.rglob("*") if p.is_file()):
        data = path.read_bytes()
        blob = base / "blobs" / hashlib.sha256(data).hexdigest()
        blob.parent.mkdir(parents=True, exist_ok=True)
        blob.write_bytes(data)
        link = snap / path.relative_to(pack)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(os.path.relpath(blob, link.parent))
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(COMMIT)
    return snap


def test_load_a_local_pack_and_the_hub_cache_offline(digits_pack, tmp_path, monkeypatch, capsys):
    import huggingface_hub.constants

    run_path, pack = digits_pack
    run = vaelab.load(run_path)
    local = vaelab.load(str(pack))
    assert local.packed and local.path == pack
    _same_model(run.model, local.model)
    cache = tmp_path / "hub"
    snap = _hub_cache(pack, cache, "vaelab-test/digits")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    for kwargs in ({"cache_dir": cache}, {}):
        if not kwargs:
            monkeypatch.setenv("HF_HUB_CACHE", str(cache))
        hub = vaelab.load("vaelab-test/digits", **kwargs)
        assert hub.path == snap and hub.packed and (hub.path / "model.safetensors").is_symlink()
        _same_model(run.model, hub.model)
    assert main(["info", str(snap)]) == 0  # links into the repository's blobs/ are inside the pack
    capsys.readouterr()
    # not cached, offline: one line
    with pytest.raises(CheckpointError) as info:
        vaelab.load("vaelab-test/other", cache_dir=cache)
    assert "HF_HUB_OFFLINE" in str(info.value) and "\n" not in str(info.value)
    # no network (a closed port as the Hub): the cached snapshot, else one line
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    assert vaelab.load("vaelab-test/digits", cache_dir=cache).path == snap
    with pytest.raises(CheckpointError, match="the Hub cannot be reached") as info:
        vaelab.load("vaelab-test/other", cache_dir=cache)
    assert "\n" not in str(info.value)
    with pytest.raises(ConfigError, match="repository id"):
        vaelab.load("not a repo id!")
    # a cached file that links out of the repository's folder is refused
    target = tmp_path / "elsewhere.json"
    shutil.copyfile(snap / "eval.json", target)
    (snap / "eval.json").unlink()
    (snap / "eval.json").symlink_to(target)
    with pytest.raises(PackError, match="eval.json: a symbolic link to .* outside the pack"):
        vaelab.load("vaelab-test/digits", cache_dir=cache)


class _Calls:
    """Stands in for HfApi.create_repo and HfApi.upload_folder: records their arguments (and the files of the
    folder at upload time), answers as the Hub would."""

    def __init__(self, monkeypatch):
        from huggingface_hub import CommitInfo, RepoUrl

        self.calls = []
        self.files = {}

        def create_repo(api, repo_id, **kwargs):
            self.calls.append(("create_repo", repo_id, kwargs))
            return RepoUrl(f"https://huggingface.co/{repo_id}")

        def upload_folder(api, **kwargs):
            self.calls.append(("upload_folder", kwargs["repo_id"], kwargs))
            folder = Path(kwargs["folder_path"])
            self.files = {str(p.relative_to(folder)): p.stat().st_mode & 0o777 for p in folder.rglob("*")}
            self.card = ModelCard.load(folder / "README.md").data
            return CommitInfo(
                commit_url=f"https://huggingface.co/{kwargs['repo_id']}/commit/{COMMIT}", commit_message="m",
                commit_description="", oid=COMMIT,
            )  # fmt: skip

        monkeypatch.setattr(HfApi, "create_repo", create_repo)
        monkeypatch.setattr(HfApi, "upload_folder", upload_folder)


def test_push_packs_and_uploads_with_huggingface_hub(digits_pack, tmp_path, monkeypatch, capsys):
    run_path, pack = digits_pack
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    fake = _Calls(monkeypatch)
    assert main(["push", str(run_path), "me/digits", "--license", "mit", "--private", "--message", "first"]) == 0
    assert f"commit/{COMMIT}" in capsys.readouterr().out
    (c1, repo1, kw1), (c2, repo2, kw2) = fake.calls
    assert (c1, repo1, c2, repo2) == ("create_repo", "me/digits", "upload_folder", "me/digits")
    assert kw1 == {"repo_type": "model", "private": True, "exist_ok": True}
    assert kw2["repo_type"] == "model" and kw2["commit_message"] == "first" and kw2["revision"] is None
    assert ".*" in kw2["ignore_patterns"] and "site/*" in kw2["ignore_patterns"]
    assert {"model.safetensors", "config.json", "README.md", "eval.json"} <= set(fake.files)
    assert set(fake.files.values()) == {0o644} and fake.card.license == "mit" and fake.card.library_name == "vaelab"
    assert not Path(kw2["folder_path"]).exists()  # the temporary pack is gone
    # a packed folder goes up as it is
    fake.calls.clear()
    assert vaelab.load(pack).push("me/digits2").endswith(COMMIT)
    assert Path(fake.calls[1][2]["folder_path"]) == pack and fake.calls[0][2]["private"] is None
    # one line, nothing uploaded: offline, a bad id, a licence for a packed folder, the Hub refusing
    fake.calls.clear()
    for argv, env, code, says in [
        (["push", str(pack), "me/x"], {"HF_HUB_OFFLINE": "1"}, 1, "the Hub is switched off"),
        (["push", str(pack), "a/b/c"], {}, 2, "repository id 'a/b/c'"),
        (["push", str(pack), "me/x", "--license", "mit"], {}, 2, "is a packed folder whose card states"),
    ]:
        with monkeypatch.context() as m:
            for k, v in env.items():
                m.setenv(k, v)
            assert main(argv) == code
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], err
    assert fake.calls == []

    def refuse(api, repo_id, **kwargs):
        raise PermissionError("401 Client Error: Unauthorized\nInvalid credentials")

    monkeypatch.setattr(HfApi, "create_repo", refuse)
    assert main(["push", str(pack), "me/x"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "vaelab push: error: me/x: upload to the Hub failed (PermissionError: 401 Client Error: Unauthorized)"
    ]


def test_evaluating_a_pack_reads_only_its_split(data_dir, tmp_path, monkeypatch, capsys):
    """An MNIST pack evaluated on the test split with only MNIST's two test files in reach (offline)."""
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    run = vaelab.train("vae", name="m", runs_dir=tmp_path / "runs", latent_dim=2, hidden=(16,), epochs=1,
                       limit=256, batch_size=128, data_dir=str(data_dir), progress=False)  # fmt: skip
    run.evaluate(k=2, limit=20)
    config = json.loads((run.path / "config.json").read_text())
    config["dataset"]["data_dir"] = None  # as on another machine: the packer's data folder is not there
    (run.path / "config.json").write_text(json.dumps(config))
    pack = run.pack(tmp_path / "pack").path
    test_only = tmp_path / "data" / "mnist"
    test_only.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        shutil.copyfile(data_dir / "mnist" / name, test_only / name)
    monkeypatch.setenv("VAELAB_DATA", str(test_only.parent))
    monkeypatch.setenv("VAELAB_CACHE", str(tmp_path / "empty-cache"))
    assert main(["evaluate", str(pack), "--k", "2", "--limit", "20", "--no-progress"]) == 0
    assert json.loads((pack / "eval.json").read_text())["n_images"] == 20
    capsys.readouterr()
    assert main(["evaluate", str(pack), "--k", "2", "--limit", "20", "--split", "val", "--no-progress"]) == 1
    assert "train-images-idx3-ubyte.gz not found" in capsys.readouterr().err  # the val split needs the train file
