# infrakt.backup task runner. `make demo` runs the main job on the local test bench,
# `make test` runs every check CI runs. Both bootstrap what they need first.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: bootstrap test lint sanity unit integration molecule demo testbed-up testbed-down wheel collection bench clean

bootstrap:
	@scripts/bootstrap.sh

test: bootstrap lint sanity
	$(BIN)/pytest -n 2 --dist loadgroup --durations=30 tests

lint: bootstrap
	$(BIN)/ruff check wrapper plugins tests bench
	$(BIN)/yamllint -s .
	$(BIN)/ansible-lint --profile production

# ansible-test sanity on the collection as it ships (validate-modules, pep8, pylint, compile, …)
sanity: bootstrap
	@scripts/sanity.sh

unit: bootstrap
	$(BIN)/pytest tests/unit

integration: bootstrap
	$(BIN)/pytest tests/integration

molecule: bootstrap
	$(BIN)/pytest -m molecule tests

demo: bootstrap
	@scripts/demo.sh

testbed-up: bootstrap
	@$(BIN)/python -m tests.testbed up

testbed-down: bootstrap
	@$(BIN)/python -m tests.testbed down

wheel: bootstrap
	$(BIN)/python -m build --wheel --outdir dist .

collection: bootstrap
	$(BIN)/ansible-galaxy collection build --force --output-path dist .

bench: bootstrap
	$(BIN)/python -m bench.upload_overhead

clean:
	rm -rf dist build .pytest_cache .ruff_cache
