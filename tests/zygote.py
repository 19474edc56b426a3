"""The tests' `director` command, started from a warm process: a real separate process, without ~0.5-2 s of imports.

``make test`` runs the `director` command ~800 times, and each fresh interpreter imported the same modules
(pydantic's models, typer, numpy, Pillow; langchain and the OpenAI SDK for a plan: ~1.8 s alone) before doing
a few milliseconds of work, and tore them down after: over half of the suite's time. A *zygote* -- a Python process that has imported
them once -- forks a child for each command instead. The child is a process of its own, as a fresh one is: its
own pid, working directory, environment, standard streams (files, as a pipe would give), signal handlers and
exit status; it runs the console script's own entry (``director.cli.fast.entry``) and ends as the interpreter
ends a program (``SystemExit``'s code, an uncaught error's traceback and status 1, Ctrl-C's signal; its threads
joined, atexit handlers run, streams flushed), so its exit code and its output are the real ones.

A zygote is bound to the variables read when the interpreter starts or a library is imported (``PYTHON*``,
the locale, ``HOME``, the model caches' and thread pools' settings): each such environment the worker's
commands share gets its own, on its second command (two at most, the one used least recently making way); the
first runs in a fresh interpreter (``run`` answers None and the caller falls back to ``subprocess.run``), as does
one whose working directory holds a module the zygote imported from elsewhere (a copy of director, which
``python -m`` would import instead). Tests of the interpreter's own start (the fast path's imports,
``--help``'s cost, signals sent to a render) start their processes themselves.

``DIRECTOR_TEST_FRESH=1`` turns the zygote off: every command is a fresh interpreter again.
"""
from __future__ import annotations

import io
import json
import locale
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAIN = ROOT / "director" / "__main__.py"

# imported once by the zygote: what nearly every command imports, and the LLM client a plan imports (~1.8 s)
PRELOAD = ("director.cli.main", "director.runtime.engine", "director.runtime.uptodate", "director.screenplay",
           "director.project", "director.plan.llm", "langchain_openai", "openai", "PIL.Image", "numpy", "yaml")

# variables read when the interpreter starts or a library is imported, not when a command runs: a child of the
# zygote would keep the zygote's values, so a command whose environment differs in one starts fresh
STARTUP_VARIABLES = ("PYTHON", "LANG", "LC_", "HOME", "XDG_", "HF_", "HUGGINGFACE", "TRANSFORMERS", "DIFFUSERS",
                     "TORCH", "OMP_", "OPENBLAS", "MKL_", "NUMBA", "TTS_", "COQUI", "LANGCHAIN", "LANGSMITH", "TMP",
                     "TEMP", "PATH", "LD_", "MALLOC", "GLIBC")


# ------------------------------------------------------------------------------------------------ the zygote itself
def serve() -> None:
    """Read a request a line (JSON) from the client's pipe; fork a child for each; answer its pid, then its status."""
    from director.cli.fast import one_blas_thread

    one_blas_thread()  # as the console script does before numpy loads (OpenBLAS reads it once)
    import importlib

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:  # an optional part not installed: its commands import it themselves
            pass
    channel_in, channel_out = os.fdopen(os.dup(0), "r"), os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1):  # the channel is kept on fds of its own; the zygote's standard streams say nothing
        os.dup2(devnull, fd)
    if threading.active_count() != 1:  # a fork copies only the calling thread: a lock held by another stays held
        channel_out.write(json.dumps({"error": f"{threading.active_count()} threads after the imports"}) + "\n")
        channel_out.flush()
        return
    channel_out.write('{"ready": true}\n')
    channel_out.flush()
    for line in channel_in:
        request = json.loads(line)
        if _shadowed(request["cwd"]):
            channel_out.write('{"declined": true}\n')
            channel_out.flush()
            continue
        pid = os.fork()
        if pid == 0:
            channel_in.close()  # nothing of the channel stays with the command
            channel_out.close()
            os.close(devnull)
            _become(request)  # never returns
        channel_out.write(json.dumps({"pid": pid}) + "\n")
        channel_out.flush()
        _, status = os.waitpid(pid, 0)  # the command's end, however it ends (a timeout's SIGKILL too)
        channel_out.write(json.dumps({"status": status}) + "\n")
        channel_out.flush()


def _shadowed(cwd: str) -> bool:
    """Whether a module the zygote imported would be imported from ``cwd`` instead by ``python -m director`` started
    there (``python -m`` puts the working directory first on the path): a copy of director, say."""
    try:
        names = os.listdir(cwd)
    except OSError:
        return False
    for name in names:
        path = os.path.join(cwd, name, "__init__.py") if not name.endswith(".py") else os.path.join(cwd, name)
        module = sys.modules.get(name[:-3] if name.endswith(".py") else name)
        if module is not None and os.path.isfile(path):
            loaded = getattr(module, "__file__", None)
            if loaded is None or not os.path.samefile(loaded, path):
                return True
    return False


def _become(request: dict) -> None:
    """In the forked child: take the command's streams, directory, environment and arguments, then run it."""
    for fd, path, flags in ((0, request["stdin"], os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                            (2, request["stderr"], os.O_WRONLY)):
        opened = os.open(path, flags)
        os.dup2(opened, fd)
        os.close(opened)
    # sys.stdin, stdout and stderr are the zygote's own objects over fds 0-2, now the command's files: buffered as
    # a fresh interpreter's are over pipes (the zygote's were pipes too), and never read or written by the zygote
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [str(MAIN), *request["args"]]
    sys.path[0] = os.getcwd()  # what ``python -m`` puts first
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if "numpy" in sys.modules:  # its global generator was seeded once, in the zygote: each process its own
        sys.modules["numpy"].random.seed()
    from director.cli.fast import entry

    try:
        entry()
        code = 0
    except SystemExit as stop:  # as the interpreter reads it
        code = stop.code if isinstance(stop.code, int) else 0 if stop.code is None else 1
        if not isinstance(stop.code, int) and stop.code is not None:
            print(stop.code, file=sys.stderr)
    except KeyboardInterrupt:  # the interpreter prints it, then ends by the signal itself
        sys.excepthook(*sys.exc_info())
        _finish()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    except BaseException:  # noqa: BLE001 - an uncaught error: its traceback, exit status 1
        sys.excepthook(*sys.exc_info())
        code = 1
    _finish()
    os._exit(code & 0xFF)


def _finish() -> None:
    """The interpreter's exit as it concerns the command (Py_FinalizeEx's first steps): its non-daemon threads
    joined, its atexit handlers run, its standard streams flushed. The rest -- tearing down ~2,000 modules the
    zygote imported, ~0.5 s -- does nothing a command's output depends on, and is skipped."""
    import atexit

    threading._shutdown()  # type: ignore[attr-defined] - what the interpreter calls to wait for them
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


# ------------------------------------------------------------------------------------------------------- the client
def _key(env: dict[str, str]) -> tuple:
    """What of an environment a zygote is bound to: the variables read at start-up and import."""
    return tuple(sorted((k, v) for k, v in env.items() if k.upper().startswith(STARTUP_VARIABLES)))


class Zygote:
    """A pytest worker's zygotes, one per start-up environment the worker's commands share, started on the second
    command that asks for one (the tests' own autouse settings -- an empty model cache, offline -- are every
    test's; a variable a single test sets for itself would start a zygote for one command); at most ``MAX``,
    the one used least recently ended to make way for another."""

    MAX = 2

    def __init__(self):
        self.procs: dict[tuple, subprocess.Popen] = {}
        self.seen: dict[tuple, int] = {}
        self.failed = os.environ.get("DIRECTOR_TEST_FRESH") == "1"
        self.lost = 0
        self.lock = threading.Lock()  # one command at a time: a zygote waits for each child

    def _start(self, env: dict[str, str]) -> subprocess.Popen | None:
        proc = subprocess.Popen([sys.executable, "-c", "from tests.zygote import serve; serve()"], cwd=ROOT,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env=env, bufsize=0)  # unbuffered: ``_read`` keeps what it read past a line
        reply = _read(proc, 120)
        if not reply or not reply.get("ready"):
            _end(proc)
            self.failed = True
            return None
        return proc

    def close(self) -> None:
        for proc in self.procs.values():
            _end(proc)
        self.procs.clear()

    def run(self, args: list[str], cwd: Path | None, env: dict[str, str], stdin: str | None,
            timeout: float) -> subprocess.CompletedProcess | None:
        """The command's result, as ``subprocess.run(..., capture_output=True, text=True)`` gives it; None where a
        fresh interpreter must run it (see the module's note)."""
        if self.failed:
            return None
        key = _key(env)
        with self.lock:
            proc = self.procs.pop(key, None)
            if proc is None:
                self.seen[key] = self.seen.get(key, 0) + 1
                if self.seen[key] < 2:
                    return None
                if len(self.procs) >= self.MAX:  # the one used least recently makes way
                    _end(self.procs.pop(next(iter(self.procs))))
                proc = self._start(env)
                if proc is None:
                    return None
            self.procs[key] = proc  # the most recently used last
            return self._run(key, proc, args, cwd, env, stdin, timeout)

    def _run(self, key, proc, args, cwd, env, stdin, timeout) -> subprocess.CompletedProcess | None:
        with tempfile.TemporaryDirectory(prefix="director-zygote-") as tmp:
            files = {name: Path(tmp) / name for name in ("stdin", "stdout", "stderr")}
            files["stdin"].write_bytes(stdin.encode(locale.getpreferredencoding(False)) if stdin else b"")
            for name in ("stdout", "stderr"):
                files[name].touch()
            request = {"args": list(args), "cwd": str(cwd or os.getcwd()), "env": env,
                       **{k: str(v) for k, v in files.items()}}
            if stdin is None:
                request["stdin"] = os.devnull
            try:
                proc.stdin.write(json.dumps(request).encode() + b"\n")
                reply = _read(proc, 60) or {}
            except (OSError, ValueError):
                reply = {}
            if reply.get("declined"):  # the working directory would change what a fresh one imports
                return None
            pid = reply.get("pid")
            if pid is None:  # the zygote is gone (a test killed it?): a new one next time, fresh after three
                _end(self.procs.pop(key))
                self.lost += 1
                self.failed = self.lost >= 3
                return None
            done = _read(proc, timeout)
            if done is None:
                try:
                    os.kill(pid, signal.SIGKILL)  # the zygote has not reaped it yet: it has not said its status
                except ProcessLookupError:
                    pass
                _read(proc, 60)
            out, err = (_text(files[n].read_bytes()) for n in ("stdout", "stderr"))
            if done is None:
                raise subprocess.TimeoutExpired([sys.executable, "-m", "director", *args], timeout, out, err)
            return subprocess.CompletedProcess([sys.executable, "-m", "director", *args],
                                               os.waitstatus_to_exitcode(done["status"]), out, err)


_unread: dict[int, bytearray] = {}  # per zygote (pid): what was read from its channel past the last answer


def _read(proc: subprocess.Popen, timeout: float | None) -> dict | None:
    """The zygote's next answer, or None after ``timeout`` seconds or when it is gone. Its channel is read in raw
    chunks kept here: a command that ends at once sends its pid and its status together, and a buffered
    ``readline`` took both, leaving the wait for the status on an empty pipe until the timeout."""
    assert proc.stdout is not None
    kept = _unread.setdefault(proc.pid, bytearray())
    deadline = None if timeout is None else time.monotonic() + timeout
    while b"\n" not in kept:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(left):
                return None
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            return None
        kept += chunk
    line, _, rest = bytes(kept).partition(b"\n")
    kept[:] = rest
    return json.loads(line)


def _end(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()
    _unread.pop(proc.pid, None)


def _text(data: bytes) -> str:
    """Bytes read as ``subprocess.run(text=True)`` reads a pipe: the locale's encoding, universal newlines."""
    return io.TextIOWrapper(io.BytesIO(data), encoding=None).read()


ZYGOTE = Zygote()
