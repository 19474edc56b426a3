"""``director render`` with nothing changed, answered before the command line's framework is imported.

The console script and ``python -m director`` come here first. A plain render (global ``-p``/``-q``/``--json``,
then ``render`` with at most ``--episode NAME`` and ``--profile``) whose stamp says nothing changed
(``runtime/uptodate.py``) is answered from it; anything else, or any doubt, goes to the full command line
(``cli/main.py``), which gives every error its proper message.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

NOTE = "nothing changed since the last render: every artifact and output is as it left them"
TRIED = False  # this process asked the stamp already (and rendering follows): the full command line asks no more


def parse(argv: list[str]) -> dict | None:
    """The options of a plain render, or None for any other command line."""
    opts: dict = {"project": None, "json": False, "quiet": False, "episode": None, "profile": None}
    command = False
    i = 0
    while i < len(argv):
        arg, value = argv[i], argv[i + 1] if i + 1 < len(argv) else None
        if arg in ("-q", "--quiet", "--json"):  # after ``render`` too (cli/main.hoisted)
            opts["json" if arg == "--json" else "quiet"] = True
        elif not command and arg in ("-p", "--project") and value is not None:
            opts["project"], i = value, i + 1
        elif not command and arg == "render":
            command = True
        elif command and arg in ("-e", "--episode") and value is not None and "," not in value:
            opts["episode"], i = value, i + 1
        elif command and arg == "--profile" and value in ("preview", "final"):
            opts["profile"], i = value, i + 1
        else:
            return None
        i += 1
    return opts if command else None


def answer(root: Path, episode: str | None, profile: str | None) -> tuple[dict, str] | None:
    """(the --json result, the text) of an up-to-date render, or None to render."""
    from director.runtime import uptodate

    started = time.perf_counter()
    done = uptodate.answer(root, episode, profile)
    if done is None:
        return None
    data = {"episode": done.get("episode"), "outputs": done.get("outputs", {}), "duration": done.get("duration"),
            "seconds": round(time.perf_counter() - started, 2), "ran": 0, "reused": done.get("jobs", 0),
            "stages": {k: {"seconds": 0.0, "ran": 0, "reused": n} for k, n in done.get("stages", {}).items()},
            "failed": [], "notes": [NOTE], "record": done.get("record"), "up_to_date": True}
    lines = [f"episode {data['episode']}: up to date, reused {data['reused']} in {data['seconds']:.2f}s ({NOTE})"]
    if data["duration"]:
        lines.append(f"  length {data['duration']:.2f}s")
    # in the order a render lists them (the stamp keeps them sorted by name: the video came after the ASS)
    first = ("video", "cards", "subtitles", "ass", "storyboard", "storyboard_html")
    order = sorted(data["outputs"], key=lambda name: (first.index(name) if name in first else len(first), name))
    lines += [f"  {name}: {data['outputs'][name]}" for name in order]
    return data, "\n".join(lines)


def answered(argv: list[str]) -> bool:
    """True when the command line was a plain render that nothing changed since: it has been answered."""
    global TRIED
    opts = parse(argv)
    if opts is None:
        return False
    TRIED = True
    try:
        root = Path(opts["project"] or ".").resolve()
        done = answer(root, opts["episode"], opts["profile"]) if (root / "director.yaml").is_file() else None
    except Exception:  # noqa: BLE001 - the full command line reports any problem with its proper message
        return False
    if done is None:
        return False
    from director.cli.output import Output

    try:
        Output(json_mode=opts["json"], verbosity=-1 if opts["quiet"] else 0).result(*done)
        sys.stdout.flush()
    except BrokenPipeError:  # `director render | head -1`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return True


def one_blas_thread() -> None:
    """numpy's OpenBLAS starts a thread per core at import and they spin: ~0.1 CPU-s of every process that imports
    numpy, on a render whose jobs already share the cores out (and director multiplies no big matrices with it).
    numpy is imported here with one BLAS thread (unless the user chose a number), and the setting is taken back at
    once, so that no child process and no library loaded later (a model's own BLAS) inherits it."""
    if "OPENBLAS_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = "1"
    try:
        import numpy  # noqa: F401 - imported for its side effect: OpenBLAS reads the setting once, at load
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    finally:
        del os.environ["OPENBLAS_NUM_THREADS"]


TERMINATED = 143  # the exit code of a render stopped by SIGTERM (docker stop, systemd, a batch scheduler)


def _terminate(signum, frame) -> None:
    """SIGTERM stops a render as Ctrl-C does (finished work kept, the state saved, a message); a second one ends
    the process at once."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _terminate.seen = True
    _pass_on(signum)
    raise KeyboardInterrupt


def _interrupt(signum, frame) -> None:
    """SIGINT: Python's own KeyboardInterrupt, passed on to the ffmpeg processes first. Ctrl-C in a terminal
    reaches them anyway (the whole process group); a SIGINT sent to director alone (the studio's Cancel) did not,
    and the render waited for every running encode to end."""
    _pass_on(signum)
    raise KeyboardInterrupt


def _pass_on(signum: int) -> None:
    ffmpeg = sys.modules.get("director.media.ffmpeg")  # not imported: no ffmpeg was ever started
    if ffmpeg is not None:
        ffmpeg.stop_all(signum)


def entry() -> None:
    import signal

    _terminate.seen = False
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # an inherited "ignore" is the parent's to choose
        signal.signal(signal.SIGTERM, _terminate)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _interrupt)
    try:
        if answered(sys.argv[1:]):
            raise SystemExit(0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(TERMINATED if _terminate.seen else 130) from None
    if not {"--help", "-h"} & set(sys.argv[1:]) and len(sys.argv) > 1:  # help needs no numpy (~0.07 s)
        one_blas_thread()  # a render imports numpy anyway (the screenplay's checks, the backends); an answered one not
    from director.runtime.heap import one_heap

    one_heap()  # before any thread of the process exists (runtime/heap.py)
    from director.cli.main import run
    code = run()
    if signal.getsignal(signal.SIGTERM) is _terminate:  # the work is done: a TERM now just ends the process
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    code = TERMINATED if _terminate.seen and code == 130 else code
    import threading
    if any(t.name == "llm-call" and t.is_alive() for t in threading.enumerate()):
        # an LLM request past its deadline is still blocked on its socket (plan/llm._within), inside a pool
        # thread that interpreter shutdown would wait for: everything is written, so leave without waiting
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said there
                pass
        os._exit(code)
    raise SystemExit(code)
