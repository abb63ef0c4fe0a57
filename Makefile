# polyad: the two commands a new user needs are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# pytest-xdist spreads the suite over the machine's cores.
JOBS ?= auto

DATASET ?= medium
THREADS ?= 1
FUZZ_EXAMPLES ?= 10000
FUZZ_SHARDS ?= 100
FUZZ_SEED ?= 1
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: install demo test test-all fuzz sanitize bench bench-budget bench-explored clean

# pyproject's package-dir maps frontend/ and codegen/ into polyad, so setuptools
# installs the editable package through an import hook and says so in an
# informational warning block ("!! ... Please be careful with folders in your
# working directory with the same name as your package ..."). Run from the
# checkout, the folder of that name is polyad/ itself, the folder the hook
# maps (polyad.frontend and polyad.codegen still resolve through it). The
# warning is informational and caused by the layout the wheel needs, not by a
# field pyproject.toml could write otherwise: only that message is filtered,
# every other warning of the build still shows.
EDITABLE_QUIET := PYTHONWARNINGS="ignore:Editable installation"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(EDITABLE_QUIET) $(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	POLYAD=$(BIN)/polyad PYTHON=$(BIN)/python examples/demo.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -n $(JOBS) -m ''

# Ten thousand random kernels through random paths (layouts, schedules,
# threads) against the oracles; the suite runs 300 (seed 0). A failure names
# its seed and shard; FUZZ_SEED=2 draws other kernels.
fuzz: $(STAMP)
	POLYAD_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) POLYAD_FUZZ_SHARDS=$(FUZZ_SHARDS) \
	POLYAD_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/python -m pytest -q -n $(JOBS) -p no:cacheprovider \
	tests/polyad/test_fuzz.py

# Every example in every layout (checkpoint with the default schedule, the only one it takes), with and without --schedule auto, checked by
# `polyad check` with the generated code also run under AddressSanitizer and
# UBSan (POLYAD_SANITIZE=1, see docs/cli.md). Prints each failure, then fails.
SANITIZE_LAYOUTS ?= exact stack regions stream layers checkpoint
SANITIZE_SCHEDULES ?= none auto
SANITIZE_EXAMPLES ?= $(wildcard examples/*.c) tests/kernels/heat2d.c
sanitize: $(STAMP)
	@failed=0; for kernel in $(SANITIZE_EXAMPLES); do \
	  for layout in $(SANITIZE_LAYOUTS); do for schedule in $(SANITIZE_SCHEDULES); do \
	    if [ $$layout = checkpoint ] && [ $$schedule != none ]; then continue; fi; \
	    if POLYAD_SANITIZE=1 timeout 600 $(BIN)/polyad check $$kernel --layout $$layout \
	        --schedule $$schedule > /tmp/polyad-sanitize.$$$$ 2>&1; then \
	      echo "ok      $$kernel --layout $$layout --schedule $$schedule"; \
	    elif grep -q "layers layout does not stage gathers" /tmp/polyad-sanitize.$$$$; then \
	      echo "n/a     $$kernel --layout $$layout (it refuses gathers by design)"; \
	    else \
	      echo "FAILED  $$kernel --layout $$layout --schedule $$schedule"; \
	      sed 's/^/        /' /tmp/polyad-sanitize.$$$$; failed=$$((failed + 1)); \
	    fi; \
	  done; done; done; rm -f /tmp/polyad-sanitize.$$$$; \
	echo "$$failed failed"; test $$failed -eq 0

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(EDITABLE_QUIET) $(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# Every example against the stack baseline, JAX and (with ENZYME_PLUGIN and
# CLANG set, in the environment or on the command line) Enzyme:
# bench/out/results.{csv,md,png,json}; then gradient time against memory
# budget on the time-stepping examples: bench/out/budget.{md,png,json}
# (alone: make bench-budget). See docs/benchmarks.md.
export ENZYME_PLUGIN CLANG
bench: $(BENCH_STAMP)
	$(MAKE) -C bench run budget PYTHON=$(abspath $(BIN)/python) DATASET=$(DATASET) \
	  THREADS=$(THREADS)

bench-budget: $(BENCH_STAMP)
	$(MAKE) -C bench budget PYTHON=$(abspath $(BIN)/python) DATASET=$(DATASET) \
	  THREADS=$(THREADS)

# polyad explore (TPE) against auto and random search, EXPLORE_TRIALS trials
# each per kernel: bench/out/explored.{md,json}. See docs/benchmarks.md.
EXPLORE_TRIALS ?= 40
EXPLORE_KERNELS ?= gemm,syr2k,lu,jacobi_2d,conv2d,softmax,adi
bench-explored: $(BENCH_STAMP)
	$(BIN)/python bench/explored.py --dataset $(DATASET) --threads $(THREADS) \
	  --trials $(EXPLORE_TRIALS) --kernels $(EXPLORE_KERNELS) --out bench/out

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis bench/out
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
