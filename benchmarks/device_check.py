"""``make device-check``: the one command to run on a CUDA machine (needs the repository and a CUDA PyTorch only).

Within ``--minutes`` (default 8) it runs, each stage in a subprocess with its own time limit, writing
``$OUT/device-check.json`` after every stage (``OUT`` defaults to ``device-check/``):

1. ``tests``: ``pytest tests/test_gpu.py`` (bf16, torch.compile and CUDA graphs against the plain path).
2. ``bench``: seconds per training epoch of the 784-400-20 VAE at batch 128 (target <= 0.3 s) and of Burda et
   al.'s 784-200-200-50 tanh VAE at batch 20 with eager execution, ``torch.compile`` and CUDA graphs
   (``compile = reduce-overhead``; target <= 1.0 s), and the K = 5000 NLL on the 10,000 test images (target
   <= 20 s). Burda's epoch is timed on its second pass over the first 10,000 training images (the first holds the
   compilation) and scaled to the 59,600 images of an epoch: the JSON says so.
3. ``relay``: for the minutes left, the relay recipes continue on the GPU from ``docs/results/<recipe>/relay`` (or
   start), all at once, with the fastest mode of stage 2; their snapshots land in
   ``$OUT/results/<recipe>/relay/``, ready to be copied into ``docs/results/`` and committed.

Data: ``$VAELAB_DATA``, else ``device-data/`` in the repository (copy ``mnist/`` there and carry it), else
``../shared/data``. Where no CUDA device is present every stage says so and the relay stage is skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELAY_RECIPES = ("burda-vae-1layer-k1", "burda-iwae-1layer-k5")  # the two whose snapshots the repository holds
TARGETS_S = {"784-400-20, batch 128": 0.3, "burda batch 20": 1.0, "nll k5000": 20.0}
BURDA_SUBSET = int(os.environ.get("DEVICE_CHECK_SUBSET", 10_000))  # training images of the timed Burda passes
DEVICE = os.environ.get("DEVICE_CHECK_DEVICE", "cuda")  # "cpu": a dry run of the script's logic on a CPU machine
MODES = tuple(os.environ.get("DEVICE_CHECK_MODES", "off,default,reduce-overhead").split(","))
NLL_IMAGES = int(os.environ.get("DEVICE_CHECK_NLL_IMAGES", 10_000))  # test images of the timed K = 5000 NLL


def data_dir() -> Path:
    for cand in (os.environ.get("VAELAB_DATA"), ROOT / "device-data", ROOT.parent / "shared" / "data"):
        if cand and (Path(cand) / "mnist").is_dir():
            return Path(cand)
    raise SystemExit("no MNIST: set VAELAB_DATA or copy mnist/ into device-data/")


# stage 2: the benchmarks (run in a subprocess: python device_check.py --stage bench) ---------------------------
def _burda_trainer(mode: str, n: int, recipe: str = "burda-vae-1layer-k1"):
    import torch

    from vaelab.data import load_dataset
    from vaelab.models import build_model
    from vaelab.runs.recipes import load_recipe, recipe_spec
    from vaelab.training.loop import Trainer

    flags = {"device": DEVICE, "epochs": 2, "progress": False, "samples_per_epoch": 0, "compile": mode}
    spec, _ = recipe_spec(load_recipe(recipe), None, flags, {})
    train = load_dataset("mnist", "train", data_dir(), val_size=400, limit=n)
    torch.manual_seed(0)
    model = build_model(spec.model, spec.model_config)
    model.init_from_data(train.images)
    return Trainer(model, spec.model, spec.train, train, None)


def _epoch_seconds(trainer, full: int) -> float:
    """Seconds of optimisation per epoch of ``full`` images: the second epoch's own record, scaled."""
    records = trainer.fit().records
    return full / records[-1]["images_per_s"]


def bench() -> dict:
    import torch

    from vaelab.data import load_dataset
    from vaelab.evaluate import evaluate
    from vaelab.models import build_model
    from vaelab.runs.spec import TrainConfig
    from vaelab.training.loop import Trainer

    out: dict = {"device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else DEVICE, "torch": torch.__version__}
    train = load_dataset("mnist", "train", data_dir(), val_size=10_000, limit=BURDA_SUBSET * 5)
    for mode in [m for m in MODES if m != "default"]:
        torch.manual_seed(0)
        model = build_model("vae", {"hidden": (400,), "latent_dim": 20})
        cfg = TrainConfig(epochs=2, batch_size=128, progress=False, samples_per_epoch=0, device=DEVICE, compile=mode)
        out[f"784-400-20 batch 128, compile={mode}: s per epoch"] = _epoch_seconds(
            Trainer(model, "vae", cfg, train, None), 50_000
        )
        _dump_partial(out)
    for mode in MODES:
        t0 = time.perf_counter()
        try:
            sec = _epoch_seconds(_burda_trainer(mode, BURDA_SUBSET), 59_600)
        except Exception as exc:  # a mode that fails on this machine is reported, the others still run
            out[f"burda batch 20, compile={mode}: error"] = f"{type(exc).__name__}: {exc}"[:500]
            continue
        out[f"burda batch 20, compile={mode}: s per epoch"] = sec
        out[f"burda batch 20, compile={mode}: wall s incl. compile"] = time.perf_counter() - t0
        _dump_partial(out)
    model = _burda_trainer("off", 1000).model.eval()
    test = load_dataset("mnist", "test", data_dir()).subset(NLL_IMAGES)
    t0 = time.perf_counter()
    res = evaluate(model, test, k=5000, progress=False)
    out[f"nll k5000, {len(test):,} test images: s"] = time.perf_counter() - t0
    out["nll k5000 batch_size"] = res.get("batch_size")
    out["note"] = (
        f"Burda's epoch: the second pass over the first {BURDA_SUBSET:,} training images, scaled to 59,600; the "
        "784-400-20 epoch: the second of two over 50,000 images; the NLL of an untrained Burda model (its cost does "
        "not depend on the weights)"
    )
    return out


def _dump_partial(out: dict) -> None:
    path = os.environ.get("DEVICE_CHECK_PARTIAL")
    if path:
        Path(path).write_text(json.dumps(out, indent=2) + "\n")


# the orchestrator ------------------------------------------------------------------------------------------------
class Check:
    def __init__(self, out: Path, minutes: float):
        self.out, self.t0, self.budget = out, time.monotonic(), minutes * 60
        self.report: dict = {"started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "stages": {}}
        (out / "logs").mkdir(parents=True, exist_ok=True)

    def left(self) -> float:
        return self.budget - (time.monotonic() - self.t0)

    def save(self) -> None:
        self.report["elapsed_s"] = round(time.monotonic() - self.t0, 1)
        (self.out / "device-check.json").write_text(json.dumps(self.report, indent=2) + "\n")

    def run(self, name: str, cmd: list[str], limit: float, env: dict | None = None) -> int:
        t = time.monotonic()
        log = self.out / "logs" / f"{name}.log"
        with open(log, "wb") as fh:
            try:
                rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, timeout=max(limit, 1), env=env).returncode
            except subprocess.TimeoutExpired:
                rc = "timeout"
        self.report["stages"][name] = {"rc": rc, "seconds": round(time.monotonic() - t, 1), "log": f"logs/{name}.log"}
        print(f"[device-check] {name}: rc {rc} in {time.monotonic() - t:.0f} s ({self.left():.0f} s left)", flush=True)
        self.save()
        return rc


def environment() -> dict:
    import torch

    env = {"torch": torch.__version__, "cuda": torch.cuda.is_available(), "python": sys.version.split()[0]}
    if torch.cuda.is_available():
        env["gpu"] = torch.cuda.get_device_name(0)
    try:
        env["nvidia_smi"] = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        pass
    return env


def relay_stage(check: Check, mode: str, env: dict) -> None:
    minutes = (check.left() - 45) / 60  # room for the snapshots' last writes and the copy back
    if minutes < 1:
        check.report["relay"] = "skipped: under a minute left"
        return
    procs = {}
    for recipe in RELAY_RECIPES:
        relay = check.out / "results" / recipe / "relay"
        committed = ROOT / "docs" / "results" / recipe / "relay"
        if (committed / "snapshot.safetensors").is_file():
            shutil.copytree(committed, relay, dirs_exist_ok=True)
        relay.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "vaelab", "reproduce", recipe, "--relay", str(relay), "--runs-dir",
               "/tmp/device-check-runs", "--device", DEVICE, "--compile", mode, "--relay-every", "1",
               "--stop-after", f"{minutes:.2f}", "--no-progress"]  # fmt: skip
        log = open(check.out / "logs" / f"relay-{recipe}.log", "wb")  # noqa: SIM115 (closed below)
        procs[recipe] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), log)
    deadline = time.monotonic() + minutes * 60 + 30
    for recipe, (proc, log) in procs.items():
        try:
            rc = proc.wait(timeout=max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: the snapshot is written before it exits
            rc = proc.wait(timeout=60)
        log.close()
        status = check.out / "results" / recipe / "relay" / "status.json"
        check.report.setdefault("relay", {})[recipe] = {
            "rc": rc,
            "compile": mode,
            "status": json.loads(status.read_text()) if status.is_file() else None,
        }
        check.save()


def best_mode(bench_json: dict) -> str:
    times = {m: bench_json.get(f"burda batch 20, compile={m}: s per epoch") for m in MODES}
    times = {m: t for m, t in times.items() if t}
    return min(times, key=times.get) if times else "off"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=8.0, help="the whole check's time budget (default 8)")
    ap.add_argument("--stage", choices=("bench",), help=argparse.SUPPRESS)
    ap.add_argument("--skip", action="append", default=[], choices=("tests", "bench", "relay"))
    args = ap.parse_args()
    if args.stage == "bench":
        print(json.dumps(bench(), indent=2))
        return 0
    out = Path(os.environ.get("OUT") or "device-check")
    out.mkdir(parents=True, exist_ok=True)
    check = Check(out, args.minutes)
    env = {**os.environ, "VAELAB_DATA": str(data_dir()), "PYTHONUNBUFFERED": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "src"), env.get("PYTHONPATH")) if p)
    check.report["environment"] = environment()
    check.save()
    if not check.report["environment"]["cuda"] and DEVICE == "cuda":
        print("[device-check] no CUDA device here: nothing to measure")
        return 1
    if "tests" not in args.skip:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_gpu.py"]
        check.run("tests", cmd, min(150, check.left() - 60), env)
    bench_json: dict = {}
    if "bench" not in args.skip:
        partial = out / "bench-partial.json"
        check.run("bench", [sys.executable, __file__, "--stage", "bench"], min(240, check.left() - 90),
                  {**env, "DEVICE_CHECK_PARTIAL": str(partial)})  # fmt: skip
        if partial.is_file():
            bench_json = json.loads(partial.read_text())
        log = (out / "logs" / "bench.log").read_text(errors="replace")
        if "{" in log:
            try:
                bench_json = json.loads(log[log.index("{") :])
            except ValueError:
                pass
        check.report["bench"] = bench_json
        check.report["targets_s"] = TARGETS_S
        check.save()
    if "relay" not in args.skip:
        relay_stage(check, best_mode(bench_json), env)
    check.save()
    print(json.dumps(check.report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
