PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test bench experiments clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

# After installing, the compiled kernels (nnlab.engine.kernels) are built once into numba's cache,
# so that no run pays their compile time.
KERNELS := $(BIN)/python -c 'from nnlab.engine import kernels; kernels.compile_all()'

$(VENV)/.full: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[full]'
	$(KERNELS)
	touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[full,test]'
	$(KERNELS)
	touch $@

## make run: install and run the main job (train the default network on the bundled digits)
run: $(VENV)/.full
	$(BIN)/nnlab train

## make test: install with test extras and run the whole suite
test: $(VENV)/.test
	$(BIN)/python -m pytest -q -n 2

## make bench: nnlab against PyTorch on the same workloads, medians and ratios
bench: $(VENV)/.test
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/python -m benchmarks.run

## make experiments: every claim of the notes, full runs on all seeds (under 30 min on 2 cores);
## the lab report in runs/experiments, the results in docs/experiments.md
experiments: $(VENV)/.full
	$(BIN)/nnlab experiments run --all --jobs 2 --out runs/experiments --markdown docs/experiments.md

clean:
	rm -rf $(VENV) runs .pytest_cache
