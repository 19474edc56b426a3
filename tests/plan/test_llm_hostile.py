"""The LLM planner against hostile or broken OpenAI-compatible servers and odd credentials.

Black-box: the real ``director`` command in a subprocess, the scripted local server of tests/llm_server.py.
A secret (the API key, a password in OPENAI_BASE_URL) must never show up in anything director prints or
writes under the project; a broken server or a missing extra is a clear message, never a traceback.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from director.screenplay import load_screenplay
from tests.conftest import director, make_project
from tests.llm_server import ScriptedLLM
from tests.plan.test_llm import good_answer

KEY = "sk-test-SECRET-8f3a9c2e71"
PASSWORD = "SECRETPASS"
ECHO = ScriptedLLM.ECHO_KEY
SCENES = ("one", "two")  # tests/data/short
UNREACHABLE = "http://127.0.0.1:9/v1"
TIMEOUT = 60


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = make_project(tmp_path)
    config = yaml.safe_load((path / "director.yaml").read_text()) or {}
    config["llm"] = {"backoff": 0.01, "timeout": 3, "max_retries": 1, "max_repairs": 1, "review": False,
                     "answer": "shots"}
    (path / "director.yaml").write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def sp(project: Path):
    return load_screenplay(project / "screenplay.yaml").screenplay


def llm_env(base_url: str, key: str = KEY) -> dict:
    return {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": base_url, "DIRECTOR_LLM_MODEL": "test-model"}


def plan(project: Path, env: dict, *flags: str) -> subprocess.CompletedProcess:
    return director("-p", str(project), *flags, "plan", "--planner", "llm", env=env, timeout=TIMEOUT)


def plan_both_ways(project: Path, env: dict) -> list[subprocess.CompletedProcess]:
    """`plan` with --json -v (everything director knows, at debug level), then as plain text from scratch."""
    runs = [plan(project, env, "-v", "--json")]
    shots = project / "shots" / "screenplay.yaml"
    if shots.exists():
        shots.unlink()
    runs.append(plan(project, env))
    return runs


def data_of(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}


def pieces(secret: str, size: int = 10) -> set[str]:
    """Every ``size``-character piece of a secret: a truncated or partly masked copy is still a leak."""
    return {secret[i:i + size] for i in range(len(secret) - size + 1)} if len(secret) > size else {secret}


def leaks(secret: str, project: Path, runs: list[subprocess.CompletedProcess]) -> list[str]:
    """Where the secret shows up: in what director printed, or in any file under the project (as bytes)."""
    found = set()
    for i, proc in enumerate(runs):
        for stream, text in (("stdout", proc.stdout), ("stderr", proc.stderr)):
            if any(p in text for p in pieces(secret)):
                found.add(f"run {i + 1} {stream}")
    for path in sorted(project.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            if any(p.encode() in data for p in pieces(secret)):
                found.add(str(path.relative_to(project)))
    return sorted(found)


def assert_clean(proc: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr


def script_all(llm: ScriptedLLM, step: dict, times: int = 20) -> None:
    for scene in SCENES:
        llm.script("artist", scene, *[step] * times)


# ------------------------------------------------------------------ 1. a server echoing the key

def test_key_echoed_in_answers_is_never_printed_or_stored(project, sp):
    answer = good_answer(sp)
    one = answer("artist", "one")
    one["shots"][0]["prompt"] += f" Authorized with {ECHO}."
    two = answer("artist", "two")
    with ScriptedLLM(answer) as llm:
        llm.script("artist", "one", {"json": one})
        # extra text around the JSON: the answer is sent back for repair, the second one is fine
        llm.script("artist", "two", {"text": f"Your key {ECHO} is valid! Here is the plan: {json.dumps(two)}"})
        runs = plan_both_ways(project, llm_env(llm.url))
        assert llm.calls() and all(r["auth"] == f"Bearer {KEY}" for r in llm.calls())
    for proc in runs:
        assert proc.returncode == 0, proc.stderr
        assert_clean(proc)
    assert data_of(runs[0])["planner"] == "llm"
    assert leaks(KEY, project, runs) == []


def test_401_echoing_the_key_exits_4_saying_the_key_was_refused(project, sp):
    refused = {"status": 401, "error_type": "invalid_request_error", "code": "invalid_api_key",
               "message": f"Incorrect API key provided: {ECHO}. You can find your API key at "
                          "https://platform.openai.com/account/api-keys."}
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, refused)
        runs = plan_both_ways(project, llm_env(llm.url))
        assert llm.calls()
    for proc in runs:
        assert proc.returncode == 4, proc.stderr
        assert_clean(proc)
        err = proc.stderr.lower()
        assert "refused" in err and "key" in err, proc.stderr
    assert leaks(KEY, project, runs) == []


@pytest.mark.parametrize("step", [
    pytest.param({"status": 400, "error_type": "invalid_request_error", "message": f"Bad request from {ECHO}: model not "
                  "loaded"}, marks=pytest.mark.slow),  # opt-in: the same path as 400-response-format
    {"status": 400, "error_type": "invalid_request_error",
     "message": f"response_format is not supported for the key {ECHO}"},
    {"status": 500, "message": f"upstream crashed while serving {ECHO}"},
    pytest.param({"status": 403, "error_type": "permission_denied", "message": f"{ECHO} may not use test-model"},
                 marks=pytest.mark.slow),  # opt-in: 401/403 handling has its own test
], ids=["400", "400-response-format", "500", "403"])
def test_error_bodies_echoing_the_key_are_never_printed_or_stored(project, sp, step):
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, step)
        runs = plan_both_ways(project, llm_env(llm.url))
        assert llm.calls()
    for proc in runs:
        assert_clean(proc)
        assert proc.returncode in (0, 1, 4), proc.stderr
    assert leaks(KEY, project, runs) == []


@pytest.mark.parametrize("status", [501, 405])
def test_a_web_server_that_is_no_chat_endpoint_is_said_at_once(project, sp, status):
    """`python -m http.server` answers a POST with 501 (five tries, then "OpenAIAPIError after 5 tries" said
    nothing of what was wrong: the base URL); a 405 was an internal error."""
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"status": status, "message": "Unsupported method ('POST')"})
        proc = plan(project, llm_env(llm.url))
        calls = len(llm.calls())
    assert proc.returncode == 4, proc.stderr
    assert f"HTTP {status}" in proc.stderr and "not an OpenAI-compatible endpoint" in proc.stderr, proc.stderr
    assert calls <= len(SCENES) and "Traceback" not in proc.stderr  # no retries (each scene asked once at most)


def test_any_other_status_is_said_with_its_code_not_as_a_bug(project, sp):
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"status": 418, "message": "I'm a teapot"})
        proc = plan(project, llm_env(llm.url))
    assert proc.returncode == 1 and "HTTP 418" in proc.stderr, proc.stderr
    assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr


def test_a_404_names_the_model_and_the_v1_path(project, sp):
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"status": 404, "message": "model 'test-model' not found"})
        proc = plan(project, llm_env(llm.url))
    assert proc.returncode == 4 and "HTTP 404" in proc.stderr, proc.stderr
    assert "'test-model'" in proc.stderr and "/v1" in proc.stderr
    assert_clean(proc)


def test_a_server_error_naming_a_function_is_retried_and_a_bare_400_tries_the_next_format(project, sp):
    """llama.cpp's "llama_decode failed in function decode" (a 500) was taken for a refusal of function calling;
    a 400 "unsupported parameter" that names none was a hard failure instead of a reason to try json_object."""
    answer = good_answer(sp)
    with ScriptedLLM(answer) as llm:
        llm.script("artist", "one", {"status": 500, "message": "llama_decode failed in function decode: KV cache full"},
                   {"json": answer("artist", "one")})
        llm.script("artist", "two", {"status": 400, "message": "Invalid request: unsupported parameter"},
                   {"json": answer("artist", "two")})
        proc = plan(project, llm_env(llm.url), "-v")
    assert proc.returncode == 0, proc.stderr
    assert "planned by the rules" not in proc.stdout + proc.stderr, proc.stderr[-2000:]
    assert "try 2 of 2" in proc.stderr  # the 500 was retried


def test_retry_after_as_an_http_date_is_honoured():
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    from director.plan.llm import _retry_after

    class Response:
        headers = {"retry-after": format_datetime(datetime.now(timezone.utc) + timedelta(seconds=20), usegmt=True)}

    class Exc(Exception):
        response = Response()

    assert 15 < _retry_after(Exc()) <= 20
    Response.headers = {"retry-after": "7"}
    assert _retry_after(Exc()) == 7.0


def test_a_plan_of_hundreds_of_shots_without_beats_is_sent_back(project, sp):
    answer = good_answer(sp)
    bloated = answer("artist", "one")
    bloated["shots"] += [{**bloated["shots"][0], "beats": [], "prompt": f"empty street {i}"} for i in range(300)]
    with ScriptedLLM(answer) as llm:
        llm.script("artist", "one", {"json": bloated}, {"json": answer("artist", "one")})
        proc = plan(project, llm_env(llm.url), "--json")
        asked = [json.dumps(c["messages"], ensure_ascii=False) for c in llm.calls("artist") if c["scene"] == "one"]
    assert proc.returncode == 0, proc.stderr
    assert len(asked) == 2 and "cover no beat" in asked[-1], (len(asked), proc.stdout[-1500:])
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert len(shots) < 20


def test_a_timeout_and_its_retry_are_said_without_asking(project, sp):
    """A local server's timeout (600 s by default) and the retries after it were silent unless -v."""
    with ScriptedLLM(good_answer(sp)) as llm:
        llm.script("artist", "one", {"sleep": 5})  # past the fixture's 3 s timeout; the retry gets an answer
        proc = plan(project, llm_env(llm.url))
    assert proc.returncode == 0, proc.stderr
    assert "no answer within 3 s; try 2 of 2" in proc.stderr, proc.stderr


# ------------------------------------------------------------------ 2. a password in OPENAI_BASE_URL

def test_password_in_the_base_url_is_never_printed_or_stored(project, sp):
    with ScriptedLLM(good_answer(sp)) as llm:
        url = llm.url.replace("http://", f"http://user:{PASSWORD}@")
        runs = plan_both_ways(project, llm_env(url))
    for proc in runs:
        assert_clean(proc)
    assert leaks(PASSWORD, project, runs) == []
    assert leaks(KEY, project, runs) == []


def test_password_in_an_unreachable_base_url_is_not_in_the_error(project):
    url = UNREACHABLE.replace("http://", f"http://user:{PASSWORD}@")
    runs = plan_both_ways(project, llm_env(url))
    for proc in runs:
        assert proc.returncode == 4, proc.stderr
        assert_clean(proc)
        assert "127.0.0.1:9" in proc.stderr, proc.stderr  # the endpoint is still named, without its password
    assert leaks(PASSWORD, project, runs) == []


def test_a_key_in_the_base_urls_query_is_refused_and_never_printed_or_stored(project):
    """A key in the URL's query (Google-style ``?key=``) broke every request's path (/v1/?key=...chat/completions)
    and was written into run records, the endpoint memory and the error. Refused with exit 3; and in whatever
    director saves, a query's key is masked."""
    secret = "QueryKey-Secret-77"
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"]["base_url"] = f"{UNREACHABLE}?key={secret}"
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    env = {"OPENAI_API_KEY": KEY, "DIRECTOR_LLM_MODEL": "test-model"}
    runs = [plan(project, env, "-v", "--json"), plan(project, env),
            director("-p", str(project), "render", "--until", "voice", env=env, timeout=TIMEOUT)]
    for proc in runs[:2]:
        assert proc.returncode == 3 and "query string" in proc.stderr, proc.stderr
        assert_clean(proc)
    assert runs[2].returncode == 0, runs[2].stderr  # the rules' plan: the endpoint is never called
    assert [p for p in leaks(secret, project, runs) if p != "director.yaml"] == []

    from director.secrets import redact, split_url_credentials
    assert redact("GET http://h/v1?api_key=abc123&x=1&sig=zz9#top") == "GET http://h/v1?api_key=***&x=1&sig=***#top"
    assert redact("a=b, key=value, ?lang=en") == "a=b, key=value, ?lang=en"  # only a query's key-like names
    assert redact("https://s3/x?X-Amz-Signature=abc&X-Amz-Credential=AK/1") == \
        "https://s3/x?X-Amz-Signature=***&X-Amz-Credential=***"
    split_url_credentials("http://alice:PassWord-Secret-42@127.0.0.1:9/v1")
    assert redact("echo: auth=Basic YWxpY2U6UGFzc1dvcmQtU2VjcmV0LTQy") == "echo: auth=Basic ***"  # base64(user:pw)


def test_an_endpoint_only_the_projects_file_names_never_gets_the_users_key(project, sp):
    """A downloaded project's `llm: {base_url: ...}` received `Authorization: Bearer sk-...` from whoever planned
    it. It now gets a placeholder (a local server accepts it); a server that wants a key is told to be named by
    the user, and named so (OPENAI_BASE_URL, --base-url) it gets the key."""
    with ScriptedLLM(good_answer(sp)) as llm:
        config = yaml.safe_load((project / "director.yaml").read_text())
        config["llm"]["base_url"] = llm.url
        (project / "director.yaml").write_text(yaml.safe_dump(config))
        env = {"OPENAI_API_KEY": KEY, "DIRECTOR_LLM_MODEL": "test-model"}
        done = plan(project, env, "--json")
        assert done.returncode == 0 and data_of(done)["planner"] == "llm", done.stderr
        assert llm.calls() and all(KEY not in r["auth"] for r in llm.calls()), llm.calls()[0]["auth"]
        (project / "shots" / "screenplay.yaml").unlink()
        script_all(llm, {"status": 401, "message": "invalid api key", "error_type": "invalid_request_error"})
        refused = plan(project, env | {"DIRECTOR_LLM_MODEL": "model-2"})  # not answered from the call cache
        assert refused.returncode == 4 and f"OPENAI_BASE_URL={llm.url}" in refused.stderr, refused.stderr
        assert KEY not in refused.stdout + refused.stderr
        llm.scripts.clear()
        before = len(llm.calls())
        named = plan(project, env | {"OPENAI_BASE_URL": llm.url, "DIRECTOR_LLM_MODEL": "model-3"}, "--json")
        assert named.returncode == 0, named.stderr
        assert [r["auth"] for r in llm.calls()[before:]] == [f"Bearer {KEY}"] * (len(llm.calls()) - before)


@pytest.mark.parametrize("url, sent", [("https://api.openai.com/v1", True), ("https://API.openai.com:443/v1", True),
                                       ("http://api.openai.com/v1", False), ("https://api.openai.com:8443/v1", False),
                                       ("https://api.openai.com.evil.example/v1", False)])
def test_only_openais_own_https_origin_in_a_projects_file_gets_the_key(url, sent):
    """The host alone was compared: a project's `http://api.openai.com/v1` got the key over plain HTTP."""
    from director.plan.llm import WITHHELD_KEY, resolve_settings
    from director.project import LLMConfig

    settings = resolve_settings(LLMConfig(base_url=url), {"OPENAI_API_KEY": KEY})
    assert (settings.api_key.get_secret_value() == KEY) is sent and settings.withheld is not sent
    assert sent or settings.api_key.get_secret_value() == WITHHELD_KEY


@pytest.mark.parametrize("url", ["http://127.0.0.1:87 65/v1", "http://[::1/v1", "http:///v1"])
def test_a_malformed_base_url_is_a_config_error_not_a_bug(project, url):
    proc = plan(project, llm_env(url))
    assert proc.returncode == 3 and "OPENAI_BASE_URL" in proc.stderr, proc.stderr
    assert_clean(proc)


@pytest.mark.parametrize("wrap", [  # the bare fence and bare prose: opt-in, inside prose-and-fence's path
    pytest.param(lambda doc: f"```json\n{doc}\n```", marks=pytest.mark.slow),
    lambda doc: f"Sure! Here is the plan:\n\n```json\n{doc}\n```\nLet me know if you want changes.",
    lambda doc: f"<think>The scene has two beats, so {{maybe}} two shots.</think>\n{doc}",
    pytest.param(lambda doc: f"Here is the plan: {doc} Hope it helps.", marks=pytest.mark.slow),
], ids=["fenced", "prose-and-fence", "think", "prose"])
def test_json_wrapped_as_local_models_write_it_is_read(project, sp, wrap):
    """A server that takes response_format but does not enforce it (older Ollama, proxies) sends the JSON in
    fences, after prose or after a <think> block: the SDK refused it and every scene fell back to the rules."""
    answer = good_answer(sp)
    with ScriptedLLM(answer) as llm:
        for scene in SCENES:
            llm.script("artist", scene, *[{"text": wrap(json.dumps(answer("artist", scene)))}] * 3)
        proc = plan(project, llm_env(llm.url), "--json")
    assert proc.returncode == 0, proc.stderr
    said = proc.stdout + proc.stderr
    assert "planned by the rules" not in said and "unusable" not in said, said[-2000:]


def test_an_outage_during_a_replan_leaves_the_shot_list_as_it_was(project, sp):
    """A server answering 503 to every request made every scene fall back to the rules, and that plan replaced
    the last one with exit 0. Not one answer now exits 4 and leaves the file alone."""
    with ScriptedLLM(good_answer(sp)) as llm:
        assert plan(project, llm_env(llm.url)).returncode == 0
        shots = project / "shots" / "screenplay.yaml"
        before = shots.read_bytes()
        script_all(llm, {"status": 503, "message": "overloaded"})
        env = {**llm_env(llm.url), "DIRECTOR_LLM_MODEL": "another-model"}  # not answered from the cache
        proc = plan(project, env)
    assert proc.returncode == 4, proc.stderr
    assert "kept failing" in proc.stderr and "--planner rules" in proc.stderr and "left as it was" in proc.stderr
    assert_clean(proc)
    assert shots.read_bytes() == before


def test_an_endpoint_wide_refusal_is_said_once_not_per_scene(project, sp):
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"]["max_concurrency"] = 1
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"status": 401, "message": "bad key"})
        proc = plan(project, llm_env(llm.url))
        asked = len(llm.calls("artist"))
    assert proc.returncode == 4 and "refused the key" in proc.stderr, proc.stderr
    assert asked == 1  # the second scene never asks


def test_a_server_that_trickles_its_answer_is_timed_out_as_a_whole(project):
    """The client's timeout bounds each read: one byte every second kept a plan waiting for ever."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    stop = threading.Event()

    def serve():
        server.settimeout(0.5)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=trickle, args=(conn,), daemon=True).start()

    def trickle(conn):
        try:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
            while not stop.is_set():
                conn.sendall(b" ")
                time.sleep(1)
        except OSError:
            pass
        finally:
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"].update(max_retries=0, timeout=1)  # one try of 1 s (and 2 s of grace) per scene
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    try:
        started = time.monotonic()
        proc = plan(project, llm_env(f"http://127.0.0.1:{server.getsockname()[1]}/v1"))
        took = time.monotonic() - started
    finally:
        stop.set()
        server.close()
    assert proc.returncode == 4 and "kept failing" in proc.stderr, proc.stderr[-2000:]
    assert took < 40  # one scene at a time while the format is found: ~4 s


def test_json_text_leaves_a_json_answer_alone_and_prefers_an_object_after_prose():
    from director.plan.llm import json_text

    for doc in ('{"prompt": "a monitor shows a <think> tag"}', '{"prompt": "a sign reading ``` OPEN ``` in neon"}'):
        assert json_text(doc) == doc  # what is inside its strings is the answer's business
    assert json_text('I will use [2] shots: {"shots": []} ok') == '{"shots": []}'


def test_a_prompt_with_a_carriage_return_is_read_not_an_internal_error(project, sp):
    answer = good_answer(sp)
    one = answer("artist", "one")
    one["shots"][0]["prompt"] += " Rain\r\non glass."
    with ScriptedLLM(answer) as llm:
        llm.script("artist", "one", {"json": one})
        proc = plan(project, llm_env(llm.url))
    assert proc.returncode == 0, proc.stderr
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert any("Rain" in s["prompt"] and "\r" not in s["prompt"] for s in shots)


def test_sigterm_while_a_slow_server_thinks_stops_the_plan_at_once(project, sp):
    """SIGTERM (and Ctrl-C) waited for the scene in flight, its retries and their backoff: minutes."""
    import signal

    config = yaml.safe_load((project / "director.yaml").read_text())
    config["llm"].update(timeout=20, max_retries=1)
    (project / "director.yaml").write_text(yaml.safe_dump(config))
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"sleep": 15})
        proc = subprocess.Popen([sys.executable, "-m", "director", "-p", str(project), "plan", "--planner", "llm"],
                                env={**os.environ, **llm_env(llm.url)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not llm.calls("artist"):
            time.sleep(0.1)
        assert llm.calls("artist"), "the plan never asked"
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
    assert proc.returncode == 143 and "Traceback" not in err, err[-2000:]
    assert took < 5, took


# ------------------------------------------------------------------ 3. odd keys

def test_a_placeholder_key_for_a_local_server_is_not_masked_out_of_words(project, sp):
    """`OPENAI_API_KEY=local`, as the README says for Ollama, vLLM and llama.cpp: not a secret. Masking it turned
    localhost into ***host and a prompt's "local market" into "*** market" (in what was printed and stored)."""
    answer = good_answer(sp)
    one = answer("artist", "one")
    one["shots"][0]["prompt"] += " A local market at dusk."
    with ScriptedLLM(answer) as llm:
        llm.script("artist", "one", {"json": one})
        env = {**llm_env(llm.url.replace("127.0.0.1", "localhost"), key="local"), "DIRECTOR_LLM_MODEL": "local"}
        proc = plan(project, env, "-v")
    assert proc.returncode == 0, proc.stderr
    assert "***" not in proc.stdout + proc.stderr, proc.stderr
    assert "localhost" in proc.stderr + proc.stdout
    shots = yaml.safe_load((project / "shots" / "screenplay.yaml").read_text(encoding="utf-8"))["shots"]
    assert any("A local market at dusk." in shot["prompt"] for shot in shots), shots
    runs = [p.read_text(encoding="utf-8") for p in (project / ".director" / "runs").glob("*.json")]
    assert runs and not any("***" in r for r in runs)


def test_short_secrets_are_masked_as_words_long_ones_everywhere():
    from director.secrets import redact, register

    register("local")  # a placeholder: nothing to hide
    register("Qz7w")  # a short password: masked where it stands alone, not inside other words
    register("Vb2mKx9pL")  # long enough to be masked anywhere, even glued to other text
    assert redact("http://localhost:11434/v1, model local") == "http://localhost:11434/v1, model local"
    assert redact("pass=Qz7w, Qz7wx xQz7w 'Qz7w'") == "pass=***, Qz7wx xQz7w '***'"
    assert redact("密钥Qz7w是 x.Qz7w") == "密钥***是 x.***"
    assert redact("keyVb2mKx9pLend") == "key***end"


def test_key_with_a_trailing_newline_works_as_if_stripped(project, sp):
    with ScriptedLLM(good_answer(sp)) as llm:
        proc = plan(project, llm_env(llm.url, key=KEY + "\n"), "--json")
        calls = llm.calls()
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc)
    data = data_of(proc)
    assert data["planner"] == "llm" and not data["notes"], proc.stderr
    assert calls and all(r["auth"] == f"Bearer {KEY}" for r in calls)
    assert leaks(KEY, project, [proc]) == []


def test_non_ascii_key_is_a_clear_error_about_the_key(project, sp):
    key = "sk-tést-ключ"
    with ScriptedLLM(good_answer(sp)) as llm:
        proc = plan(project, llm_env(llm.url, key=key))
    assert proc.returncode != 0, proc.stderr
    assert_clean(proc)
    assert "OPENAI_API_KEY" in proc.stderr, proc.stderr
    assert "does not match the" not in proc.stderr, proc.stderr
    assert key not in proc.stdout + proc.stderr


# ------------------------------------------------------------------ 4. a 200 that is not a chat completion

@pytest.mark.parametrize("step", [
    {"raw": "<html><body>oops</body></html>", "content_type": "text/html"},
    # opt-in (make test-slow): variants of the html, choices-null and binary cases' paths (the suite's 10 minutes)
    pytest.param({"raw": "<html><body>oops</body></html>", "content_type": "application/json"}, marks=pytest.mark.slow),
    {"raw": b"\x00\xff\xfe binary", "content_type": "application/octet-stream"},
    pytest.param({"body": {"foo": 1}}, marks=pytest.mark.slow),
    {"body": {"choices": None}},
    pytest.param({"body": {"choices": []}}, marks=pytest.mark.slow),
    pytest.param({"body": [1, 2, 3]}, marks=pytest.mark.slow),
    {"raw": "[" * 100000 + "]" * 100000, "content_type": "application/json"},  # a RecursionError: internal error
], ids=["html", "html-as-json", "binary", "foo", "choices-null", "choices-empty", "json-list", "nested"])
def test_a_200_that_is_not_a_chat_completion_falls_back_to_the_rules(project, sp, step):
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, step)
        proc = plan(project, llm_env(llm.url), "--json")
        assert llm.calls()
    assert proc.returncode == 0, proc.stderr
    assert_clean(proc)
    data = data_of(proc)
    assert any("rules" in n for n in data["notes"]), proc.stderr
    assert "rules" in proc.stderr
    assert (project / "shots/screenplay.yaml").exists()


def test_an_answer_nested_too_deeply_falls_back_to_the_rules(project, sp):
    """A chat completion whose content is '[' * 100000 + ']' * 100000: "internal error: RecursionError"."""
    deep = "[" * 100000 + "]" * 100000
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"text": deep})
        proc = plan(project, llm_env(llm.url), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(proc)
    assert any("rules" in n for n in data_of(proc)["notes"]), proc.stderr[-2000:]


def _huge_answer(size: int) -> bytes:
    """A chat completion whose message is ``size`` spaces: valid JSON all through, so only its size is wrong."""
    head = b'{"id": "x", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop", ' \
           b'"message": {"role": "assistant", "content": "'
    return head + b" " * size + b'"}}]}'


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_an_answer_too_large_to_be_one_is_not_read_whole(project, sp, encoding):
    """A 40 MB answer (or a gzip bomb: 64 KB on the wire, 64 MB decoded) was read whole, then failed to parse. The
    answer is read up to 8 MB, and the scene falls back to the rules with the reason, after no retry."""
    import gzip

    raw = _huge_answer(40 << 20 if encoding == "identity" else 64 << 20)
    step = {"raw": raw, "content_type": "application/json"}
    if encoding == "gzip":
        step = {"raw": gzip.compress(raw, 9), "content_type": "application/json",
                "headers": {"Content-Encoding": "gzip"}}
        assert len(step["raw"]) < 1 << 20
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, step)
        proc = plan(project, llm_env(llm.url), "--json")
        calls = llm.calls()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(proc)
    notes = data_of(proc)["notes"]
    assert any("rules" in n for n in notes), proc.stderr[-2000:]
    assert "more than an answer can be: over 8 MB" in proc.stderr, proc.stderr[-2000:]
    assert "try 2 of" not in proc.stderr, proc.stderr[-2000:]  # a size is not a connection's failure: no retry
    scenes = len(sp.scenes)
    assert len(calls) <= scenes * 3, len(calls)  # the first try and the repairs, each scene; never 5 tries each


def test_an_answer_compressed_in_a_way_never_asked_for_is_refused_unread(project, sp):
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"raw": b"\x28\xb5\x2f\xfd" + b"\0" * 64, "content_type": "application/json",
                         "headers": {"Content-Encoding": "zstd"}})
        proc = plan(project, llm_env(llm.url), "--json")
        calls = llm.calls()
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(proc)
    assert "compressed as 'zstd'" in proc.stderr, proc.stderr[-2000:]
    assert all(c["headers"].get("Accept-Encoding") == "gzip, deflate" for c in calls), calls[:1]


@pytest.mark.parametrize("encoding", ["gzip", pytest.param("deflate", marks=pytest.mark.slow), "raw-deflate"])
def test_an_answer_the_server_compressed_is_read(project, sp, encoding):
    """gzip or deflate, asked for, is decoded by the cap as httpx would have (deflate with zlib's header or raw)."""
    import gzip
    import zlib

    def packed(data: bytes) -> bytes:
        if encoding == "gzip":
            return gzip.compress(data)
        if encoding == "deflate":
            return zlib.compress(data)
        squeeze = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        return squeeze.compress(data) + squeeze.flush()

    with ScriptedLLM(good_answer(sp)) as llm:
        for scene in sp.scenes:
            body = {"id": "x", "object": "chat.completion", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": json.dumps(llm.default_answer("artist", scene.id))}}]}
            llm.script("artist", scene.id, {"raw": packed(json.dumps(body).encode()),
                                            "content_type": "application/json",
                                            "headers": {"Content-Encoding": encoding.removeprefix("raw-")}})
        proc = plan(project, llm_env(llm.url), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(proc)
    data = data_of(proc)
    assert data["planner"] == "llm" and not data["notes"], proc.stderr[-2000:]


def test_a_servers_words_never_reach_the_terminal_as_control_sequences(project, sp):
    """An error message holding ESC ] 0 ; ... BEL set the terminal's title, cleared the screen and coloured what
    followed."""
    evil = "bad \x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mred \x9b31m"
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"status": 400, "message": evil})
        proc = plan(project, llm_env(llm.url))
    assert proc.returncode != 0
    assert "PWNED-TITLE" in proc.stderr and "\\x1b]0;PWNED-TITLE\\x07" in proc.stderr, proc.stderr
    assert not any(c in proc.stdout + proc.stderr for c in "\x1b\x07\x9b")


# ------------------------------------------------------------------ 5. the [llm] extra is not installed

BLOCKER = '''\
"""Test helper: the optional LLM packages are not installed (any import of them fails as if missing)."""
import sys

BLOCKED = ("langchain_openai", "langchain_core", "langchain", "openai")


class _NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
'''


def test_missing_llm_extra_exits_4_naming_the_install_command(project, tmp_path):
    site = tmp_path / "no-llm-extra"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER)
    env = llm_env(UNREACHABLE) | {"PYTHONPATH": os.pathsep.join(filter(None, [str(site),
                                                                               os.environ.get("PYTHONPATH")]))}
    check = subprocess.run([sys.executable, "-c", "import langchain_openai"], capture_output=True, text=True,
                           env={**os.environ, **env}, timeout=TIMEOUT)
    assert check.returncode != 0 and "No module named 'langchain_openai'" in check.stderr  # the blocker works
    proc = plan(project, env)
    assert proc.returncode == 4, proc.stderr
    assert_clean(proc)
    assert "director[llm]" in proc.stderr, proc.stderr


def test_an_answer_of_thousands_of_shots_is_no_plan(project, sp):
    """A 100,000-shot answer was repaired shot by shot (~50 s, 3 MB of notes, a 7 MB cached answer); 30,000 here."""
    shot = {"size": "MCU", "angle": "eye-level", "move": "static", "duration": 2, "characters": [],
            "prompt": "x", "beats": ["one/1"]}
    with ScriptedLLM(good_answer(sp)) as llm:
        script_all(llm, {"json": {"shots": [shot] * 30000}}, times=3)
        proc = plan(project, llm_env(llm.url), "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert_clean(proc)
    assert "planned by the rules" in proc.stderr and "at most" in proc.stderr, proc.stderr[-2000:]
    kept = sum(f.stat().st_size for f in (project / ".director").rglob("*") if f.is_file())
    assert len(proc.stderr) < 20000 and kept < 1_000_000, (len(proc.stderr), kept)
