# Two commands for a newcomer: `make html` (execute the book, build its HTML)
# and `make test` (the test suite). Each sets itself up on a fresh machine.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
VENV ?= .venv
PY := $(abspath $(VENV))/bin/python
STAMP := $(VENV)/.installed
# d2lbook and nbval start kernels and tools from PATH: use the venv's.
export PATH := $(abspath $(VENV))/bin:$(PATH)
export MPLBACKEND ?= Agg
export PYTHONHASHSEED := 0
# The models are tiny: one thread per process is as fast, and two chapters
# executing side by side do not fight over the two cores.
export OMP_NUM_THREADS ?= 1
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
NOTEBOOKS = _build/eval/chapter_hpo
# On a GPU, numerics differ from the outputs stored by the CPU build:
# `make test NBVAL_FLAGS=--nbval-lax` then checks that every cell runs.
NBVAL_FLAGS ?= --nbval

.PHONY: setup apt-html lib lib-check unit eval nbval test html pdf \
        chapter-times bench-simulator bench-parallel clean

# ---------------------------------------------------------------- set-up
$(STAMP): setup.py
	@python3 -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -q \
	  && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  python3-venv; }
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade 'pip>=23'
	# The CPU wheel of PyTorch that these machines offer; any other spec
	# pulls several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(STAMP)

apt-html:
	@command -v pandoc >/dev/null || { $(SUDO) apt-get update -q && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	  pandoc; }

# ---------------------------------------------------------------- library
lib: setup            ## regenerate d2lhpo/book.py from the chapters
	$(PY) tools/build_lib.py

lib-check: setup      ## fail if d2lhpo/book.py differs from the chapters
	$(PY) tools/build_lib.py --check

# ---------------------------------------------------------------- book
eval: setup           ## execute every chapter into _build/eval
	d2lbook build eval
	$(PY) tools/check_eval.py $(NOTEBOOKS)

html: setup apt-html eval
	d2lbook build html
	@echo "The book is in _build/html/index.html"

pdf: setup
	@echo "The PDF build is delivered by a later issue (see README)."; exit 1

# ---------------------------------------------------------------- tests
unit: setup lib-check
	$(PY) -m pytest tests -q

nbval: eval           ## re-execute the chapters and compare outputs
	$(PY) -m pytest $(NBVAL_FLAGS) $(NOTEBOOKS) -q -p no:cacheprovider \
	  --nbval-cell-timeout=300

test: unit nbval

chapter-times: setup  ## time each chapter's execution
	$(PY) benchmarks/chapter_times.py

bench-parallel: setup  ## throughput and overhead of the parallel backends
	$(PY) benchmarks/parallel_speed.py

bench-simulator: setup  ## simulator speed, side by side with Syne Tune 0.16
	$(PY) -m pip install --quiet -e '.[compare]'
	$(PY) benchmarks/simulator_speed.py

clean:
	rm -rf _build
