"""Progress from inside a job (a model's denoising steps) to the progress bars.

The engine sets a callback around each job it runs (a context variable, so each worker thread
has its own); a backend reports the fraction of its job done, e.g. from diffusers'
``callback_on_step_end``. Without a reporter nothing happens.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Callable, Iterator

_current: ContextVar[Callable[[float], None] | None] = ContextVar("director_job_progress", default=None)
_device: ContextVar[Callable[[], None] | None] = ContextVar("director_device_release", default=None)
_cores: ContextVar[Callable[[], int] | None] = ContextVar("director_job_cores", default=None)


def report(fraction: float) -> None:
    callback = _current.get()
    if callback is not None:
        callback(min(1.0, max(0.0, fraction)))


@contextmanager
def _setting(var: ContextVar, value) -> Iterator[None]:
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def reporting(callback: Callable[[float], None] | None):
    return _setting(_current, callback)


@contextmanager
def part(index: int, count: int) -> Iterator[None]:
    """Inside, fractions cover the ``index``-th of ``count`` equal parts of the job (e.g. video passes)."""
    outer = _current.get()
    with reporting(None if outer is None else (lambda f: outer((index + f) / count))):
        yield


def diffusers_callback(steps: int) -> dict:
    """Keyword arguments that make a diffusers pipeline report each finished denoising step."""
    def on_step_end(pipe, step: int, timestep, tensors: dict) -> dict:
        report((step + 1) / max(1, steps))
        return tensors
    return {"callback_on_step_end": on_step_end}


def gpu_done() -> None:
    """The job's work on its device is over: what is left (fitting frames, encoding, writing files) runs on the CPU,
    so the scheduler may start the device's next job meanwhile. Outside a scheduled job nothing happens."""
    release = _device.get()
    if release is not None:
        release()


def on_device(release: Callable[[], None] | None):
    """Inside, ``gpu_done`` calls ``release`` (the scheduler's hold on the job's device)."""
    return _setting(_device, release)


def cores() -> int | None:
    """How many CPU cores the running job may use now (its share of the machine, given the CPU jobs running and
    queued beside it: a lone segment encode takes every core, one of many takes one); None outside a scheduled
    job."""
    share = _cores.get()
    return share() if share is not None else None


def sharing(share: Callable[[], int] | None):
    """Inside, ``cores`` asks ``share``."""
    return _setting(_cores, share)
