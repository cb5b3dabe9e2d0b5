# The README's two set-up commands are `make demo` and `make test`; both build .venv on first use.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
EXTRAS ?= dev,transformers,acestep

.PHONY: demo test lint bench clean system-deps

$(PY):
	python3 -m venv .venv

# torch first: a plain requirement would pull a multi-GB CUDA build; 2.13.0 is the CPU build on disk.
$(VENV_STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	touch $(VENV_STAMP)

demo: $(VENV_STAMP)
	$(PY) -m latentroom.demo runs/demo

# espeak-ng voices the `speech` family of `corpus synth`; without it those tests are skipped, so
# `make test` installs it where it can (root with apt-get, as in CI) and says so where it cannot.
system-deps:
	@command -v espeak-ng >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null 2>&1; } \
		|| echo "note: espeak-ng is not installed; the speech tests will be skipped"

test: $(VENV_STAMP) system-deps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -n 2 -q

lint: $(VENV_STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy src

bench: $(VENV_STAMP)
	$(PY) benchmarks/codec_speed.py

clean:
	rm -rf .venv runs

# Real, freely licensed audio from Debian packages (docs/real-audio.md): music, drums, instrument
# and voice, 7.6 hours, into runs/corpus-real (never committed). Installs the packages with
# apt-get where it can (root), like system-deps; a killed build resumes when run again.
CORPUS_PACKAGES := wesnoth-1.16-music fretsonfire-songs-muldjord fretsonfire-songs-sectoid \
	hydrogen-drumkits fluid-soundfont-gm fluidsynth festival festvox-kallpc16k festvox-kdlpc16k \
	festvox-us-slt-hts espeak-ng
.PHONY: corpus-real
corpus-real: $(VENV_STAMP)
	@missing=$$(for p in $(CORPUS_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				--no-install-recommends $$missing >/dev/null; \
		else echo "corpus-real needs the Debian packages:" $$missing; exit 2; fi; \
	fi
	$(PY) scripts/corpus_real.py runs/corpus-real
