"""The contributor's path: GitHub workflow (checked offline by actionlint), pull-request template,
issue form, pre-commit hook and CONTRIBUTING.md."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import CARDS, REPO, need_executable

WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load((REPO / ".github" / "workflows" / "pull-request.yml").read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_workflows_pass_actionlint() -> None:
    exe = need_executable("actionlint")
    assert WORKFLOWS
    proc = subprocess.run([exe, "-no-color", *map(str, WORKFLOWS)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    """The check above is not vacuous: a script injection and a typo are reported."""
    exe = need_executable("actionlint")
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: pull_request\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.pull_request.title }}"\n'
        "      - uses: actions/checkout@v6\n        with:\n          fetch-dept: 0\n"
    )
    proc = subprocess.run([exe, "-no-color", str(bad)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "potentially untrusted" in proc.stdout and "fetch-dept" in proc.stdout


def test_pull_request_workflow_does_what_contributing_promises() -> None:
    wf = _workflow()
    assert "pull_request" in wf["on"] and "pull_request_target" not in wf["on"]
    assert wf["permissions"] == {"contents": "read"}
    assert set(wf["jobs"]) == {"check", "lowest"}
    steps = wf["jobs"]["check"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0 and checkout["with"]["persist-credentials"] is False
    runs = [s.get("run", "") for s in steps]
    assert any("pip install" in r and ".[test]" in r for r in runs)
    assert any(r.strip() == "covidct validate --changed origin/main" for r in runs)
    assert any(r.startswith("python -m pytest") for r in runs)
    build = next(r for r in runs if "mkdocs build" in r)
    assert "--strict" in build
    site_dir = build.split("--site-dir", 1)[1].split()[0]
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == site_dir and upload["with"]["if-no-files-found"] == "error"
    # no expression is pasted into a shell script (a branch name or title could inject commands)
    assert not any("${{" in r for r in runs)


def test_ci_tests_the_newest_and_the_lowest_versions_with_the_real_samples() -> None:
    """Both the workflow and .ci/run: newest releases, then uv's lowest-direct resolution; the real
    samples are fetched (no job skips the tests that need them)."""
    wf = _workflow()
    text = (REPO / ".github" / "workflows" / "pull-request.yml").read_text()
    assert "COVIDCT_SAMPLES_OPTIONAL" not in text
    for name, job in wf["jobs"].items():
        runs = [s.get("run", "") for s in job["steps"]]
        assert any(r.strip() == "python tests/samples/fetch_samples.py" for r in runs), name
        assert any("python -m pytest -n 2 -q" in r for r in runs), name
        assert not any("${{" in r for r in runs), name
    check = " ".join(s.get("run", "") for s in wf["jobs"]["check"]["steps"])
    assert "pip install -U --upgrade-strategy eager" in check
    lowest = " ".join(s.get("run", "") for s in wf["jobs"]["lowest"]["steps"])
    assert "--resolution lowest-direct" in lowest and '-e ".[test]"' in lowest
    ci = (REPO / ".ci" / "run").read_text()
    assert "pip install -q -U --upgrade-strategy eager -e \".[test]\"" in ci
    assert "--resolution lowest-direct" in ci and ".venv-lowest/bin/python -m pytest" in ci
    assert "python tests/samples/fetch_samples.py" in ci and "../shared/samples" in ci
    conftest = (REPO / "tests" / "conftest.py").read_text()
    assert "COVIDCT_SAMPLES_OPTIONAL" not in conftest


def test_pull_request_template_has_the_reviewer_checklist() -> None:
    text = (REPO / ".github" / "pull_request_template.md").read_text()
    boxes = re.findall(r"^- \[ \] (.+)$", text, flags=re.M)
    assert len(boxes) >= 5
    joined = " ".join(boxes)
    for must in ("source for every count", "License checked", "Layout tried", "covidct fixture", "covidct load"):
        assert must in joined


def test_issue_form_is_a_valid_github_form() -> None:
    form = yaml.safe_load((REPO / ".github" / "ISSUE_TEMPLATE" / "propose-dataset.yml").read_text())
    assert form["name"] == "Propose a dataset" and form["description"]
    kinds = {"markdown", "input", "textarea", "dropdown", "checkboxes"}
    ids = [el["id"] for el in form["body"] if "id" in el]
    assert len(ids) == len(set(ids))
    for el in form["body"]:
        assert el["type"] in kinds
        attrs = el["attributes"]
        if el["type"] == "markdown":
            assert attrs["value"]
            continue
        assert re.fullmatch(r"[a-z0-9_-]+", el["id"]) and attrs["label"]
        if el["type"] == "dropdown":
            assert attrs["options"] and len(set(attrs["options"])) == len(attrs["options"])
        if el["type"] == "checkboxes":
            assert all(o["label"] for o in attrs["options"])
    required = {el["id"] for el in form["body"] if el.get("validations", {}).get("required")}
    assert {"name", "homepage", "license"} <= required


# ------------------------------------------------------------------------------------------ pre-commit


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(hooks, list)
    (hook,) = [h for h in hooks if h["id"] == "covidct-validate"]
    for key in ("id", "name", "entry", "language"):
        assert isinstance(hook[key], str) and hook[key]
    return hook


def test_pre_commit_hook_selects_card_files() -> None:
    files = re.compile(_hook()["files"])
    assert files.search("cards/cncb.yaml") and files.search("cards/covid-ct-md.yaml")
    for other in ("cards/_base.yaml", "cards/sub/x.yaml", "tests/cards/x.yaml", "cards/x.yml", "cards/.x.yaml"):
        assert not files.search(other), other


def test_pre_commit_hook_entry_validates_the_files_it_gets(tmp_path: Path) -> None:
    hook = _hook()
    argv = shlex.split(hook["entry"])
    need_executable(argv[0])
    good = CARDS / "cncb.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("modality: [CT]", "modalty: [CT]"))
    ok = subprocess.run([*argv, str(good)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    fail = subprocess.run([*argv, str(bad)], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert fail.returncode == 1
    assert re.search(r"bad\.yaml:\d+:\d+: S201 unknown field 'modalty'", fail.stdout)


# ------------------------------------------------------------------------------------------ CONTRIBUTING


def test_contributing_names_only_commands_that_exist() -> None:
    from covidct.cli import COMMANDS, _load_plugins

    _load_plugins()
    text = (REPO / "CONTRIBUTING.md").read_text()
    used = set(re.findall(r"^\s*covidct ([a-z][a-z-]*)", text, flags=re.M)) | set(
        re.findall(r"`covidct ([a-z][a-z-]*)", text))
    assert {"new", "validate", "fixture", "load"} <= used
    missing = sorted(used - set(COMMANDS))
    if missing:
        pytest.fail(f"CONTRIBUTING.md names commands that do not exist: {missing}")
    assert "mkdocs serve" in text
