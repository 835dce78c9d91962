# Every target creates .venv when missing: torch (CPU wheel) first, then the
# project with its dev extras, pinned by constraints.txt.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast bench lint

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/cvae-study demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

test-fast: lint
	$(BIN)/python -m pytest -m "not slow"

bench: $(STAMP)
	mkdir -p benchmarks
	$(BIN)/cvae-study bench text --out benchmarks/text-cpu.json
	$(BIN)/cvae-study bench sweep --out benchmarks/sweep-cpu.json
	$(BIN)/cvae-study bench video --out benchmarks/video-cpu.json
	$(BIN)/cvae-study bench search --landscape benchmarks/landscape-cpu/text-12-epochs.jsonl \
		--out benchmarks/search-cpu/search-12-epochs.json
