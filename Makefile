# The README's two set-up commands are `make demo` and `make test`; both build .venv on first use.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
EXTRAS ?= dev,transformers,acestep

.PHONY: demo test lint bench clean

$(PY):
	python3 -m venv .venv

# torch first: a plain requirement would pull a multi-GB CUDA build; 2.13.0 is the CPU build on disk.
$(VENV_STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	touch $(VENV_STAMP)

demo: $(VENV_STAMP)
	$(PY) -m latentroom.demo runs/demo

test: $(VENV_STAMP)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -n 2 -q

lint: $(VENV_STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy src

bench: $(VENV_STAMP)
	$(PY) benchmarks/codec_speed.py

clean:
	rm -rf .venv runs
