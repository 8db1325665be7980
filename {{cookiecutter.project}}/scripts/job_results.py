"""The last green run of each job project, so that a project whose inputs did not change since
is reused rather than run again.

A project's inputs are its own files, its app's files outside any project (such as the sample
data), the Python and, for Spark, the Java its tests run on, and the pytest arguments. A run that
passes records them in `.cache/test-jobs/`; the record holds content only (no time or commit
decides), so CI may restore it. Any difference runs the project again, and says which.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# What tools write into a project while they run: never an input.
TOOL_OUTPUT = {".venv", "__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache"}
# How many changed files a reason names before it counts the rest.
NAMED = 3


def digests(folder: Path, skip: set[Path]) -> dict[str, str]:
    """The sha256 of every file under `folder`, by its path relative to `folder`, outside the
    folders in `skip` and the tools' output."""
    found = {}
    for parent, folders, files in os.walk(folder):
        here = Path(parent)
        folders[:] = sorted(name for name in folders if name not in TOOL_OUTPUT)
        folders[:] = [name for name in folders if here / name not in skip]
        for name in files:
            path = here / name
            found[path.relative_to(folder).as_posix()] = hashlib.sha256(
                path.read_bytes()
            ).hexdigest()
    return dict(sorted(found.items()))


def inputs(project: Path, projects: list[Path], runtime: dict[str, str]) -> dict[str, Any]:
    """What `project`'s tests read: the files of its app but those of the app's other projects,
    and `runtime` (the interpreters and arguments they run with)."""
    others = {other for other in projects if other.parent == project.parent and other != project}
    return {"files": digests(project.parent, others), "runtime": runtime}


class Results:
    """The inputs of each project's last green run, one file per project under `folder`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _record(self, name: str) -> Path:
        return self.folder / f"{name.replace('/', '--')}.json"

    def why_run(self, name: str, current: dict[str, Any]) -> str | None:
        """Why project `name` must run: what changed since its last green run (None: nothing)."""
        try:
            record = json.loads(self._record(name).read_text())
        except (OSError, ValueError):
            return "no earlier green run"
        if record.get("inputs") == current:
            return None
        before = record.get("inputs", {})
        old, new = before.get("files", {}), current["files"]
        changed = sorted(path for path in old.keys() | new.keys() if old.get(path) != new.get(path))
        reasons = []
        if changed:
            more = f" and {len(changed) - NAMED} more" if len(changed) > NAMED else ""
            reasons.append(f"changed: {', '.join(changed[:NAMED])}{more}")
        was = before.get("runtime", {})
        for key, value in current["runtime"].items():
            if was.get(key) != value:
                reasons.append(f"{key} {was.get(key) or '(none)'} -> {value or '(none)'}")
        return "; ".join(reasons) or "its record is of another format"

    def passed(self, name: str, current: dict[str, Any]) -> None:
        """Record a green run of project `name` on `current` inputs."""
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"inputs": current, "passed_at": datetime.now(UTC).isoformat(timespec="seconds")}
        partial = self._record(name).with_suffix(f".{os.getpid()}")
        partial.write_text(json.dumps(record, indent=1))
        partial.replace(self._record(name))

    def passed_at(self, name: str) -> str:
        """When project `name` last passed, as recorded."""
        return json.loads(self._record(name).read_text())["passed_at"]
