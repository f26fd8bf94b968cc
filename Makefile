# vaelab — make demo | make test | make docs | make bench | make web
# Everything runs in .venv with the tested pins of constraints.txt (torch==2.13.0 CPU build among them).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
STAMP  := $(VENV)/.installed
# The data: ../shared/data when it is there (this project's machines and CI), else the per-user cache
# (files are then downloaded with SHA-256 checks). Override with VAELAB_DATA=/path make demo.
VAELAB_DATA ?= $(if $(wildcard ../shared/data/mnist),$(abspath ../shared/data),)
export VAELAB_DATA
DEMO   := runs/demo
# onnxruntime-web (npm, pinned in web/package-lock.json): only the wasm backend files the explorer loads. Without
# them in the package, vaelab fetches the same files at run time from the npm registry (SHA-512 checked against
# src/vaelab/web/onnxruntime-web.json, which `make web` regenerates from the lockfile) into ~/.cache/vaelab.
VENDOR      := src/vaelab/web/vendor
ORT_DIST    := web/node_modules/onnxruntime-web/dist
ORT_FILES   := ort.wasm.min.mjs ort-wasm-simd-threaded.mjs ort-wasm-simd-threaded.wasm

.PHONY: demo test docs bench web data lint lint-web install clean help relay relay-status device-check emoji-faces fashion-mnist

help:
	@echo "make demo   train a 2-D VAE on MNIST, evaluate it, write its pictures, export the explorer"
	@echo "make test   install the dev extras, lint, build the manual and run the whole test suite"
	@echo "make docs   the manual (MkDocs, --strict) into build/docs/, with the live explorer of a small demo model"
	@echo "make bench  Burda's batch-20 step vs a bare and a hand-written loop (docs/guide/performance.md), training"
	@echo "           throughput vs a pytorch/examples-style loop, NLL wall time, memory"
	@echo "make web    install onnxruntime-web (npm, pinned) and copy its files into the package (developers; vaelab"
	@echo "           otherwise fetches the pinned files itself, SHA-512 checked, into ~/.cache/vaelab)"
	@echo "make emoji-faces  train (or resume) configs/emoji-faces-conv-vae.toml, evaluate it and write the figures and"
	@echo "           numbers of docs/guide/emoji-faces.md (docs/figures/emoji/, docs/results/emoji-faces-conv-vae/)"
	@echo "make fashion-mnist  the same for configs/fashion-mnist-vae.toml and docs/guide/fashion-mnist.md"
	@echo "make data   fetch the emoji sets (npm tarballs, SHA-512 checked) and decode them into the cache (the tests"
	@echo "           read them there; Fashion-MNIST comes from Debian's dataset-fashion-mnist, see .ci/run)"
	@echo "make lint   ruff (format and lint) on Python, the layer contract (import-linter), ESLint and Prettier on web/"
	@echo "make relay  continue the literature's long rows in the background (nice, one per core) from their"
	@echo "           snapshots in docs/results/<recipe>/relay; make relay-status shows how far they are;"
	@echo "           make relay-publish regenerates the leaderboard from them (commit both before stopping)"
	@echo "make device-check  on a CUDA machine: the GPU tests, GPU benchmarks, then the relays on the GPU (OUT=dir)"
	@echo "make lint-web  ESLint and Prettier (npm, pinned in web/package-lock.json) on the explorer page"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	@if [ -f $(DEMO)/config.json ]; then \
	  $(BIN)/vaelab train --name demo --resume --epochs 30; \
	else \
	  $(BIN)/vaelab train --name demo --latent-dim 2 --hidden 512,256 --epochs 30; \
	fi
	$(BIN)/vaelab evaluate $(DEMO)
	$(BIN)/vaelab sample $(DEMO) -n 64
	$(BIN)/vaelab reconstruct $(DEMO)
	@echo
	@echo "run directory:    $(DEMO)/  (vaelab info $(DEMO))"
	@echo "samples:          $(DEMO)/figures/samples.png"
	@echo "reconstructions:  $(DEMO)/figures/reconstructions.png"
	$(BIN)/vaelab export $(DEMO)
	$(BIN)/python -c "import sys; from vaelab.export.assets import main; sys.exit(main())"
	@echo
	@echo "open the explorer: $(BIN)/vaelab explore $(DEMO) --open"

test: install web lint data docs
	$(BIN)/python -m pytest -q

# The emoji sets: the npm tarballs emoji-datasource-{twitter,google} (pinned by their npm integrity in
# src/vaelab/data/catalog.py), fetched by Python from the npm registry and decoded once into the per-user cache
# ($$VAELAB_CACHE, else ~/.cache/vaelab: emoji/*.npz); the real-data tests read them from there.
data: install
	$(BIN)/python -c "from vaelab.data.emoji import main; raise SystemExit(main())"

# The manual. Its first page embeds the explorer of a small 2-D VAE: make demo's runs/demo when it has a
# checkpoint, else runs/docs-demo, trained here for a few epochs (about a minute on a 2-core CPU) and kept.
DOCS_RUN      = $(if $(wildcard $(DEMO)/checkpoints/last.pt),$(DEMO),runs/docs-demo)
DOCS_EXPLORER := build/docs-explorer
docs: install web
	@if [ "$(DOCS_RUN)" = runs/docs-demo ]; then \
	  if [ -f runs/docs-demo/config.json ]; then \
	    $(BIN)/vaelab train --name docs-demo --resume --no-progress; \
	  else \
	    $(BIN)/vaelab train --name docs-demo --latent-dim 2 --hidden 512,256 --epochs 8 --no-progress; \
	  fi; \
	fi
	$(BIN)/vaelab site $(DOCS_RUN) $(DOCS_EXPLORER)
	NO_MKDOCS_2_WARNING=1 VAELAB_DOCS_EXPLORER=$(DOCS_EXPLORER) $(BIN)/mkdocs build --strict
	@echo "the manual: build/docs/index.html (serve it over http, e.g. python3 -m http.server -d build/docs)"

# The lecture's faces on emoji (docs/guide/emoji-faces.md): the run resumes where it stopped (kill it any time; it
# writes a checkpoint every 5 minutes); every figure of the page is made by these commands, and the page's numbers are
# read by the docs build from the files copied into docs/results/emoji-faces-conv-vae/.
EMOJI      := runs/emoji-faces-conv-vae
EMOJI_FIGS := docs/figures/emoji
EMOJI_K    ?= 100
emoji-faces: install data
	@if [ -f $(EMOJI)/config.json ]; then \
	  $(BIN)/vaelab train --name emoji-faces-conv-vae --resume --checkpoint-every 5 --no-progress; \
	else \
	  $(BIN)/vaelab train --config configs/emoji-faces-conv-vae.toml --checkpoint-every 5 --no-progress; \
	fi
	$(BIN)/vaelab evaluate $(EMOJI) -k $(EMOJI_K) --samples 600 --no-progress
	mkdir -p $(EMOJI_FIGS) docs/results/emoji-faces-conv-vae
	$(BIN)/vaelab plot $(EMOJI) samples -n 48 --compact --out $(EMOJI_FIGS)/samples.png
	$(BIN)/vaelab plot $(EMOJI) reconstructions -n 16 --per-row 8 --compact --out $(EMOJI_FIGS)/reconstructions.png
	$(BIN)/vaelab plot $(EMOJI) interpolate --from-index 35 --to-index 34 --steps 10 --scale 2 --compact \
	  --out $(EMOJI_FIGS)/interpolation
	$(BIN)/vaelab plot $(EMOJI) traversals --index 35 --n-dims 8 --steps 9 --compact --out $(EMOJI_FIGS)/traversals.png
	$(BIN)/vaelab plot $(EMOJI) attributes --attributes skin_tone,smiling --per-contrast 3 --compact \
	  --out $(EMOJI_FIGS)/attributes.png
	$(BIN)/vaelab plot $(EMOJI) samples-per-epoch --max-rows 10 --compact --out $(EMOJI_FIGS)/samples-per-epoch.png
	$(BIN)/vaelab plot $(EMOJI) curves --compact --out $(EMOJI_FIGS)/curves.png
	cp $(EMOJI)/config.json $(EMOJI)/eval.json $(EMOJI)/metrics.jsonl docs/results/emoji-faces-conv-vae/

# A VAE on Fashion-MNIST (docs/guide/fashion-mnist.md), as emoji-faces above: train or resume, evaluate with the
# sample scores, draw the page's figures and copy the result files the docs build reads.
FASHION      := runs/fashion-mnist-vae
FASHION_FIGS := docs/figures/fashion-mnist
FASHION_K    ?= 1000
fashion-mnist: install
	@if [ -f $(FASHION)/config.json ]; then \
	  $(BIN)/vaelab train --name fashion-mnist-vae --resume --checkpoint-every 5 --no-progress; \
	else \
	  $(BIN)/vaelab train --config configs/fashion-mnist-vae.toml --checkpoint-every 5 --no-progress; \
	fi
	$(BIN)/vaelab evaluate $(FASHION) -k $(FASHION_K) --samples 1000 --no-progress
	mkdir -p $(FASHION_FIGS) docs/results/fashion-mnist-vae
	$(BIN)/vaelab plot $(FASHION) samples -n 64 --compact --out $(FASHION_FIGS)/samples.png
	$(BIN)/vaelab plot $(FASHION) reconstructions -n 16 --per-row 8 --compact --out $(FASHION_FIGS)/reconstructions.png
	$(BIN)/vaelab plot $(FASHION) curves --compact --out $(FASHION_FIGS)/curves.png
	cp $(FASHION)/config.json $(FASHION)/eval.json $(FASHION)/metrics.jsonl docs/results/fashion-mnist-vae/

lint: install lint-web
	$(BIN)/ruff format --check src tests benchmarks tools examples
	$(BIN)/ruff check src tests benchmarks tools examples
	$(BIN)/lint-imports

bench: install web
	$(BIN)/python benchmarks/bench_step.py
	$(BIN)/python benchmarks/render_performance.py bench-results/step.json
	$(BIN)/python benchmarks/bench_train.py
	$(BIN)/python benchmarks/bench_nll.py --k5000
	$(BIN)/python benchmarks/bench_explorer.py

# the literature's long rows (vaelab relay): snapshots under docs/results/<recipe>/relay, run folders under runs/relay
RELAY_SEED := $(if $(wildcard ../shared/relay),--from-runs ../shared/relay,)
relay: install
	$(BIN)/vaelab relay start $(RELAY_SEED)

relay-status: install
	$(BIN)/vaelab relay status

# before committing the snapshots: the leaderboard's "in progress" rows follow their status.json files, and a
# completed row (its result.json) reaches the leaderboard and the README's results block
relay-publish: install
	$(BIN)/vaelab leaderboard --readme README.md

# on a CUDA machine, with nothing but the repository and a CUDA PyTorch: results into $(OUT) (default device-check/)
OUT ?= device-check
MINUTES ?= 8
device-check:
	PYTHONPATH=src$${PYTHONPATH:+:$$PYTHONPATH} OUT=$(OUT) python3 benchmarks/device_check.py --minutes $(MINUTES)

web: $(addprefix $(VENDOR)/,$(ORT_FILES))

$(addprefix $(VENDOR)/,$(ORT_FILES)) &: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --ignore-scripts --prefer-offline
	mkdir -p $(VENDOR)
	cp $(addprefix $(ORT_DIST)/,$(ORT_FILES)) $(VENDOR)/
	$(PYTHON) web/ort_lock.py
	touch $(addprefix $(VENDOR)/,$(ORT_FILES))

# the linters are devDependencies in web/package.json: `make web` installs them with onnxruntime-web; npm ci
# again only when node_modules predates them
lint-web: web
	test -x web/node_modules/.bin/eslint -a -x web/node_modules/.bin/prettier || \
	  (cd web && npm ci --no-audit --no-fund --ignore-scripts)
	cd web && npm run lint

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache web/node_modules $(VENDOR)
