"""`director studio` refusing what it cannot serve: a clear line and exit code, never a traceback or a URL printed
for a server that is not there."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from tests.conftest import director, make_project

BLOCKER = '''\
import sys


class _NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in ("fastapi", "uvicorn", "starlette"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled)
'''


def test_a_port_out_of_range_is_a_usage_error(tmp_path):
    project = make_project(tmp_path)
    for port in ("99999", "0", "-1"):
        proc = director("-p", str(project), "studio", "--port", port, timeout=30)
        assert proc.returncode == 2, proc.stderr
        assert "--port" in proc.stderr and "Traceback" not in proc.stderr and "http://" not in proc.stdout


def test_a_port_in_use_is_said_so_before_any_address_is_printed(tmp_path):
    project = make_project(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = director("-p", str(project), "studio", "--port", str(port), timeout=30)
    assert proc.returncode == 2, proc.stderr
    assert f"port {port}" in proc.stderr and "in use" in proc.stderr and "--port" in proc.stderr
    assert "http://" not in proc.stdout and "Traceback" not in proc.stderr


def test_an_unknown_host_is_a_usage_error(tmp_path):
    proc = director("-p", str(make_project(tmp_path)), "studio", "--host", "no-such-host.invalid", timeout=30)
    assert proc.returncode == 2 and "--host" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_without_the_studio_extra_it_names_the_install_command(tmp_path):
    site = tmp_path / "no-studio-extra"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    check = subprocess.run([sys.executable, "-c", "import fastapi"], capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=30)
    assert check.returncode != 0 and "No module named 'fastapi'" in check.stderr  # the blocker works
    proc = director("-p", str(make_project(tmp_path)), "studio", env=env, timeout=30)
    assert proc.returncode == 4, proc.stderr
    assert "director[studio]" in proc.stderr and "internal error" not in proc.stderr, proc.stderr


def test_token_is_asked_for_on_this_machine_and_always_elsewhere():
    from director.studio.app import studio_token

    assert studio_token("127.0.0.1") is None and studio_token("localhost") is None
    assert len(studio_token("127.0.0.1", require=True)) >= 20 and studio_token("0.0.0.0")
    assert "--token" in director("studio", "--help").stdout


def test_ctrl_c_with_a_page_open_stops_at_once_without_a_traceback(tmp_path):
    """An open page holds the event stream: uvicorn waited for it, then cancelled it and printed its traceback."""
    import signal
    import time
    import urllib.request

    project = make_project(tmp_path)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "studio", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "http://" in proc.stdout.readline()
        stream = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/events", timeout=30)  # the page's stream
        assert stream.status == 200
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        proc.wait(timeout=30)
        took = time.monotonic() - started
        stream.close()
    finally:
        proc.kill()
        proc.wait()
    err = proc.stderr.read()
    assert "Traceback" not in err and "Cancel" not in err, err
    assert took < 10, took  # not held: where the stream did not end, uvicorn cancelled it (the traceback above)
