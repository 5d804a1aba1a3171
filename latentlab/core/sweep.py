"""`latentlab sweep`: train a grid of beta x latent dimension, one `latentlab train` process per run.

Each run is its own process (`python -m latentlab train ... --threads 1 --no-progress --out
DIR/<run>/model.pt`, its output in DIR/<run>/train.log), so runs share nothing, as many run at once
as `jobs` (one torch thread each: N runs on N cores beat one run on N cores for small models), and
a run that fails or diverges takes no other with it. Under torchrun (WORLD_SIZE > 1) every rank
takes its share of the grid, runs r, r + W, r + 2W, ..., with its own `jobs`.

DIR/sweep.json says what the sweep is and where each run stands ("pending", "running",
"finished", "stopped", "failed", with its final -ELBO, KL and reconstruction); it is replaced
atomically (core/atomic_write.py) whenever a run starts or ends, under a lock on DIR/.sweep.lock
so that ranks under torchrun never lose each other's updates. Running the same command again
resumes the sweep: finished runs are skipped, stopped ones (Ctrl+C) continue from their
checkpoint, failed and pending ones start again. The train flags must then be the same.

Ctrl+C (or SIGTERM): every child gets one SIGINT, which `latentlab train` answers by stopping
after its current step and saving; the sweep waits for them, records them as "stopped" and says
which runs finished. Children run in their own process group, so a terminal's Ctrl+C reaches them
once, through the sweep, and never twice (a second SIGINT aborts a run without saving).
"""

from __future__ import annotations

import collections
import json
import math
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from .atomic_write import replace_file

SWEEP_FILE = "sweep.json"
FORMAT = "latentlab-sweep"
LOG_NAME = "train.log"
CHECKPOINT_NAME = "model.pt"
LOG_TAIL_LINES = 8
# Set by torchrun for its workers; a child `latentlab train` that saw them would try to join a
# process group of its own.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK", "GROUP_WORLD_SIZE",
                      "ROLE_RANK", "ROLE_WORLD_SIZE", "ROLE_NAME", "MASTER_ADDR", "MASTER_PORT",
                      "TORCHELASTIC_RESTART_COUNT", "TORCHELASTIC_MAX_RESTARTS", "TORCHELASTIC_RUN_ID",
                      "TORCHELASTIC_USE_AGENT_STORE", "TORCHELASTIC_ERROR_FILE", "TORCH_NCCL_ASYNC_ERROR_HANDLING")
# Flags the sweep sets for every run itself.
OWN_FLAGS = ("--beta", "--latent-dim", "--out", "--resume", "--threads", "--no-progress", "--model")
# What a stopped run may be given when it continues (core: a resumed run refuses model and objective flags).
RESUME_FLAGS = ("epochs", "data_dir", "no_download", "device")


def run_name(beta: float, latent_dim: int) -> str:
    return f"beta-{beta:g}-d{latent_dim}"


@dataclass
class SweepRun:
    """One run of the grid as sweep.json holds it (`path` and `log` relative to the sweep's folder)."""

    name: str
    beta: float
    latent_dim: int
    path: str
    log: str
    status: str = "pending"
    neg_elbo: float | None = None
    kl: float | None = None
    recon: float | None = None
    epoch: int | None = None
    exit_status: int | None = None
    seconds: float | None = None

    @classmethod
    def new(cls, beta: float, latent_dim: int) -> "SweepRun":
        name = run_name(beta, latent_dim)
        return cls(name=name, beta=float(beta), latent_dim=int(latent_dim), path=f"{name}/{CHECKPOINT_NAME}",
                   log=f"{name}/{LOG_NAME}")


# -- the file ---------------------------------------------------------------------------------------
@contextmanager
def _locked(folder: Path):
    """An exclusive lock on the sweep's folder (POSIX; elsewhere torchrun sweeps are not locked)."""
    try:
        import fcntl
    except ImportError:     # Windows: one sweep process at a time there
        yield
        return
    with open(folder / ".sweep.lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def read_sweep(folder) -> dict:
    """DIR/sweep.json as a dict; ValueError naming the file when it is not a sweep's."""
    path = Path(folder) / SWEEP_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable sweep file: {e}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("runs"), list):
        raise ValueError(f"{path} is not a latentlab sweep file")
    return data


def _write(folder: Path, data: dict) -> None:
    replace_file(folder / SWEEP_FILE, (json.dumps(data, indent=2) + "\n").encode("utf-8"))


def prepare(folder, betas, latent_dims, train_args: list[str]) -> list[SweepRun]:
    """Create DIR/sweep.json, or take up the sweep that is there: the grid's runs in order (beta
    first, then latent dimension), each with its status from the file. ValueError naming DIR when
    it holds something else, or a sweep trained with other train flags."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"--out {folder} is a file; give a folder for the sweep")
    folder.mkdir(parents=True, exist_ok=True)
    grid = [SweepRun.new(b, d) for b in betas for d in latent_dims]
    with _locked(folder):
        if (folder / SWEEP_FILE).exists():
            data = read_sweep(folder)
            if data.get("train_args") != list(train_args):
                raise ValueError(f"--out {folder} holds a sweep trained with the train flags "
                                 f"{' '.join(data.get('train_args') or []) or '(none)'}; give the same flags to "
                                 "resume it, or another --out")
        elif any(p.name != ".sweep.lock" for p in folder.iterdir()):
            raise ValueError(f"--out {folder} already holds files and no {SWEEP_FILE}; a sweep never writes over "
                             "them: give a new or empty folder")
        else:
            data = {"format": FORMAT, "version": 1, "train_args": list(train_args), "runs": []}
        known = {r.get("name"): r for r in data["runs"] if isinstance(r, dict)}
        runs = []
        for run in grid:
            stored = known.get(run.name)
            if stored is not None:
                fields = {k: stored[k] for k in SweepRun.__dataclass_fields__ if k in stored}
                run = SweepRun(**{**asdict(run), **fields})
            else:
                data["runs"].append(asdict(run))
            runs.append(run)
        data["grid"] = {"beta": sorted({r["beta"] for r in data["runs"]}),
                        "latent_dim": sorted({r["latent_dim"] for r in data["runs"]})}
        _write(folder, data)
    return runs


def record(folder, run: SweepRun) -> None:
    """Write one run's entry into DIR/sweep.json (the other runs' entries as they are there now)."""
    folder = Path(folder)
    with _locked(folder):
        data = read_sweep(folder)
        entries = [asdict(run) if r.get("name") == run.name else r for r in data["runs"]]
        if not any(r.get("name") == run.name for r in data["runs"]):
            entries.append(asdict(run))
        data["runs"] = entries
        _write(folder, data)


# -- the runs -----------------------------------------------------------------------------------------
def child_environment() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in TORCHRUN_VARIABLES}
    env["PYTHONUNBUFFERED"] = "1"      # the log is written as the run goes, for the tail of a failure
    return env


def train_command(folder: Path, run: SweepRun, train_args: list[str], resume_args: list[str]) -> list[str]:
    """The child's command: a new run, or a stopped run continued from its checkpoint."""
    out = folder / run.path
    base = [sys.executable, "-m", "latentlab", "train"]
    own = ["--threads", "1", "--no-progress"]
    if run.status in ("stopped", "running") and out.is_file():
        return [*base, "--resume", str(out), *resume_args, *own]
    return [*base, *train_args, "--beta", f"{run.beta:g}", "--latent-dim", str(run.latent_dim), *own,
            "--out", str(out)]


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            text = f.read().decode("utf-8", errors="replace")
    except OSError as e:
        return [f"(no log: {e.strerror or e})"]
    # tqdm and progress lines end in carriage returns: keep what a terminal would show last.
    shown = [line.rsplit("\r", 1)[-1] for line in text.splitlines()]
    return [line for line in shown if line.strip()][-lines:]


def final_numbers(run: SweepRun, checkpoint: Path) -> None:
    """The run's last validation -ELBO, KL and reconstruction, from its checkpoint's history."""
    from .rate_distortion import point_from_checkpoint

    try:
        point = point_from_checkpoint(checkpoint)
    except (ValueError, OSError):
        return
    run.kl, run.recon, run.neg_elbo, run.epoch = point.rate, point.distortion, point.neg_elbo, point.epoch


def _numbers_text(run: SweepRun) -> str:
    if run.neg_elbo is None:
        return "no validation numbers"
    return (f"-ELBO {run.neg_elbo:.2f} = KL {run.kl:.2f} + recon {run.recon:.2f} nats"
            + (f" (epoch {run.epoch})" if run.epoch is not None else ""))


class Sweep:
    """Runs `runs` (those not finished) `jobs` at a time, recording each in DIR/sweep.json."""

    def __init__(self, folder, runs: list[SweepRun], train_args: list[str], resume_args: list[str], jobs: int,
                 echo: Callable[[str], None] | None = None):
        self.folder = Path(folder)
        self.runs, self.train_args, self.resume_args = runs, list(train_args), list(resume_args)
        self.jobs = max(1, int(jobs))
        self.echo = echo or (lambda text: print(text, flush=True))
        self.stopping = False
        self._children: dict[str, subprocess.Popen] = {}
        self._lock = threading.Lock()

    # -- Ctrl+C ------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop every child after its current step (it saves); a second call aborts them."""
        with self._lock:
            children = list(self._children.values())
            again, self.stopping = self.stopping, True
        for proc in children:
            try:
                proc.send_signal(signal.SIGINT)
            except OSError:
                pass
        if not again:
            self.echo(f"stopping {len(children)} running run(s) after their current step; they save "
                      "(Ctrl+C again aborts them)")

    def _on_signal(self, signum, frame) -> None:
        self.stop()

    # -- running --------------------------------------------------------------------------------------
    def _start(self, run: SweepRun, index: int, total: int, done: queue.Queue) -> None:
        run_dir = self.folder / run.name
        run_dir.mkdir(parents=True, exist_ok=True)
        command = train_command(self.folder, run, self.train_args, self.resume_args)
        resumed = "--resume" in command
        log = open(self.folder / run.log, "ab")
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        try:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env=child_environment(), start_new_session=True)
        except OSError as e:
            log.close()
            done.put((run, None, 0.0, f"could not start: {e}"))
            return
        with self._lock:
            self._children[run.name] = proc
        run.status, run.exit_status = "running", None
        record(self.folder, run)
        self.echo(f"[{index}/{total}] started {run.name}{' (continuing its checkpoint)' if resumed else ''}: "
                  f"log {run.log}")
        started = time.monotonic()

        def wait() -> None:
            code = proc.wait()
            log.close()
            done.put((run, code, time.monotonic() - started, None))
        threading.Thread(target=wait, name=f"sweep-{run.name}", daemon=True).start()

    def _finish(self, run: SweepRun, code: int | None, seconds: float, error: str | None, index: int,
                total: int) -> None:
        with self._lock:
            self._children.pop(run.name, None)
            stopping = self.stopping
        run.exit_status, run.seconds = code, round(seconds, 1)
        checkpoint = self.folder / run.path
        if code == 0 and checkpoint.is_file():
            final_numbers(run, checkpoint)
            run.status = "stopped" if stopping else "finished"
            self.echo(f"[{index}/{total}] {run.status} {run.name} in {seconds:.0f} s: {_numbers_text(run)}")
        elif stopping:      # stopped before its first save (still starting up): it starts again next time
            run.status = "stopped" if checkpoint.is_file() else "pending"
            self.echo(f"[{index}/{total}] stopped {run.name} before it finished"
                      + ("" if checkpoint.is_file() else " (nothing saved yet)"))
        else:
            run.status = "failed"
            why = error or f"exit status {code}"
            lines = "\n".join(f"    | {line}" for line in log_tail(self.folder / run.log))
            self.echo(f"[{index}/{total}] FAILED {run.name} ({why}); "
                      f"the end of {run.log}:\n{lines}")
        record(self.folder, run)

    def run(self) -> int:
        """Train every run not finished; returns 0 when all finished, 130 after Ctrl+C, else 1."""
        todo = [r for r in self.runs if r.status != "finished"]
        skipped = [r for r in self.runs if r.status == "finished"]
        if skipped:
            self.echo(f"skipping {len(skipped)} finished run(s): {', '.join(r.name for r in skipped)}")
        total = len(self.runs)
        order = {r.name: i + 1 for i, r in enumerate(self.runs)}
        done: queue.Queue = queue.Queue()
        waiting = collections.deque(todo)
        running = 0
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            while waiting or running:
                while waiting and running < self.jobs and not self.stopping:
                    run = waiting.popleft()
                    self._start(run, order[run.name], total, done)
                    running += 1
                if not running:
                    break           # stopping: nothing more starts
                run, code, seconds, error = done.get()
                running -= 1
                self._finish(run, code, seconds, error, order[run.name], total)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        return self._summary(skipped)

    def _summary(self, skipped: list[SweepRun]) -> int:
        by = collections.defaultdict(list)
        for run in self.runs:
            by[run.status].append(run.name)
        parts = [f"{len(by[s])} {s}" + (f" ({', '.join(by[s])})" if s != "finished" and by[s] else "")
                 for s in ("finished", "stopped", "failed", "pending") if by[s]]
        self.echo(f"sweep {self.folder}: {', '.join(parts)}; {self.folder / SWEEP_FILE}")
        if self.stopping:
            finished = [r.name for r in self.runs if r.status == "finished" and r not in skipped]
            self.echo(f"interrupted: finished now: {', '.join(finished) or 'none'}; run the same command again to "
                      "continue the rest")
            return 130
        return 1 if by["failed"] else 0


# -- arguments ------------------------------------------------------------------------------------------
def check_train_args(train_parser, extras: list[str], betas=()) -> tuple[list[str], list[str]]:
    """The train flags of a sweep, checked by `latentlab train`'s own parser (an error names the
    flag and exits with status 2, as argparse does), and the part of them a stopped run may be
    continued with. Flags the sweep sets itself are refused, and so is a grid that no run of
    these flags could train (the IWAE bound with beta other than 1)."""
    for token in extras:
        flag = token.split("=", 1)[0]
        if flag in OWN_FLAGS:
            raise ValueError(f"{flag} is set by the sweep for every run; leave it out"
                             + (" (use --out for the sweep's folder)" if flag == "--out" else ""))
    train_parser.prog = "latentlab sweep"
    args = train_parser.parse_args(extras)
    if getattr(args, "objective", "elbo") == "iwae" and any(b != 1 for b in betas):
        raise ValueError("--objective iwae trains the bound L_K, which has no KL term for beta to weigh: "
                         "a sweep of it needs --beta 1 (sweep --latent-dim instead)")
    resume = []
    if hasattr(args, "epochs"):
        resume += ["--epochs", str(args.epochs)]
    if getattr(args, "data_dir", None):
        resume += ["--data-dir", str(args.data_dir)]
    if getattr(args, "no_download", False):
        resume += ["--no-download"]
    if hasattr(args, "device"):
        resume += ["--device", str(args.device)]
    return list(extras), resume


def default_jobs() -> int:
    """One run per core (per core of this rank's share under torchrun)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per_node = int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    return max(1, cores // max(1, per_node))


def this_rank() -> tuple[int, int]:
    """(rank, world size) under torchrun, else (0, 1)."""
    world = int(os.environ.get("WORLD_SIZE", "1") or 1)
    return (int(os.environ.get("RANK", "0") or 0), world) if world > 1 else (0, 1)


def run_sweep(folder, betas, latent_dims, train_args: list[str], resume_args: list[str], jobs: int | None = None,
              echo: Callable[[str], None] | None = None) -> int:
    """Prepare (or take up) the sweep in `folder` and train this rank's share of it."""
    if any(not math.isfinite(b) or b < 0 for b in betas):
        raise ValueError("--beta: every value must be a number >= 0")
    runs = prepare(folder, betas, latent_dims, train_args)
    rank, world = this_rank()
    mine = [r for i, r in enumerate(runs) if i % world == rank]
    echo = echo or (lambda text: print(text if world == 1 else f"[rank {rank}] {text}", flush=True))
    if world > 1:
        echo(f"{len(mine)} of the {len(runs)} runs are this rank's")
    return Sweep(folder, mine, train_args, resume_args, jobs or default_jobs(), echo).run()
