"""Where a model job runs: behind one interface, in this process or on a Ray cluster.

``local`` (default): one thread per device in this process; a device builds a backend kind once and
keeps it resident (``RenderContext.backend`` keyed by the job's device).

``ray``: one Ray actor per GPU of the cluster (``num_gpus=1``, or a custom resource), each holding
the pipelines of one backend kind. The driver ships a job's *typed request* and the bytes of the
files it names (keyframes, reference pictures, voice samples) -- no shared filesystem is assumed --
the actor runs the backend method into a temporary folder and sends the files back, and the driver
writes them into the project cache atomically: the cache stays the single source of truth. An
actor that dies is restarted by Ray and the job it was running is retried (``max_restarts`` /
``max_task_retries``); finished jobs are already in the cache and are never redone. Ray does
placement, transport and failure detection; nothing here is cluster code.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import artifact_paths, relocate
from director.errors import ConfigError, DirectorError, StageFailed
from director.runtime.context import current_device
from director.stages.base import Job, _meta

if TYPE_CHECKING:
    from director.project import ExecutorConfig
    from director.runtime.context import RenderContext

log = logging.getLogger("director.executor")


@contextlib.contextmanager
def on_device(device: str | None):
    """A job's device: the models ``ctx.backend()`` hands it, and CUDA's current device in its thread. Without the
    latter a ``cuda:1`` job's group-offload streams were made on cuda:0 (``torch.cuda.Stream()`` takes the current
    device: the copies stopped overlapping the compute), and ``empty_cache`` and capability checks asked cuda:0."""
    token = current_device.set(device)
    try:
        index = device.partition(":")[2] if device and device.startswith("cuda:") else ""
        # a cuda:N job's models are loaded here (its first preload too): torch imported for it, never otherwise
        torch = __import__("torch") if index.isdigit() else None
        if torch is not None and torch.cuda.is_available():
            with torch.cuda.device(int(index)):
                yield
        else:
            yield
    finally:
        current_device.reset(token)


class LocalExecutor:
    """Jobs run in this process; each device's models stay resident in the render context."""

    kind = "local"

    def __init__(self, ctx: RenderContext, devices: list[str | None]):
        self.ctx, self._devices = ctx, devices

    def devices(self) -> list[str | None]:
        return self._devices

    def runs_remotely(self, job: Job) -> bool:
        return False

    def make(self, job: Job, device: str | None, out: Path):
        with on_device(device):  # ctx.backend() builds (once) and returns this device's models
            return job.run(out)

    def preload(self, kind: str, device: str | None) -> None:
        """Load a kind's models on a device ahead of its first job (while that job's inputs are still being made)."""
        with on_device(device):
            self.ctx.backend(kind)

    def where(self, device: str | None) -> dict:
        return {"device": device, "pid": os.getpid()}

    def release(self, kind: str, device: str | None = None) -> None:
        self.ctx.release(kind, device)

    def lose(self, device: str | None) -> None:
        pass

    def close(self) -> None:
        pass


class WorkerLost(StageFailed):
    """A remote worker died for good (its restarts are used up): its device leaves the run, its job is requeued."""

    def __init__(self, device: str, message: str):
        super().__init__(message)
        self.device = device


class DeviceWorker:
    """A Ray actor: one GPU (or custom resource slot), the models of one backend kind at a time.

    Threaded (``max_concurrency=2``: a job and the driver's small control calls), so the backend it holds is
    guarded by a lock: a release never lands in the middle of a job."""

    def __init__(self, gpu: bool = True):
        import threading
        self.gpu = gpu
        self.kind: str | None = None
        self.identity = None
        self.backend = None
        self.lock = threading.Lock()

    def pid(self) -> int:
        return os.getpid()

    def release(self) -> None:
        with self.lock:
            self._release()

    def _release(self) -> None:
        self.kind = self.identity = self.backend = None
        from director.runtime.context import free_accelerator_memory
        free_accelerator_memory()

    def run(self, kind: str, config, method: str, request, inputs: dict[str, bytes]) -> dict:
        with self.lock:
            return self._run(kind, config, method, request, inputs)

    def _run(self, kind: str, config, method: str, request, inputs: dict[str, bytes]) -> dict:
        load = None
        if self.gpu and "device" in type(config).model_fields and str(config.device).startswith(("auto", "cuda")):
            config = config.model_copy(update={"device": "cuda"})  # Ray gave this actor one GPU: it is cuda:0 here
        identity = config.identity()
        if self.kind != kind or self.identity != identity:
            self._release()
            started = time.perf_counter()
            self.backend, self.kind, self.identity = config.build(), kind, identity
            load = round(time.perf_counter() - started, 3)
        work = Path(tempfile.mkdtemp(prefix="director-job-"))
        try:
            moved: dict[str, str] = {}
            for i, (path, data) in enumerate(sorted(inputs.items())):  # paths arrive normalised (artifact_paths)
                original = Path(path)
                folder = Path(moved.setdefault(str(original.parent), str(work / "in" / str(i))))
                folder.mkdir(parents=True, exist_ok=True)
                (folder / original.name).write_bytes(data)
                moved[path] = str(folder / original.name)
            out = work / "out"
            out.mkdir()
            meta = _meta(getattr(self.backend, method)(relocate(request, moved), out))
            files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
            return {"files": files, "meta": meta, "load": load, "pid": os.getpid()}
        finally:
            shutil.rmtree(work, ignore_errors=True)


class RayExecutor:
    """Model jobs on Ray actors, one per GPU of the cluster; everything else stays in this process."""

    kind = "ray"

    def __init__(self, ctx: RenderContext, config: ExecutorConfig):
        try:
            import ray
        except ImportError:
            raise ConfigError("executor: ray needs the ray package: pip install 'director[ray]'") from None
        self.ctx, self.config, self.ray = ctx, config, ray
        self.actors: dict = {}
        self.started_ray = not ray.is_initialized()
        where = config.address or "this machine"
        if self.started_ray:
            problem = unreachable(config.address)
            if problem:
                self.started_ray = False
                raise ConfigError(f"executor: cannot join the Ray cluster at {where} (executor.address): {problem}; "
                                  "start it with `ray start --head` or fix the address")
            try:
                ray.init(address=config.address, logging_level=logging.WARNING, log_to_driver=False,
                         include_dashboard=False)
            except (ValueError, ConnectionError, RuntimeError, TimeoutError) as exc:
                self.started_ray = False
                raise ConfigError(f"executor: cannot join the Ray cluster at {where} (executor.address): "
                                  f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}; start it with "
                                  "`ray start --head` or fix the address") from None
        total = int(ray.cluster_resources().get(config.resource, 0))
        if total < 1:
            self.close()
            where = config.address or "this machine"
            raise ConfigError(f"executor: the Ray cluster at {where} has no '{config.resource}' resource to run "
                              f"model jobs on; start its nodes with GPUs (or --resources '{{\"{config.resource}\": 1}}'"
                              ") or set executor.resource")
        options = {"num_gpus": 1} if config.resource == "GPU" else {"num_gpus": 0,
                                                                     "resources": {config.resource: 1}}
        worker = ray.remote(max_restarts=config.retries, max_task_retries=config.retries,
                            max_concurrency=2)(DeviceWorker)  # 2: a job, and the driver's small control calls
        gpu = config.resource == "GPU"
        self.actors = {f"ray:{i}": worker.options(num_cpus=0, **options).remote(gpu) for i in range(total)}
        try:
            self.pids = dict(zip(self.actors, ray.get([a.pid.remote() for a in self.actors.values()], timeout=120)))
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise ConfigError(f"executor: the Ray cluster at {where} lists {total} '{config.resource}' but its "
                              "workers did not start within 2 minutes (another job holding them?)") from None
        self.holding: dict[str, str | None] = {name: None for name in self.actors}

    def devices(self) -> list[str]:
        return list(self.actors)

    def lose(self, device: str) -> None:
        """A worker that is gone for good leaves the run (its queued work goes to the others)."""
        actor = self.actors.pop(device, None)
        if actor is not None:
            try:
                self.ray.kill(actor)
            except Exception:  # already dead: nothing to stop
                pass

    def runs_remotely(self, job: Job) -> bool:
        return job.call is not None and job.request is not None

    def where(self, device: str | None) -> dict:
        return {"device": device, "pid": self.pids.get(device)}

    def make(self, job: Job, device: str, out: Path):
        """Ship the job to the device's actor, wait, and write what comes back into ``out`` (the cache's temp)."""
        kind = job.kind
        actor = self.actors.get(device)
        if actor is None:  # lost while this job waited for it: the scheduler hands the job to another worker
            raise WorkerLost(device, f"the Ray worker {device} is gone")
        inputs = {str(p): p.read_bytes() for p in artifact_paths(job.request)}
        errors = self.ray.exceptions
        try:
            reply = self.ray.get(actor.run.remote(kind, self.ctx.backends[kind], job.call,
                                                                 job.request, inputs))
        except errors.RayActorError as exc:
            raise WorkerLost(device, f"the Ray worker {device} died and its restarts ({self.config.retries}) are "
                                     f"used up: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        except errors.RayTaskError as exc:  # the backend raised on the worker: the same as it would here
            cause = getattr(exc, "cause", None)
            if isinstance(cause, DirectorError):
                raise cause from None  # a config or license problem stops the run, as it does locally
            what = f"{type(cause).__name__}: {cause}" if cause is not None else str(exc).splitlines()[0]
            raise StageFailed(f"on Ray worker {device}: {what}") from None
        except errors.RayError as exc:  # object store full, system errors: this job fails, the run goes on
            raise StageFailed(f"Ray could not run the job on {device}: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        for name, data in reply["files"].items():
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        self.pids[device], self.holding[device] = reply["pid"], kind
        if reply["load"] is not None:
            self.ctx.model_events.append({"event": "load", "kind": kind, "backend": self.ctx.backends[kind].name,
                                          "device": device, "worker": reply["pid"], "seconds": reply["load"]})
        return reply["meta"]

    def release(self, kind: str, device: str | None = None) -> None:
        self.ctx.release(kind, device)
        for name, actor in self.actors.items():
            if (device is None or name == device) and self.holding.get(name) == kind:
                actor.release.remote()
                self.holding[name] = None
                self.ctx.model_events.append({"event": "release", "kind": kind,
                                              "backend": self.ctx.backends[kind].name, "device": name})

    def close(self) -> None:
        """Stop the workers (a job still running on one is abandoned: Ctrl-C does not wait for it)."""
        for actor in list(self.actors.values()):
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass
        self.actors = {}
        if self.started_ray:
            self.ray.shutdown()
            self.started_ray = False


def unreachable(address: str | None, timeout: float = 5.0) -> str | None:
    """Why ``host:port`` cannot be joined, found in seconds (Ray itself retries an unreachable head for minutes)."""
    import socket

    if not address or address == "auto" or address.startswith("ray://"):
        return None
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        return f"{address!r} is not host:port"
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def executor_for(ctx: RenderContext, devices: list[str | None], kind: str | None = None):
    """The executor ``director.yaml`` (or ``--executor``) names."""
    config = ctx.config.executor
    if (kind or config.kind) == "ray":
        return RayExecutor(ctx, config)
    return LocalExecutor(ctx, devices)
