"""`cruft update`, the documented way to take template changes, end to end: bake from a git
repository of the template, change the template, update the baked repository with cruft's CLI."""

from __future__ import annotations

import json
import re
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


ENVIRONMENTS = f"{PROJECT}/dags/{{{{cookiecutter.package}}}}/environments"
SCHEMA = f"{PROJECT}/dags/{{{{cookiecutter.package}}}}/schemas/environment.schema.json"


def test_an_update_migrates_template_owned_settings_and_keeps_the_teams(tmp_path):
    """A repository baked before settings versions, when local.json said `"RUNTIME": "local"`:
    cruft update leaves its environment files alone, `make test` in CI refuses them in one line,
    and `make migrate-settings` makes them what a bake of the new template writes, with the
    team's own values kept."""
    template = template_repository(tmp_path / "template")
    current = {path: path.read_text() for path in (template / ENVIRONMENTS).glob("*.json")}
    version = json.loads((template / SCHEMA).read_text())["properties"]["SETTINGS_VERSION"]["const"]
    migration = template / PROJECT / "scripts/migrate_settings.py"
    migration_text = migration.read_text()
    for path, text in current.items():
        old = re.sub(r'  "SETTINGS_VERSION": \d+,\n', "", text)
        path.write_text(
            old.replace(".local.twins", "").replace('"{{ cookiecutter.package }}"', '"local"')
        )
    migration.unlink()
    run(["git", "commit", "-qam", "The template before settings versions"], template)
    repo = bake(tmp_path / "baked", template)
    commit_all(repo)
    dev = repo / "dags/data_pipelines/environments/dev.json"
    dev.write_text(dev.read_text().replace("s3://data-pipelines-data/dev", "s3://team-choice/dev"))
    run(["git", "commit", "-qam", "The team's own dev settings"], repo)
    for path, text in current.items():
        path.write_text(text)
    migration.write_text(migration_text)
    run(["git", "add", "-A"], template)
    run(["git", "commit", "-qm", "Settings versions"], template)

    run([sys.executable, "-m", "cruft", "update", "-y", "-p", str(repo)], repo)
    assert (
        json.loads((repo / "dags/data_pipelines/environments/local.json").read_text())["RUNTIME"]
        == "local"
    ), "cruft leaves the environment files alone"

    ci = run(["make", "--no-print-directory", "test"], repo, check=False, env={"CI": "true"})
    assert ci.returncode == 2
    errors = [line for line in ci.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, ci.stderr
    assert errors[0].endswith(
        f"older than settings version {version}, which this code reads: "
        "run make migrate-settings, review and commit"
    )
    migrate = run(["make", "--no-print-directory", "migrate-settings"], repo, env={"CI": ""})
    assert '  $.RUNTIME: "local" -> "data_pipelines.local.twins"' in migrate.stdout
    fresh = bake(tmp_path / "fresh", template)
    for name in ("dev", "staging", "prod", "local"):
        path = f"dags/data_pipelines/environments/{name}.json"
        expected = (fresh / path).read_text()
        if name == "dev":
            expected = expected.replace("s3://data-pipelines-data/dev", "s3://team-choice/dev")
        assert (repo / path).read_text() == expected, name
