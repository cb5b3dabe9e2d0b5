# The README's two set-up commands are `make demo` and `make test`; both build .venv on first use.
PY := .venv/bin/python
VENV_STAMP := .venv/.installed
EXTRAS ?= dev,transformers,vae,perceptual,distributed
# The second environment: ACE-Step 1.5's stack (transformers 4.57, diffusers 0.37), where the
# version-sensitive tests run again (codecs/compat.py; docs/install.md).
COMPAT_PY := .venv-compat/bin/python
COMPAT_STAMP := .venv-compat/.installed
COMPAT_TESTS := tests/test_codecs_compat.py tests/test_codecs_contract.py tests/test_codecs_hf.py \
	tests/test_codecs_acestep.py tests/test_cli_codecs.py tests/test_chunking.py \
	tests/test_feedback_acestep_real.py

.PHONY: demo test lint bench clean system-deps

$(PY):
	python3 -m venv .venv

# torch first: a plain requirement would pull a multi-GB CUDA build; 2.13.0 is the CPU build on disk.
$(VENV_STAMP): pyproject.toml | $(PY)
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install torch==2.13.0
	$(PY) -m pip install -e ".[$(EXTRAS)]"
	# torchcrepe declares torchaudio, whose newest release pins an older torch: no deps
	# (evaluation/perceptual/pitch.py stands in for the file loader it never uses here).
	$(PY) -m pip install --no-deps torchcrepe==0.0.24
	touch $(VENV_STAMP)

$(COMPAT_STAMP): pyproject.toml
	[ -x $(COMPAT_PY) ] || python3 -m venv .venv-compat
	$(COMPAT_PY) -c "import torch" 2>/dev/null || $(COMPAT_PY) -m pip install torch==2.13.0
	$(COMPAT_PY) -m pip install -e ".[dev,acestep]"
	# ACE-Step 1.5's 2026-02-12 snapshot, the only ACE-Step 1.5 on PyPI: too old for the backend,
	# so the real-source test checks its one-line refusal (no deps: it pins a CUDA torch).
	$(COMPAT_PY) -m pip install --no-deps ace-step15-fork==20260212
	$(COMPAT_PY) -m pip install numba
	touch $(COMPAT_STAMP)

demo: $(VENV_STAMP)
	$(PY) -m latentroom.demo runs/demo

# espeak-ng voices the `speech` family of `corpus synth`; without it those tests are skipped, so
# `make test` installs it where it can (root with apt-get, as in CI) and says so where it cannot.
system-deps:
	@command -v espeak-ng >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
		&& apt-get update -qq && apt-get install -y -qq espeak-ng >/dev/null 2>&1; } \
		|| echo "note: espeak-ng is not installed; the speech tests will be skipped"

# Two runs: the whole suite in .venv, then COMPAT_TESTS in .venv-compat. pytest's exit 5 (no test
# collected) fails either. The compat env adds ~7.6 min to a fresh clone's `make test` (venv 368 s
# + tests 89 s, measured 2026-12-01 on 2 cores shared with other jobs; the whole run took 19.5 min:
# .venv 390 s, suite 311 s).
test: $(VENV_STAMP) $(COMPAT_STAMP) system-deps
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest -n 2 -q
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(COMPAT_PY) -m pytest -n 2 -q $(COMPAT_TESTS)

lint: $(VENV_STAMP)
	$(PY) -m ruff check src tests benchmarks
	$(PY) -m ruff format --check src tests benchmarks
	$(PY) -m mypy src

bench: $(VENV_STAMP)
	$(PY) benchmarks/codec_speed.py

clean:
	rm -rf .venv .venv-compat runs

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
