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

import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from director.backends.types import artifact_paths, relocate
from director.errors import ConfigError, StageFailed
from director.runtime.context import current_device
from director.stages.base import Job, _meta

if TYPE_CHECKING:
    from director.project import ExecutorConfig
    from director.runtime.context import RenderContext

log = logging.getLogger("director.executor")


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
        token = current_device.set(device)  # ctx.backend() builds (once) and returns this device's models
        try:
            return job.run(out)
        finally:
            current_device.reset(token)

    def where(self, device: str | None) -> dict:
        return {"device": device, "pid": os.getpid()}

    def release(self, kind: str, device: str | None = None) -> None:
        self.ctx.release(kind, device)

    def close(self) -> None:
        pass


class DeviceWorker:
    """A Ray actor: one GPU (or custom resource slot), the models of one backend kind at a time."""

    def __init__(self):
        self.kind: str | None = None
        self.identity = None
        self.backend = None

    def pid(self) -> int:
        return os.getpid()

    def release(self) -> None:
        self.kind = self.identity = self.backend = None
        from director.runtime.context import free_accelerator_memory
        free_accelerator_memory()

    def run(self, kind: str, config, method: str, request, inputs: dict[str, bytes]) -> dict:
        load = None
        identity = config.identity()
        if self.kind != kind or self.identity != identity:
            self.release()
            started = time.perf_counter()
            self.backend, self.kind, self.identity = config.build(), kind, identity
            load = round(time.perf_counter() - started, 3)
        work = Path(tempfile.mkdtemp(prefix="director-job-"))
        try:
            moved: dict[str, str] = {}
            for i, (path, data) in enumerate(sorted(inputs.items())):
                original = Path(path)
                folder = Path(moved.setdefault(str(original.parent), str(work / "in" / str(i))))
                folder.mkdir(parents=True, exist_ok=True)
                (folder / original.name).write_bytes(data)
                moved[path] = str(folder / original.name)
            out = work / "out"
            out.mkdir()
            meta = _meta(getattr(self.backend, method)(relocate(request, moved), out))
            files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}
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
        self.started_ray = not ray.is_initialized()
        if self.started_ray:
            ray.init(address=config.address, logging_level=logging.WARNING, log_to_driver=False,
                     include_dashboard=False)
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
        self.actors = {f"ray:{i}": worker.options(num_cpus=0, **options).remote() for i in range(total)}
        self.pids = dict(zip(self.actors, ray.get([a.pid.remote() for a in self.actors.values()])))
        self.holding: dict[str, str | None] = {name: None for name in self.actors}

    def devices(self) -> list[str]:
        return list(self.actors)

    def runs_remotely(self, job: Job) -> bool:
        return job.call is not None and job.request is not None

    def where(self, device: str | None) -> dict:
        return {"device": device, "pid": self.pids.get(device)}

    def make(self, job: Job, device: str, out: Path):
        """Ship the job to the device's actor, wait, and write what comes back into ``out`` (the cache's temp)."""
        kind = job.kind
        inputs = {str(p): p.read_bytes() for p in artifact_paths(job.request)}
        try:
            reply = self.ray.get(self.actors[device].run.remote(kind, self.ctx.backends[kind], job.call,
                                                                 job.request, inputs))
        except self.ray.exceptions.RayActorError as exc:
            raise StageFailed(f"the Ray worker {device} died and its restarts ({self.config.retries}) are used up: "
                              f"{str(exc).splitlines()[0]}") from None
        except self.ray.exceptions.RayTaskError as exc:  # the backend raised on the worker: same as locally
            raise StageFailed(str(exc.cause) if getattr(exc, "cause", None) else str(exc)) from None
        for name, data in reply["files"].items():
            (out / name).write_bytes(data)
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
        for actor in getattr(self, "actors", {}).values():
            self.ray.kill(actor)
        if self.started_ray:
            self.ray.shutdown()


def executor_for(ctx: RenderContext, devices: list[str | None], kind: str | None = None):
    """The executor ``director.yaml`` (or ``--executor``) names."""
    config = ctx.config.executor
    if (kind or config.kind) == "ray":
        return RayExecutor(ctx, config)
    return LocalExecutor(ctx, devices)
