"""``vaelab relay start`` / ``vaelab relay status`` (``make relay`` / ``make relay-status``): the literature's long
rows, carried across machines.

``start`` launches ``vaelab reproduce RECIPE --relay RESULTS/RECIPE/relay --runs-dir RUNS`` in the background for
each unfinished recipe, at low priority (``nice``), one process per core with one torch thread each, detached from
the terminal (each logs to ``RUNS/RECIPE.log``). A recipe that is already being trained here is left alone. Each
process continues from the furthest of its run folder and the committed snapshot (``vaelab.training.relay``).
``status`` prints how far each relay is, at what rate, and its ETA.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from vaelab.cli.args import table

# the rows the relay carries, in order: the first MAX_RELAYS unfinished ones run (issue 19's target rows)
DEFAULT_RECIPES = ("burda-vae-1layer-k1", "burda-iwae-1layer-k5", "burda-vae-2layer-k1", "burda-iwae-2layer-k5")
MAX_RELAYS = 2  # the repository holds at most two in-progress snapshots


RELAY_HELP = "carry long recipes across machines: start them in the background, or show how far they are"


def _add_relay(p) -> None:
    p.description = (
        "start: continue each unfinished relay recipe in the background at low priority (nice), one "
        "per core, from the furthest of its run folder and its snapshot in RESULTS/RECIPE/relay; status: epochs "
        "done, rate and ETA of every relay snapshot."
    )
    p.add_argument("action", choices=("start", "status"), help="start the relays, or print their status")
    p.add_argument("recipes", nargs="*", help=f"recipes to start (default: {', '.join(DEFAULT_RECIPES)})")
    p.add_argument("--results", type=Path, default=Path("docs/results"), help="folder of <recipe>/relay snapshots")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/relay"), help="folder of the relays' run folders")
    p.add_argument("--jobs", type=int, help="processes to start (default: the number of cores, at most 2)")
    p.add_argument(
        "--from-runs",
        type=Path,
        metavar="DIR",
        help="where a recipe has neither a run folder nor a snapshot, start from DIR/<recipe> (a run folder "
        "written by vaelab reproduce) when it exists, e.g. ../shared/relay",
    )
    p.add_argument("--relay-every", type=float, default=10.0, metavar="MINUTES", help="minutes between snapshots")
    p.set_defaults(func=cmd_relay)


def cmd_relay(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.core.errors import ConfigError

    if args.jobs is not None and args.jobs < 1:
        raise ConfigError(f"--jobs {args.jobs}: expected an integer >= 1")
    if args.action == "status":
        return _status(args)
    return _start(args)


def _busy(run_path: Path) -> bool:
    """Whether a process holds the run's lock (is training it now)."""
    from filelock import FileLock, Timeout

    lock_path = run_path / ".lock"
    if not lock_path.is_file():
        return False
    lock = FileLock(str(lock_path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        return True
    lock.release()
    return False


def _unfinished(args) -> list[str]:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.recipes import load_recipe

    names = args.recipes or list(DEFAULT_RECIPES)
    out = []
    for name in names:
        load_recipe(name)  # raises ConfigError naming an unknown recipe
        result = args.results / name / "result.json"
        snap = args.results / name / "relay" / "snapshot.safetensors"
        if result.is_file() and not snap.is_file() and '"shorter_than_protocol": false' in result.read_text():
            print(f"{name}: complete ({result})")
            continue
        out.append(name)
    return out[:MAX_RELAYS]


def _start(args) -> int:
    jobs = args.jobs or min(os.cpu_count() or 1, MAX_RELAYS)
    started = 0
    for name in _unfinished(args):
        run_path = args.runs_dir / name
        if _busy(run_path):
            print(f"{name}: already running ({run_path})")
            continue
        if started >= jobs:
            print(f"{name}: not started (--jobs {jobs} reached)")
            continue
        seed = args.from_runs / name if args.from_runs else None
        relay = args.results / name / "relay"
        if seed and (seed / "config.json").is_file() and not run_path.exists() and not relay.exists():
            shutil.copytree(seed, run_path)
            print(f"{name}: starting from {seed} (copied to {run_path})")
        _launch(name, relay, args)
        started += 1
    print("follow them with: make relay-status (or vaelab relay status)")
    return 0


def _launch(name: str, relay: Path, args) -> None:
    args.runs_dir.mkdir(parents=True, exist_ok=True)
    log = args.runs_dir / f"{name}.log"
    cmd = [sys.executable, "-m", "vaelab", "reproduce", name, "--relay", str(relay), "--runs-dir", str(args.runs_dir)]
    cmd += ["--relay-every", str(args.relay_every), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    with open(log, "ab") as fh:
        proc = subprocess.Popen(
            ["nice", "-n", "19", *cmd],
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # outlives the make or shell that started it
        )
    _lower_autogroup(proc.pid)
    print(f"{name}: started, process {proc.pid}, log {log}")


def _lower_autogroup(pid: int) -> None:
    """Give the new session's scheduler group the lowest weight too. On Linux with autogroup scheduling (the
    default on desktop and many server kernels), a process in its own session gets a fair share against every
    other session whatever its nice value, so ``nice`` alone left the relays at half the CPU next to a user's
    foreground work (measured: 70 % each for two relays, 25 % each for two training runs on 2 cores). Writing the
    nice value to ``/proc/PID/autogroup`` (sched(7)) lowers the group's share as well; where the file does not
    exist (no autogroup, not Linux) nice is all there is and already works."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text("19\n")
    except OSError:
        pass


def _status(args) -> int:
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.relay import STATUS_FILE, RelayError, load_status

    rows, unusable = [], 0
    for folder in sorted(args.results.glob("*/relay")):
        if not (folder / STATUS_FILE).exists():
            continue
        try:
            s = load_status(folder)
        except RelayError as exc:  # one line for this recipe, then the others
            unusable += 1
            print(f"vaelab relay: {exc}; skipped (the next snapshot rewrites it)", file=sys.stderr)
            continue
        rows.append(_status_row(s, args.runs_dir))
    if rows:
        print(table(rows, ["recipe", "epochs done", "per epoch", "ETA", "last device", "running here", "written"]))
    elif not unusable:
        print(f"no relay snapshots under {args.results}/*/relay; start them with: make relay")
    return 1 if unusable else 0


def _status_row(s: dict, runs_dir: Path) -> list:
    """One row of ``relay status`` from a checked ``status.json`` (``load_status``)."""
    # import cost: the CLI builds only the command it runs (vaelab --help imports no torch)
    from vaelab.runs.relay import format_duration

    rate = s.get("seconds_per_epoch")
    return [
        s["recipe"],
        f"{s['epochs_done']:,} of {s['epochs_total']:,}",
        "?" if rate is None else f"{rate:.1f} s",
        format_duration(s.get("eta_seconds")),
        s.get("device") or "?",
        "yes" if _busy(runs_dir / s["recipe"]) else "no",
        s.get("written", "?"),
    ]


COMMANDS = {"relay": (RELAY_HELP, _add_relay)}
