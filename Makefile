# hyperviz: `make lab` opens the course, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
TORCH_VERSION ?= 2.13.0
CHROMIUM ?= /usr/bin/chromium
# Wait for another apt-get to finish instead of failing on its lock.
APT_WAIT := -o DPkg::Lock::Timeout=300
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CUDA_CHECK := import sys, torch; v = torch.version.cuda; sys.exit(f"a CUDA build of torch was \
  installed: torch {torch.__version__}, CUDA {v}; run make clean, then install a CPU build" if v else 0)

.PHONY: install lab test test-unit test-notebooks test-browser notebooks bench lint clean

install: $(STAMP)

# Pinned torch first, so that `pip install -e .` finds torch satisfied and never pulls a
# multi-GB CUDA build. On Linux PyPI's torch is the CUDA build: ask for the CPU build
# (+cpu) from PyTorch's CPU index, or from a local wheel store that pip is configured with
# (pip then gives up on an unreachable index after 2 retries). macOS wheels are CPU builds.
# torch alone (--no-deps); the next line brings its dependencies from the default index.
TORCH_CPU_INDEX := https://download.pytorch.org/whl/cpu
TORCH_SPEC := torch==$(TORCH_VERSION)$(if $(filter Linux,$(shell uname -s)),+cpu)
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --no-deps --retries 2 --extra-index-url $(TORCH_CPU_INDEX) "$(TORCH_SPEC)"
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	$(PY) -c '$(CUDA_CHECK)'
	touch $@

lab: install
	$(VENV)/bin/jupyter lab $$([ "$$(id -u)" = 0 ] && echo --allow-root) \
	  notebooks/00_how_to_use.ipynb

test: test-unit test-notebooks test-browser

test-unit: install
	$(PY) -m pytest

# Strict nbval, twice: as a learner runs a notebook, then under another floating-point
# rounding that stands in for another machine (torch's generic kernels instead of AVX2/AVX-512,
# MKL's compatible path, one thread). Measured digits differ between the two runs; the one
# sanitizer (tests/nbval_sanitize.cfg) normalises them, and every claim check must hold in both.
# No notebooks/ folder, or exit code 5 (no notebook collected): nothing to check, not a failure.
NBVAL := $(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
OTHER_ROUNDING := ATEN_CPU_CAPABILITY=default MKL_CBWR=COMPATIBLE OMP_NUM_THREADS=1

test-notebooks: install
	@[ -d notebooks ] || { echo "No notebooks/ folder yet: nothing for nbval."; exit 0; }; \
	set -ex; $(NBVAL) notebooks/ || [ $$? = 5 ]; \
	$(OTHER_ROUNDING) $(NBVAL) notebooks/ || [ $$? = 5 ]

# Needs Chromium: apt-get installs it when we are root; otherwise skip with a warning.
# Exit code 5 = no browser test collected yet: not a failure.
test-browser: install
	@set -e; if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    set -x; apt-get $(APT_WAIT) update; \
	    DEBIAN_FRONTEND=noninteractive apt-get $(APT_WAIT) install -y chromium; \
	  else \
	    echo "WARNING: $(CHROMIUM) is missing and we are not root:" \
	      "SKIPPING the browser tests (run 'apt-get install chromium' as root)." >&2; \
	    exit 0; \
	  fi; \
	fi; \
	set -x; CHROMIUM=$(CHROMIUM) $(PY) -m pytest -m browser || [ $$? = 5 ]

notebooks: install
	$(PY) scripts/execute_notebooks.py $(NB)

bench: install
	$(PY) scripts/benchmark.py

lint: install
	$(VENV)/bin/ruff check hyperviz tests scripts
	$(VENV)/bin/ruff format --check hyperviz tests scripts

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache artifacts .bench
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
