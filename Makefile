# The two commands a newcomer needs are `make demo` and `make test`; see README.md.
SHELL := /bin/bash
ifdef ODOO_SAAS_CACHE_DIR
CACHE_DIR := $(ODOO_SAAS_CACHE_DIR)
else
CACHE_DIR := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/odoo-saas-platform
endif
VENV ?= $(or $(ODOO_SAAS_VENV),$(CACHE_DIR)/venv)
PY := $(VENV)/bin/python
export PATH := $(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CACHE_DIR)/collections
PYTEST_ARGS ?=
# The migration scenario comes last: it migrates into the shared environment the others converge.
MOLECULE_SCENARIOS ?= dedicated shared migration

.PHONY: help deps collection-link lab-up lab-down lab-status demo demo-test test unit sanity lint integration molecule build ee-context

help:
	@echo "make demo   - install what is missing, start the lab, run playbooks/site.yml on inventories/lab"
	@echo "make test   - unit tests, ansible-test sanity, ansible-lint, make demo twice, integration tests on the lab, molecule"
	@echo "make lab-up | lab-down | lab-status"

deps:
	@bash scripts/bootstrap.sh

# Playbooks and tests find this checkout as the collection odoo_saas.platform through this link.
collection-link:
	@mkdir -p $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/odoo_saas
	@ln -sfn $(CURDIR) $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/odoo_saas/platform

lab-up: deps
	@$(PY) lab/labctl.py up

lab-down:
	@if [ -x $(PY) ]; then $(PY) lab/labctl.py down; else python3 lab/labctl.py down; fi

lab-status:
	@$(PY) lab/labctl.py status

# The shared environment, the dedicated one and the legacy migration, then one summary row per tenant.
# Run it again: every play reports changed=0.
demo: lab-up collection-link
	ANSIBLE_NOCOLOR=1 ansible-playbook -i inventories/lab playbooks/site.yml

unit: deps
	$(PY) -m pytest -q tests/unit $(PYTEST_ARGS)

sanity: deps
	bash scripts/sanity.sh

lint: deps
	ansible-lint --nocolor --profile production

# `make demo` twice on the fresh lab, before any other test writes to it (tests/integration/demo).
demo-test: lab-up collection-link
	$(PY) -m pytest -q -m demo tests/integration $(PYTEST_ARGS)

# Three groups: the parallel tests (2 workers) and, beside them, the tests that own the legacy VM (marker
# legacy_vm), one after the other in their order, whose output follows the parallel tests' when both ended; then
# the serial group, which reads server-wide counters. The legacy VM's tests check that processes are gone by pid
# and start time: the parallel tests' processes may reuse a pid.
integration: lab-up collection-link
	@legacy_log=$$(mktemp); \
	$(PY) -m pytest -q --durations=10 -m "legacy_vm and not serial and not demo" tests/integration $(PYTEST_ARGS) \
	  > $$legacy_log 2>&1 & legacy=$$!; \
	$(PY) -m pytest -q -n 2 --durations=15 -m "not legacy_vm and not serial and not demo" tests/integration $(PYTEST_ARGS); \
	parallel_rc=$$?; wait $$legacy; legacy_rc=$$?; \
	echo "--- the legacy VM's tests (run beside the parallel tests): exit $$legacy_rc"; cat $$legacy_log; rm -f $$legacy_log; \
	[ $$parallel_rc = 0 ] && [ $$legacy_rc = 0 ]
	$(PY) -m pytest -q --durations=10 -m serial tests/integration $(PYTEST_ARGS)

# reset first: molecule keeps `prepared: true` in ~/.ansible/tmp across runs from the same path, and its test
# sequence has no destroy, so a second run would skip prepare (the dedicated scenario's shared cluster, hooli's reset).
molecule: lab-up collection-link
	@for s in $(MOLECULE_SCENARIOS); do molecule reset -s $$s >/dev/null && molecule test -s $$s || exit 1; done

build: deps
	@mkdir -p $(CACHE_DIR)/build
	ansible-galaxy collection build --force --output-path $(CACHE_DIR)/build .
	rm -rf $(CACHE_DIR)/build/installed
	ANSIBLE_COLLECTIONS_PATH=$(CACHE_DIR)/build/installed ansible-galaxy collection install --no-deps \
	  -p $(CACHE_DIR)/build/installed $(CACHE_DIR)/build/odoo_saas-platform-*.tar.gz
	ANSIBLE_COLLECTIONS_PATH=$(CACHE_DIR)/build/installed ansible-galaxy collection verify --offline \
	  -p $(CACHE_DIR)/build/installed odoo_saas.platform

# The execution environment's build context (awx/execution-environment.yml), with this checkout built into it.
# Needs no container engine; build the image from it with `podman build` or `docker build`.
EE_CONTEXT ?= $(CACHE_DIR)/ee-context
ee-context: deps
	@rm -rf awx/build $(CACHE_DIR)/build/ee && mkdir -p awx/build $(CACHE_DIR)/build/ee
	ansible-galaxy collection build --force --output-path $(CACHE_DIR)/build/ee .
	cp $(CACHE_DIR)/build/ee/odoo_saas-platform-*.tar.gz awx/build/odoo_saas-platform.tar.gz
	ansible-builder create -f awx/execution-environment.yml -c $(EE_CONTEXT) --output-filename Containerfile
	@echo "build the image with: podman build -t odoo-saas-ee:0.1.0 $(EE_CONTEXT)"

test: deps unit sanity lint build demo-test integration molecule
	@echo "make test: all stages passed"
