"""`cruft update`, the documented way to take template changes, end to end: bake from a git
repository of the template, change the template, update the baked repository with cruft's CLI."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from conftest import TEMPLATE, bake, commit_all, run

NOT_TEMPLATE = shutil.ignore_patterns(".git", ".venv", ".tox", "__pycache__", "*.pyc")
PROJECT = "{{cookiecutter.project}}"
SPARK_SCRIPT = ".scaffold/[[cookiecutter.app]]/jobs/[[cookiecutter.app]]/spark/preprocess.py"


def template_repository(path: Path) -> Path:
    """The template as a git repository at one commit, as a user's clone of it."""
    shutil.copytree(TEMPLATE, path, ignore=NOT_TEMPLATE)
    run(["git", "init", "-q", "-b", "main"], path)
    commit_all(path)
    return path


def append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + line + "\n")


def test_cruft_update_brings_template_changes_and_leaves_the_team_folders_alone(tmp_path):
    template = template_repository(tmp_path / "template")
    repo = bake(tmp_path / "baked", template)
    commit_all(repo)
    dev = repo / "dags/data_pipelines/environments/dev.json"
    team_dev = json.loads(dev.read_text()) | {"DATA_BUCKET": "s3://team-choice/dev"}
    dev.write_text(json.dumps(team_dev, indent=2) + "\n")
    run(["git", "commit", "-qam", "The team's own dev settings"], repo)
    team_files = {
        path: path.read_bytes() for path in (dev, repo / "jobs/hybrid_example/spark/preprocess.py")
    }

    append(template / PROJECT / "Makefile", "# a template change")
    append(template / PROJECT / SPARK_SCRIPT, "# a scaffold change")
    settings = template / PROJECT / "dags/{{cookiecutter.package}}/environments/dev.json"
    settings.write_text(settings.read_text().replace('"dev"', '"development"'))
    run(["git", "commit", "-qam", "A template change"], template)
    new_commit = run(["git", "rev-parse", "HEAD"], template).stdout.strip()

    update = run([sys.executable, "-m", "cruft", "update", "-y", "-p", str(repo)], repo)

    assert "Good work" in update.stdout, update.stdout + update.stderr
    assert (repo / "Makefile").read_text().endswith("# a template change\n")
    assert (repo / SPARK_SCRIPT).read_text().endswith("# a scaffold change\n"), "new apps get it"
    assert all(path.read_bytes() == content for path, content in team_files.items())
    status = run(["git", "status", "--porcelain"], repo).stdout.splitlines()
    assert sorted(line[3:] for line in status) == [".cruft.json", SPARK_SCRIPT, "Makefile"], status
    assert json.loads((repo / ".cruft.json").read_text())["commit"] == new_commit
    assert not list(repo.rglob("*.rej")), "conflicts left behind"
    for check in (["check", "."], ["format", "--check", "."]):
        run([sys.executable, "-m", "ruff", *check, "--no-cache"], repo)
