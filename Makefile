# selfheal — the two set-up commands of the README are `make demo` and `make test`.
# Everything is installed into .venv from the project's own files (pyproject.toml + constraints.txt).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint typecheck unit tf-checks bench clean venv awscli

$(BIN)/selfheal: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(BIN)/selfheal

## The main job: start the local cloud, apply deploy/fragile with real Terraform, watch the loop heal itself.
demo: venv
	$(BIN)/selfheal demo

# The aws CLI pins its own botocore, so it gets its own venv (used by tests/functional/test_aws_cli.py).
$(VENV)-awscli/bin/aws:
	$(PYTHON) -m venv $(VENV)-awscli
	$(VENV)-awscli/bin/python -m pip install --quiet 'awscli==1.46.3'

awscli: $(VENV)-awscli/bin/aws

## The test suite: lint, types, unit + functional + e2e tests, Terraform fmt and checkov.
test: venv awscli lint typecheck
	bash scripts/tf_checks.sh
	$(BIN)/python -m pytest -n 2 --dist loadfile --no-loadscope-reorder -m "not serial" --durations=25
	$(BIN)/python -m pytest -m serial --durations=5

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: venv
	$(BIN)/mypy

bench: venv
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(VENV)-awscli .venv-checkov .selfheal .pytest_cache .mypy_cache .ruff_cache
