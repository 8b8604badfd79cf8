"""`covidct publish ID --org covidct [--dry-run]`: upload a Hub folder with huggingface_hub.

The folder is the one ``covidct export`` (Parquet) or ``covidct scripts`` wrote under
``<root>/covidct/<id>/``; its ``.covidct.json`` manifest says what it holds. Publishing is planned
first (:func:`plan_publish`, pure: no network), then carried out (:func:`execute`) with an
``HfApi``-like object, so ``--dry-run`` prints exactly the plan and the tests need no Hub.

Refusals, each saying why: no folder or manifest; a synthesized fixture (not the dataset); a folder
built from another version of the card; data whose license forbids redistribution (a script-only
folder holds no data and may be published); data whose redistribution terms are unknown, unless
``--allow-unknown-license`` says the publisher has permission.

Gating: when the card requires an agreement or access is by registration, the repository is gated
with automatic approval; when access is by request or competition, with manual approval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from covidct.card.model import ORG, Card
from covidct.card.vocab import AccessKind, Redistribution
from covidct.errors import CovidctError
from covidct.hf import HUB_LOGIN
from covidct.hf.manifest import ManifestError, require_manifest
from covidct.hf.readme import gated


class PublishError(CovidctError):
    """A refusal or failure whose message says what to do."""


@dataclass
class PublishPlan:
    repo_id: str
    folder: Path
    kind: str  # "parquet" | "scripts" | "card"
    files: list[tuple[str, int]]  # (path in the repo, bytes)
    gated: str | bool  # False | "auto" | "manual"
    private: bool = False
    commit_message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(n for _, n in self.files)

    def describe(self) -> str:
        gate = {
            False: "not gated",
            "auto": "gated (automatic approval after accepting the terms)",
            "manual": "gated (each request approved by the maintainers)",
        }[self.gated]
        lines = [
            f"repository: datasets/{self.repo_id} ({'private' if self.private else 'public'}; {gate})",
            f"folder:     {self.folder}",
            f"content:    {self.kind}, {len(self.files)} file(s), {_human(self.total_bytes)}",
        ]
        lines += [f"  {p}  ({_human(n)})" for p, n in self.files]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


class HubApi(Protocol):  # the part of huggingface_hub.HfApi that publishing uses
    def create_repo(self, repo_id: str, **kw: Any) -> Any: ...
    def update_repo_settings(self, repo_id: str, **kw: Any) -> Any: ...
    def upload_folder(self, **kw: Any) -> Any: ...


def _human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest (see covidct.hf.manifest), or a PublishError saying how to write one."""
    try:
        return require_manifest(folder)
    except ManifestError as exc:
        raise PublishError(str(exc)) from None


def gate_mode(card: Card) -> str | bool:
    if card.access.kind in (AccessKind.REQUEST, AccessKind.COMPETITION):
        return "manual"
    return "auto" if gated(card) else False


def plan_publish(
    card: Card, root: Path, org: str = ORG, *, private: bool = False, allow_unknown_license: bool = False
) -> PublishPlan:
    """What publishing ``card`` from ``root/covidct/<id>`` would do. Raises PublishError when it must not."""
    from covidct.hf.manifest import card_sha256

    folder = root / ORG / card.id
    if not folder.is_dir():
        raise PublishError(
            f"no Hub folder at {folder}; run `covidct export {card.id} --data-dir DIR --out {root}` "
            f"or `covidct scripts --out {root}` first"
        )
    man = read_manifest(folder)
    if man.get("card") != card.id:
        raise PublishError(f"{folder} holds {man.get('card')!r}, not {card.id!r}")
    if man.get("synthetic"):
        raise PublishError(f"{folder} holds a synthesized fixture, not the dataset: it must never be published")
    kind = str(man.get("kind", ""))
    has_data = kind == "parquet"
    red = card.license.redistribution
    if has_data and red is Redistribution.FORBIDDEN:
        raise PublishError(
            f"{card.id}: the license ({card.license.name or card.license.id}) forbids "
            "redistribution; its data may not be uploaded. Publish the loading script instead "
            f"(`covidct scripts --out {root}`), which holds no data."
        )
    if has_data and red is Redistribution.UNKNOWN and not allow_unknown_license:
        raise PublishError(
            f"{card.id}: the card does not know whether redistribution is allowed; upload the data "
            "only with the distributor's permission, then pass --allow-unknown-license"
        )
    if man.get("card_sha256") != card_sha256(card):
        raise PublishError(
            f"{folder} was built from another version of the card {card.id}; re-run the export "
            "so the Hub copy matches the card"
        )
    files = sorted(
        (p.relative_to(folder).as_posix(), p.stat().st_size)
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    if not any(f == "README.md" for f, _ in files):
        raise PublishError(f"{folder} has no README.md; re-run the export")
    plan = PublishPlan(
        repo_id=f"{org}/{card.id}",
        folder=folder,
        kind=kind,
        files=files,
        gated=gate_mode(card),
        private=private,
        commit_message=f"covidct: {kind} folder for {card.id} (card {str(man.get('card_sha256'))[:12]})",
    )
    if kind == "scripts":
        plan.notes.append("a loading script for datasets<4: it holds no data; users load their own copy")
    if has_data and red is Redistribution.UNKNOWN:
        plan.notes.append("redistribution terms unknown: published on your statement that you have permission")
    return plan


def execute(plan: PublishPlan, api: HubApi) -> str:
    """Create (or reuse) the dataset repository, set its gating, upload the files. Returns the URL."""
    api.create_repo(plan.repo_id, repo_type="dataset", private=plan.private, exist_ok=True)
    if plan.gated:
        api.update_repo_settings(plan.repo_id, repo_type="dataset", gated=plan.gated)
    api.upload_folder(
        repo_id=plan.repo_id,
        repo_type="dataset",
        folder_path=str(plan.folder),
        allow_patterns=[p for p, _ in plan.files],
        # files of an earlier upload that this one does not have: old shards, a script beside Parquet
        # (datasets >= 4 refuses a repository holding <id>.py), Parquet beside a script
        delete_patterns=["data/**", "*.py", "card.json"],
        commit_message=plan.commit_message,
    )
    return f"https://huggingface.co/datasets/{plan.repo_id}"


def publish(
    card: Card,
    root: Path,
    org: str = ORG,
    *,
    dry_run: bool = False,
    private: bool = False,
    allow_unknown_license: bool = False,
    token: str | None = None,
    api: HubApi | None = None,
) -> str:
    """Plan, then (unless ``dry_run``) upload. Returns the text to print."""
    plan = plan_publish(card, root, org, private=private, allow_unknown_license=allow_unknown_license)
    if dry_run:
        return "dry run: nothing uploaded\n" + plan.describe()
    if api is None:
        from covidct.extras import require

        require("huggingface_hub", "hf")
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    try:
        url = execute(plan, api)
    except Exception as exc:  # network, auth, permissions: say what happened, no traceback
        name = type(exc).__name__
        raise PublishError(
            f"upload of {plan.repo_id} failed ({name}: {exc}). Check your token ({HUB_LOGIN} or $HF_TOKEN) "
            f"and that you may write to the {org!r} organisation, then retry."
        ) from None
    return plan.describe() + f"\npublished: {url}"
