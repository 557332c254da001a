"""AWX as code (awx/): every file parses, every job template runs a playbook that exists with variables that the
roles declare (same choices, same types), and the execution environment is valid for ansible-builder 3 and builds
a context with this collection, the repository's Python requirements and the system packages in it.

Nothing here is skipped: a missing playbook or role spec is a failure, whatever branch the test runs on.
"""

import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible_builder.ee_schema import validate_schema
from bindep.depends import Depends
from packaging.requirements import Requirement
from packaging.version import Version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(REPO, "awx")
VENV_BIN = os.path.dirname(sys.executable)

# Variables a job may set that no role declares: the run's own (magic) variables. The tenant is not one of them:
# it is the Limit (ask_limit_on_launch), which AWX passes as --limit, never as a variable.
MAGIC_VARS = {"ansible_limit", "ansible_check_mode", "ansible_diff_mode", "ansible_verbosity", "ansible_run_tags",
              "ansible_skip_tags", "ansible_play_hosts"}
SURVEY_TYPES = {  # AWX's survey question types, and the argument_specs types each may feed
    "text": {"str", "raw"}, "textarea": {"str", "raw"}, "password": {"str", "raw"},
    "multiplechoice": {"str", "raw"}, "multiselect": {"list", "raw"},
    "integer": {"int", "raw"}, "float": {"float", "raw"},
}
TEMPLATE_KEYS = {"name", "description", "playbook", "inventory", "project", "execution_environment", "credentials",
                 "survey_enabled"}
# The system tools a backup, a restore and a legacy migration run, by package name on each packaging system.
SYSTEM_TOOLS = {
    ("platform:rpm",): {"postgresql", "openssh-clients", "rsync", "redis"},
    ("platform:dpkg",): {"postgresql-client", "openssh-client", "rsync", "redis-tools"},
}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def awx_files():
    return sorted(p for p in glob.glob(os.path.join(AWX, "**", "*"), recursive=True)
                  if os.path.isfile(p) and os.sep + "build" + os.sep not in p[len(AWX):])


@pytest.fixture(scope="module")
def controller():
    return load(os.path.join(AWX, "job_templates.yml"))


@pytest.fixture(scope="module")
def role_options():
    """{option: [(role, entry point, spec)]} from every roles/*/meta/argument_specs.yml."""
    specs = sorted(glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml")))
    assert specs, "no roles/*/meta/argument_specs.yml: the job templates' variables have nothing to be checked against"
    options = {}
    for path in specs:
        role = path.split(os.sep)[-3]
        for entry, spec in (load(path) or {}).get("argument_specs", {}).items():
            for name, option in (spec.get("options") or {}).items():
                options.setdefault(name, []).append((role, entry, option or {}))
    return options


def declared(role_options, variable, where):
    assert variable in role_options or variable in MAGIC_VARS, (
        f"{where}: variable {variable!r} is declared in no role's meta/argument_specs.yml")
    return role_options.get(variable, [])


# ----------------------------------------------------------------------------------------------- every file

def test_every_file_under_awx_parses():
    files = awx_files()
    names = {os.path.relpath(p, AWX) for p in files}
    assert {"execution-environment.yml", "bindep.txt", "requirements.yml", "job_templates.yml",
            "configure_awx.yml"} <= names, names
    for path in files:
        if path.endswith((".yml", ".yaml")):
            assert load(path) is not None, path
        elif path.endswith("bindep.txt"):
            with open(path, encoding="utf-8") as handle:
                assert Depends(handle.read())._rules, path  # pylint: disable=protected-access
        else:
            pytest.fail(f"{path}: a file the test does not know how to check; add a check for it")


# ---------------------------------------------------------------------------------------- job templates

def test_job_templates_are_complete_and_consistent(controller):
    templates = controller["job_templates"]
    credentials = {c["name"]: c for c in controller["credentials"]}
    assert {c["credential_type"] for c in credentials.values()} == {
        "Microsoft Azure Resource Manager", "Machine"}
    names = [t["name"] for t in templates]
    assert len(names) == len(set(names)), names
    for template in templates:
        where = f"job template {template['name']!r}"
        assert TEMPLATE_KEYS <= set(template), (where, TEMPLATE_KEYS - set(template))
        assert template["project"] == controller["project"]["name"], where
        assert template["inventory"] == controller["inventory"]["name"], where
        assert template["execution_environment"] == controller["execution_environment"]["name"], where
        assert set(template["credentials"]) <= set(credentials), (where, template["credentials"])
        assert template["survey_enabled"] == ("survey_spec" in template), where
        assert "ask_limit_on_launch" in template or "limit" in template, where


def test_every_playbook_exists(controller):
    for template in controller["job_templates"]:
        path = os.path.join(REPO, template["playbook"])
        assert template["playbook"].startswith("playbooks/") and os.path.isfile(path), (
            f"job template {template['name']!r} runs {template['playbook']!r}, which is not in playbooks/")
        assert isinstance(load(path), list), path  # a playbook is a list of plays


def test_templates_that_act_on_one_host_refuse_a_launch_without_a_limit(controller):
    """A tenant template launched without a Limit must fail, not act on every host: its default limit `!all`
    matches no host, and ansible-playbook stops with "no hosts to target"."""
    tenant_templates = [t for t in controller["job_templates"] if t["playbook"] == "playbooks/tenant.yml"]
    assert len(tenant_templates) == 4
    for template in tenant_templates:
        assert template.get("ask_limit_on_launch") is True and template.get("limit") == "!all", template["name"]


def test_the_migration_template_names_its_vm_in_a_required_survey_answer_not_a_limit(controller):
    """A Limit of the VM would drop the plays of its tenant (added by add_host, which does not bypass --limit): the
    VM is the required survey answer migration_vm, and the playbook refuses one that is not in legacy_vms."""
    template = next(t for t in controller["job_templates"] if t["playbook"] == "playbooks/migrate_legacy_vm.yml")
    assert template["ask_limit_on_launch"] is False and not template.get("limit"), template["name"]
    question = next(q for q in template["survey_spec"]["spec"] if q["variable"] == "migration_vm")
    assert question["required"] is True and question["type"] == "text" and not question.get("default")
    plays = load(os.path.join(REPO, template["playbook"]))
    guard = plays[0]["tasks"][0]
    assert plays[0]["hosts"] == "localhost" and "ansible.builtin.assert" in guard
    assert "groups['legacy_vms']" in guard["vars"]["vms"] and "migration_vm" in guard["vars"]["selected"]
    assert all(p["hosts"] in ("localhost", "legacy_migration_tenants") or "migration_vm" in p["hosts"]
               for p in plays), [p["hosts"] for p in plays]


def test_extra_vars_are_declared_with_valid_values(controller, role_options):
    for template in controller["job_templates"]:
        for variable, value in (template.get("extra_vars") or {}).items():
            where = f"job template {template['name']!r}, extra var {variable}"
            for role, entry, option in declared(role_options, variable, where):
                if option.get("choices"):
                    assert str(value) in [str(c) for c in option["choices"]], (
                        f"{where}={value!r} is not among {role}:{entry}'s choices {option['choices']}")
                if option.get("type", "str") == "str":
                    assert isinstance(value, str), (where, value)


def test_every_tenant_state_has_a_template(controller, role_options):
    states = [t["extra_vars"]["tenant_state"] for t in controller["job_templates"]
              if t["playbook"] == "playbooks/tenant.yml"]
    assert len(states) == len(set(states)), states
    choices = {str(c) for _r, _e, option in role_options["tenant_state"] for c in option.get("choices", [])}
    assert set(states) == choices == {"onboard", "upgrade", "suspend", "offboard"}, (states, choices)


def test_surveys_are_valid_and_declared(controller, role_options):
    surveys = 0
    for template in controller["job_templates"]:
        survey = template.get("survey_spec")
        if survey is None:
            continue
        surveys += 1
        assert {"name", "description", "spec"} <= set(survey), template["name"]
        variables = [q["variable"] for q in survey["spec"]]
        assert len(variables) == len(set(variables)), variables
        fixed = set(template.get("extra_vars") or {})
        assert not fixed & set(variables), f"{template['name']!r} both fixes and asks {fixed & set(variables)}"
        for question in survey["spec"]:
            where = f"job template {template['name']!r}, survey variable {question.get('variable')}"
            assert {"question_name", "variable", "type", "required"} <= set(question), where
            assert re.match(r"^[a-z_][a-z0-9_]*$", question["variable"]), where
            assert question["type"] in SURVEY_TYPES, (where, question["type"])
            choices = question.get("choices")
            if question["type"] in ("multiplechoice", "multiselect"):
                assert isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices), where
                if question.get("default") not in (None, ""):
                    assert question["default"] in choices, (where, question["default"])
            else:
                assert not choices, f"{where}: choices on a {question['type']} question"
            for role, entry, option in declared(role_options, question["variable"], where):
                assert option.get("type", "str") in SURVEY_TYPES[question["type"]], (
                    f"{where}: a {question['type']} answer for {role}:{entry}'s {option.get('type', 'str')} option")
                if option.get("choices"):
                    assert choices, f"{where}: {role}:{entry} limits it to {option['choices']}; ask a multiplechoice"
                    assert set(choices) == {str(c) for c in option["choices"]}, (
                        f"{where}: the survey offers {choices}, {role}:{entry} accepts {option['choices']}")
    assert surveys >= 2


def test_upgrade_and_migration_surveys_ask_what_the_issue_asks(controller):
    by_name = {t["name"]: t for t in controller["job_templates"]}
    upgrade = {q["variable"]: q for q in by_name["Tenant: upgrade"]["survey_spec"]["spec"]}
    assert upgrade["tenant_odoo_version"]["choices"] == ["15.0", "16.0", "17.0", "18.0", "19.0"]
    assert upgrade["tenant_odoo_version"]["required"] is True and upgrade["tenant_image_tag"]["required"] is False
    migrate = {q["variable"]: q for q in by_name["Legacy VM: migrate or roll back"]["survey_spec"]["spec"]}
    assert migrate["migration_action"]["choices"] == ["migrate", "rollback"]
    assert by_name["Backups: verify"]["playbook"] == "playbooks/verify_backups.yml"


def test_configure_playbook_applies_the_definitions_with_mocked_awx_modules(controller):
    plays = load(os.path.join(AWX, "configure_awx.yml"))
    assert plays[0]["vars_files"] == ["job_templates.yml"]
    modules = {key for task in plays[0]["tasks"] for key in task if key.startswith("awx.awx.")}
    assert {"awx.awx.job_template", "awx.awx.credential", "awx.awx.project"} <= modules
    lint = load(os.path.join(REPO, ".ansible-lint"))
    assert modules <= set(lint.get("mock_modules", [])), modules - set(lint.get("mock_modules", []))
    template_task = next(t for t in plays[0]["tasks"] if "awx.awx.job_template" in t)
    used = set(re.findall(r"item\.(\w+)", yaml.safe_dump(template_task["awx.awx.job_template"])))
    assert used <= TEMPLATE_KEYS | {"limit", "ask_limit_on_launch", "extra_vars", "survey_spec"}, used
    for template in controller["job_templates"]:
        assert set(template) <= used | {"name"}, (template["name"], set(template) - used)


# ------------------------------------------------------------------------------------ execution environment

@pytest.fixture(scope="module")
def ee():
    return load(os.path.join(AWX, "execution-environment.yml"))


def test_execution_environment_is_valid_for_ansible_builder_3(ee):
    assert ee["version"] == 3
    validate_schema(ee)  # ansible-builder's own schema; raises DefinitionError
    assert ee["images"]["base_image"]["name"]


def test_execution_environment_pins_ansible_core_as_the_repository_does(ee):
    with open(os.path.join(REPO, "requirements-dev.txt"), encoding="utf-8") as handle:
        ours = next(Requirement(line.strip()) for line in handle if line.startswith("ansible-core"))
    pinned = Requirement(ee["dependencies"]["ansible_core"]["package_pip"])
    assert pinned.name == "ansible-core" and pinned.specifier == ours.specifier, (pinned, ours)
    for version in ("2.17.0", "2.19.9"):
        assert Version(version) in pinned.specifier
    assert Version("2.20.0") not in pinned.specifier
    assert ee["dependencies"]["ansible_runner"]["package_pip"].startswith("ansible-runner")


def test_execution_environment_dependencies(ee):
    deps = ee["dependencies"]
    assert os.path.normpath(os.path.join(AWX, deps["python"])) == os.path.join(REPO, "requirements.txt")
    with open(os.path.join(AWX, deps["system"]), encoding="utf-8") as handle:
        bindep = Depends(handle.read())
    for profiles, wanted in SYSTEM_TOOLS.items():
        assert {rule[0] for rule in bindep.active_rules(list(profiles))} == wanted, profiles
    galaxy = load(os.path.join(AWX, deps["galaxy"]))["collections"]
    assert "kubernetes.core" in [c["name"] for c in galaxy]
    ours = [c for c in galaxy if c.get("type") == "file"]
    assert len(ours) == 1, galaxy
    shipped = {f"/build/{f['dest']}/{os.path.basename(f['src'])}" for f in ee["additional_build_files"]}
    assert ours[0]["name"] in shipped, (ours, shipped)


def test_ansible_builder_creates_the_build_context(ee, tmp_path):
    """`ansible-builder create` (no container engine) on a copy of awx/ with this collection built into it."""
    repo = tmp_path / "repo"
    shutil.copytree(AWX, repo / "awx", ignore=shutil.ignore_patterns("build"))
    shutil.copy(os.path.join(REPO, "requirements.txt"), repo / "requirements.txt")
    src = next(f["src"] for f in ee["additional_build_files"] if f["src"].endswith(".tar.gz"))
    built = tmp_path / "built"
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(built),
                    REPO], check=True, capture_output=True, text=True)
    (repo / "awx" / os.path.dirname(src)).mkdir(parents=True)
    shutil.copy(next(built.glob("odoo_saas-platform-*.tar.gz")), repo / "awx" / src)

    context = tmp_path / "context"
    done = subprocess.run([os.path.join(VENV_BIN, "ansible-builder"), "create", "-f",
                           str(repo / "awx" / "execution-environment.yml"), "-c", str(context),
                           "--output-filename", "Containerfile"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    build = context / "_build"
    assert (build / "collections" / os.path.basename(src)).is_file()
    with open(os.path.join(REPO, "requirements.txt"), encoding="utf-8") as handle:
        assert (build / "requirements.txt").read_text(encoding="utf-8") == handle.read()
    assert (build / "bindep.txt").is_file() and (build / "requirements.yml").is_file()
    containerfile = (context / "Containerfile").read_text(encoding="utf-8")
    assert f'ARG EE_BASE_IMAGE="{ee["images"]["base_image"]["name"]}"' in containerfile
    assert ee["dependencies"]["ansible_core"]["package_pip"] in containerfile
    assert "ansible-galaxy collection install" in containerfile
