"""Make ``accelerate launch --cpu --num_processes N`` start N processes.

accelerate 1.x sends ``--cpu`` to its single-process launcher unless an MPI hostfile is given, so
``--num_processes 2`` silently runs one process. The plugin's entry points call :func:`maybe_relaunch` first: when the
process was started that way (``ACCELERATE_USE_CPU`` set, no ``WORLD_SIZE`` yet, and the parent ``accelerate launch``
asked for N > 1 CPU processes) it restarts the same module under ``torch.distributed.run`` with N local processes;
accelerate then sees ``WORLD_SIZE=N`` with ``use_cpu`` and sets up the gloo (MULTI_CPU) backend.
:func:`use_cpu` is the entry points' shared rule for building their ``Accelerator`` on the CPU.
:func:`die_with_launcher` makes every process of a launch end when its launcher ends: ``torch.distributed.run`` starts
its workers in their own sessions, so killing the launcher would otherwise leave them training.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

__all__ = ["die_with_launcher", "launched", "maybe_relaunch", "requested_cpu_processes", "use_cpu"]

_RELAUNCHED = "TIMM_AUGMIX_CPU_RELAUNCHED"


def use_cpu(requested: bool = False) -> bool:
    """Whether an entry point builds its ``Accelerator(cpu=...)`` on the CPU: when asked, or when no accelerator exists.

    Without an accelerator, ``cpu=True`` lets ``accelerate launch --multi_gpu --num_processes N`` (or torchrun) start
    N gloo CPU processes that work together instead of N processes that each run alone. Training and eval-c share it.
    """
    if requested:
        return True
    import torch

    accel = getattr(torch, "accelerator", None)
    if accel is not None and hasattr(accel, "is_available"):
        return not accel.is_available()
    return not torch.cuda.is_available()


def _parent_launch_args() -> list[str] | None:
    """The arguments after ``launch`` of the parent ``accelerate launch`` command, or None."""
    try:
        import psutil

        argv = psutil.Process(os.getppid()).cmdline()
    except Exception:  # no psutil, no permission, parent gone: nothing to infer
        return None
    for i, token in enumerate(argv):
        if token == "accelerate.commands.launch" or (token == "launch" and i > 0 and "accelerate" in argv[i - 1]):
            return argv[i + 1:]
    return None


def requested_cpu_processes() -> int:
    """How many CPU processes the launching ``accelerate launch --cpu --num_processes N`` asked for (1 otherwise)."""
    if os.environ.get("ACCELERATE_USE_CPU", "").lower() not in ("true", "1", "yes"):
        return 1
    if "WORLD_SIZE" in os.environ or os.environ.get(_RELAUNCHED):
        return 1
    launch_args = _parent_launch_args()
    if launch_args is None:
        return 1
    from accelerate.commands.launch import launch_command_parser

    try:
        args, _ = launch_command_parser().parse_known_args(launch_args)
    except SystemExit:
        return 1
    if not args.cpu or args.mpirun_hostfile or (args.num_machines or 1) > 1:
        return 1
    return max(int(args.num_processes or 1), 1)


def _set_parent_death_signal(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent ends (``prctl(PR_SET_PDEATHSIG)``; kept by exec)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, int(sig), 0, 0, 0) == 0  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def launched() -> bool:
    """Whether this process was started by a launcher (``torch.distributed.run`` / ``accelerate launch``)."""
    return "LOCAL_RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ or _parent_launch_args() is not None


def die_with_launcher() -> None:
    """When started by a launcher, end this process (SIGTERM) as soon as the launcher ends, however it ends.

    A no-op for a process started by hand (``python -m ...``) and off Linux. Called first by the entry points
    (through :func:`maybe_relaunch`).
    """
    if not launched():
        return
    parent = os.getppid()
    if _set_parent_death_signal(signal.SIGTERM) and (parent == 1 or not _alive(parent)):
        os._exit(143)  # the launcher ended before the signal was armed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def maybe_relaunch(module: str, argv: list[str]) -> int | None:
    """The entry points' first step: end this process with its launcher (:func:`die_with_launcher`), then restart
    ``python -m module argv`` as N local CPU processes if asked for; returns their exit code, else None."""
    die_with_launcher()  # this process ends with `accelerate launch`, torch.distributed.run with this process
    nproc = requested_cpu_processes()
    if nproc <= 1:
        return None
    threads = max((os.cpu_count() or 1) // nproc, 1)
    env = dict(os.environ, ACCELERATE_USE_CPU="True", **{_RELAUNCHED: "1"})
    env.setdefault("OMP_NUM_THREADS", str(threads))
    cmd = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", "--nnodes=1",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", "-m", module, *argv]
    print(f"accelerate launch --cpu --num_processes {nproc}: starting {nproc} CPU processes (gloo)", file=sys.stderr)
    return subprocess.call(cmd, env=env, preexec_fn=_torchrun_dies_with_us)


def _torchrun_dies_with_us() -> None:
    # SIGTERM lets torch.distributed.run stop its workers; they also watch their own parent (die_with_launcher)
    _set_parent_death_signal(signal.SIGTERM)
