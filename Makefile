# Vorgang: the commands of the README.
#
#   make run    install, migrate, load demo data, serve on http://127.0.0.1:8000
#   make test   install, lint, type check, run the whole test suite
#
# Everything is installed into the work tree: Python packages into .venv/,
# front-end packages into node_modules/ (their dist files copied into
# src/vorgang/static/vendor/). Stamp files make a second `make install` a no-op
# until pyproject.toml, package.json or package-lock.json change.
# System packages (gettext for msgfmt, chromium for the browser tests) are
# installed with apt-get when missing and make runs as root; otherwise the
# target says what to install.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PKG := src/vorgang
VENDOR := $(PKG)/static/vendor
LOCALE := $(PKG)/locale
KERN_DIST := node_modules/@kern-ux/native/dist
HTMX_DIST := node_modules/htmx.org/dist
SWAGGER_DIST := node_modules/swagger-ui-dist
CHROMIUM ?= /usr/bin/chromium

PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
VENDOR_FILES := $(VENDOR)/kern/kern.min.css $(VENDOR)/htmx/htmx.min.js \
	$(VENDOR)/swagger-ui/swagger-ui-bundle.js

PO_FILES := $(wildcard $(LOCALE)/*/LC_MESSAGES/*.po)
MO_FILES := $(PO_FILES:.po=.mo)

PYTEST_ARGS ?=

# $(call apt_install,PACKAGES,WHAT): install Debian packages when root, else fail
# with a clear message.
apt_install = if [ "$$(id -u)" -eq 0 ]; then echo "==> apt-get install $(1) ($(2) is missing)"; export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q --no-install-recommends $(1) || { apt-get update -q && apt-get install -y -q --no-install-recommends $(1); }; else echo "error: $(2) is missing. Install it with: sudo apt-get install $(1)" >&2; exit 1; fi

.PHONY: help install run test test-deps lint format bench messages clean

help:
	@echo "make run       install, migrate, load demo data and serve http://127.0.0.1:8000"
	@echo "make test      install, lint, type check and run the test suite"
	@echo "make install   .venv/ (pip install -e '.[dev]'), npm packages, static/vendor/, .mo files"
	@echo "make lint      ruff check, ruff format --check, mypy"
	@echo "make format    ruff format and ruff check --fix"
	@echo "make bench     run the benchmarks in bench/"
	@echo "make messages  update the .po files (de, en) and compile them"
	@echo "make clean     remove .venv/, node_modules/, static/vendor/ and caches (keeps var/)"

# --------------------------------------------------------------------- install

install: $(PY_STAMP) $(VENDOR_FILES) $(MO_FILES)

$(PY_STAMP): pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
		echo "==> $(PYTHON) -m venv $(VENV)"; \
		if ! $(PYTHON) -m venv $(VENV); then \
			rm -rf $(VENV); \
			$(call apt_install,python3-venv,the Python venv module); \
			$(PYTHON) -m venv $(VENV); \
		fi; \
	fi
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $@

$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm is missing (Debian: apt-get install npm)" >&2; exit 1; }
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

# KERN UX: the stylesheets, their fonts (referenced as ./fonts/... by the font
# stylesheets) and the Kopfzeile web component. The icons are data: URIs inside
# kern.min.css, so nothing else is needed.
$(VENDOR)/kern/kern.min.css: $(NODE_STAMP)
	rm -rf $(VENDOR)/kern
	mkdir -p $(VENDOR)/kern/js
	cp $(KERN_DIST)/kern.min.css $(KERN_DIST)/kern-utilities.min.css $(KERN_DIST)/kern-grid.min.css $(VENDOR)/kern/
	cp -R $(KERN_DIST)/fonts $(VENDOR)/kern/fonts
	cp $(KERN_DIST)/js/kern-kopfzeile.js $(VENDOR)/kern/js/
	cp node_modules/@kern-ux/native/LICENSE.md $(VENDOR)/kern/LICENSE.md
	@touch $@

$(VENDOR)/htmx/htmx.min.js: $(NODE_STAMP)
	rm -rf $(VENDOR)/htmx
	mkdir -p $(VENDOR)/htmx
	cp $(HTMX_DIST)/htmx.min.js $(VENDOR)/htmx/
	cp node_modules/htmx.org/LICENSE $(VENDOR)/htmx/LICENSE
	@touch $@

# Swagger UI for the API docs page (/api/docs): the bundle and its stylesheet only;
# the page's own script (api/static/api/docs.js) starts it without the standalone
# preset, so nothing else is loaded.
$(VENDOR)/swagger-ui/swagger-ui-bundle.js: $(NODE_STAMP)
	rm -rf $(VENDOR)/swagger-ui
	mkdir -p $(VENDOR)/swagger-ui
	cp $(SWAGGER_DIST)/swagger-ui-bundle.js $(SWAGGER_DIST)/swagger-ui.css $(VENDOR)/swagger-ui/
	cp $(SWAGGER_DIST)/LICENSE $(SWAGGER_DIST)/NOTICE $(VENDOR)/swagger-ui/
	@touch $@

# Translations: the .po files are committed, the .mo files are built here (the
# same `msgfmt --check-format` that Django's compilemessages runs). Without
# msgfmt and without root the UI falls back to the untranslated strings.
%.mo: %.po
	@if ! command -v msgfmt >/dev/null; then \
		if [ "$$(id -u)" -eq 0 ]; then $(call apt_install,gettext,msgfmt (GNU gettext)); \
		else echo "warning: msgfmt missing (apt-get install gettext): $@ not compiled" >&2; exit 0; fi; \
	fi; \
	echo "msgfmt $<"; msgfmt --check-format -o $@ $<

# ------------------------------------------------------------------------- run

run: install
	$(BIN)/vorgang migrate --noinput
	$(BIN)/vorgang demo
	$(BIN)/vorgang serve

# ------------------------------------------------------------------------ test

test: install test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# The browser tests drive Debian's Chromium through Playwright (no browser
# download). The IMAP tests start Debian's Dovecot on private ports with a
# throwaway config (pytest alone skips them, with the reason, where Dovecot is
# missing; under CI=true they fail instead).
DOVECOT ?= /usr/sbin/dovecot
test-deps:
	@if [ ! -x $(CHROMIUM) ]; then $(call apt_install,chromium,$(CHROMIUM)); fi
	@if [ ! -x $(DOVECOT) ]; then $(call apt_install,dovecot-imapd,$(DOVECOT)); fi

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

bench: install
	@if ! compgen -G 'bench/*.py' >/dev/null; then echo "no benchmarks yet"; exit 0; fi; \
	for f in bench/*.py; do echo "==> $$f"; $(BIN)/python "$$f"; done

# makemessages and compilemessages run inside the package so that they walk
# only its files (not .venv/ or node_modules/).
messages: install
	@if ! command -v msgfmt >/dev/null; then $(call apt_install,gettext,msgfmt (GNU gettext)); fi
	mkdir -p $(LOCALE)
	cd $(PKG) && VORGANG_DATA_DIR="$(CURDIR)/var" "$(CURDIR)/$(BIN)/vorgang" makemessages -l de -l en --ignore 'static/*'
	cd $(PKG) && VORGANG_DATA_DIR="$(CURDIR)/var" "$(CURDIR)/$(BIN)/vorgang" compilemessages

clean:
	rm -rf $(VENV) node_modules $(VENDOR) .pytest_cache .mypy_cache .ruff_cache build dist test-results
	rm -rf src/*.egg-info *.egg-info
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true
	find $(LOCALE) -name '*.mo' -delete 2>/dev/null || true
