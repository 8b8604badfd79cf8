"""`covidct publish`: planned without network; --dry-run lists what would be uploaded. The Hub is never contacted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _hubtools import base_card, card_with, fixtures

from covidct.cli import main
from covidct.hf.export import export, export_fixture
from covidct.hf.publish import PublishError, execute, gate_mode, plan_publish, publish
from covidct.hf.scripts import write_script_folder


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    card = base_card()
    export(card, fixtures(card, tmp_path / "data", ["lesion-seg"]), tmp_path / "hub", configs=["lesion-seg"])
    return tmp_path / "hub"


class FakeHub:
    """Records the calls publishing makes; stands in for huggingface_hub.HfApi (no network)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def create_repo(self, repo_id: str, **kw: Any) -> None:
        self.calls.append(("create_repo", {"repo_id": repo_id, **kw}))

    def update_repo_settings(self, repo_id: str, **kw: Any) -> None:
        self.calls.append(("update_repo_settings", {"repo_id": repo_id, **kw}))

    def upload_folder(self, **kw: Any) -> None:
        self.calls.append(("upload_folder", kw))


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any real Hub call fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    try:
        import huggingface_hub
    except ImportError:
        return

    def boom(*a: Any, **k: Any) -> None:
        raise AssertionError("the Hub was contacted")

    for name in ("create_repo", "update_repo_settings", "upload_folder", "whoami"):
        monkeypatch.setattr(huggingface_hub.HfApi, name, boom)


def test_dry_run_lists_the_files(exported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish", "cncb", "--org", "covidct", "--from", str(exported), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dry run: nothing uploaded")
    assert "repository: datasets/covidct/cncb (public; not gated)" in out
    assert "README.md" in out and "data/lesion-seg/train-00000-of-0000" in out
    assert ".covidct.json" not in out  # covidct's manifest stays local


def test_plan_then_execute_with_gating(exported: Path) -> None:
    card = base_card()
    plan = plan_publish(card, exported, "someone")
    assert plan.repo_id == "someone/cncb" and plan.gated is False
    hub = FakeHub()
    assert execute(plan, hub) == "https://huggingface.co/datasets/someone/cncb"
    assert [c for c, _ in hub.calls] == ["create_repo", "upload_folder"]
    upload = hub.calls[1][1]
    assert upload["repo_type"] == "dataset" and sorted(upload["allow_patterns"]) == [p for p, _ in plan.files]
    assert "*.py" in upload["delete_patterns"]  # an old script beside Parquet would break datasets >= 4


@pytest.mark.parametrize(
    ("change", "mode"),
    [({"license": {"requires_agreement": True}}, "auto"), ({"access": {"kind": "registration"}}, "auto"),
     ({"access": {"kind": "request"}}, "manual"), ({"access": {"kind": "competition"}}, "manual"), ({}, False)],
)
def test_gated_where_the_terms_require_an_agreement(change: dict[str, Any], mode: Any, tmp_path: Path) -> None:
    card = card_with(**change)
    assert gate_mode(card) == mode
    write_script_folder(card, tmp_path / "covidct" / card.id)
    hub = FakeHub()
    execute(plan_publish(card, tmp_path), hub)
    settings = [kw for c, kw in hub.calls if c == "update_repo_settings"]
    assert settings == ([{"repo_id": "covidct/cncb", "repo_type": "dataset", "gated": mode}] if mode else [])


def test_refusals_say_why(exported: Path, tmp_path: Path) -> None:
    forbidden = card_with(license={"id": "other", "name": "Research only", "url": "https://example.org/t",
                                   "redistribution": "forbidden"})
    with pytest.raises(PublishError, match="forbids redistribution"):
        plan_publish(forbidden, exported)
    with pytest.raises(PublishError, match="another version of the card"):
        plan_publish(card_with(summary="Changed since the export."), exported)
    with pytest.raises(PublishError, match="no Hub folder"):
        plan_publish(base_card(), tmp_path / "nowhere")
    export_fixture(base_card(), tmp_path / "fx", configs=["lesion-seg"])
    with pytest.raises(PublishError, match="synthesized fixture"):
        plan_publish(base_card(), tmp_path / "fx")


def test_a_script_folder_holds_no_data_so_any_license_may_publish_it(tmp_path: Path) -> None:
    card = card_with(license={"id": "other", "name": "Research only", "url": "https://example.org/t",
                              "redistribution": "forbidden"})
    write_script_folder(card, tmp_path / "covidct" / "cncb")
    text = publish(card, tmp_path, dry_run=True)
    assert "cncb.py" in text and "holds no data" in text


def test_cli_refusal_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["publish", "cncb", "--from", str(tmp_path), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("covidct: publish refused: no Hub folder") and "Traceback" not in err


def test_unreadable_manifest(tmp_path: Path) -> None:
    folder = tmp_path / "covidct" / "cncb"
    folder.mkdir(parents=True)
    (folder / ".covidct.json").write_text(json.dumps(["not", "a", "manifest"]), encoding="utf-8")
    with pytest.raises(PublishError, match="unreadable manifest"):
        plan_publish(base_card(), tmp_path)


def test_help_names_the_login_command_of_the_installed_client(capsys: pytest.CaptureFixture[str]) -> None:
    """`publish --help` names a login command that the installed huggingface_hub really has."""
    import importlib.metadata
    import re
    import shutil
    import subprocess

    from conftest import need

    need("huggingface_hub")
    with pytest.raises(SystemExit):
        main(["publish", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    named = re.findall(r"`([a-z-]+) ((?:auth )?login)`", text)
    assert ("hf", "auth login") in named and ("huggingface-cli", "login") in named
    scripts = {e.name for e in importlib.metadata.distribution("huggingface_hub").entry_points
               if e.group == "console_scripts"}
    installed = [(cmd, sub) for cmd, sub in named if cmd in scripts]
    assert installed, f"none of {named} is a command of huggingface_hub (it has {sorted(scripts)})"
    cmd, sub = installed[0]
    exe = shutil.which(cmd)
    if exe:  # the command is on PATH: its login subcommand exists (asks nothing with --help)
        proc = subprocess.run([exe, *sub.split(), "--help"], capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, proc.stderr
