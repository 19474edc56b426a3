# director — two commands for a new user: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: demo test bench test-llm clean-demo

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Base install: no torch, no diffusers, no TTS; the preview profile needs none of them.
$(VENV)/.base: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.base
	$(PIP) install -e ".[test]"
	touch $@

demo: $(VENV)/.base
	$(BIN)/director -p projects/demo validate
	$(BIN)/director -p projects/demo plan --show
	$(BIN)/director -p projects/demo render
	@echo "open projects/demo/out/screenplay/episode.mp4 (storyboard: projects/demo/out/screenplay/storyboard.html)"

test: $(VENV)/.test
	$(BIN)/python -m pytest

bench: $(VENV)/.test
	$(BIN)/python -m bench

clean-demo:
	rm -rf projects/demo/.director projects/demo/out projects/demo/shots
