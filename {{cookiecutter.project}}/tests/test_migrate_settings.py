"""make migrate-settings: environment files left behind by a template update are brought to the
settings version the code reads, template-owned keys only, every change printed."""

import json

import pytest

from {{ cookiecutter.package }}.settings import PACKAGE

from scripts import migrate_settings
from scripts.migrate_settings import MIGRATIONS, current_version, migrated

VERSION = current_version()
# A file from before settings versions, as an earlier bake wrote local.json, with a team value.
UNVERSIONED = {
    "$schema": "../schemas/environment.schema.json",
    "ENV": "local",
    "DATA_BUCKET": "s3://team-choice/local",
    "RUNTIME": "local",
}


def test_every_settings_version_has_its_migration():
    assert sorted(MIGRATIONS) == list(range(1, VERSION + 1))


def test_a_file_from_before_versions_gets_the_runtime_module_and_keeps_the_team_values():
    after = migrated(UNVERSIONED, VERSION)
    assert after["RUNTIME"] == f"{PACKAGE}.local.twins"
    assert after["DATA_BUCKET"] == "s3://team-choice/local"
    assert list(after)[:3] == ["$schema", "SETTINGS_VERSION", "ENV"]
    assert after["SETTINGS_VERSION"] == VERSION


def test_the_cloud_runtime_becomes_production_operators():
    assert "RUNTIME" not in migrated(UNVERSIONED | {"RUNTIME": "cloud"}, VERSION)


def test_one_airflow_subject_becomes_the_list_with_the_helm_charts_triggerer_beside_its_worker():
    worker = {"kind": "ServiceAccount", "name": "airflow-worker", "namespace": "data"}
    version_1 = {
        "$schema": "../schemas/environment.schema.json",
        "SETTINGS_VERSION": 1,
        "K8S_AIRFLOW_SUBJECT": worker,
        "K8S_EKS_CLUSTER": None,
        "INFRA": {"CREATE_BUCKETS": True, "IMAGE_RETENTION_COUNT": 30},
    }
    after = migrated(version_1, VERSION)
    triggerer = worker | {"name": "airflow-triggerer"}
    assert after["K8S_AIRFLOW_SUBJECTS"] == [worker, triggerer]
    assert list(after)[2:4] == ["K8S_AIRFLOW_SUBJECTS", "K8S_EKS_CLUSTER"], "in the same place"
    assert after["INFRA"] == {"CREATE_BUCKETS": True}
    group = {"kind": "Group", "name": "team-airflow"}
    migrated_group = migrated(version_1 | {"K8S_AIRFLOW_SUBJECT": group}, VERSION)
    assert migrated_group["K8S_AIRFLOW_SUBJECTS"] == [group]


def test_a_current_file_is_left_as_it_is():
    current = migrated(UNVERSIONED, VERSION)
    assert migrated(current, VERSION) == current


@pytest.fixture
def environments(tmp_path, monkeypatch):
    """An environments folder with one file from before versions and one current file."""
    folder = tmp_path / "dags" / PACKAGE / "environments"
    folder.mkdir(parents=True)
    (folder / "local.json").write_text(json.dumps(UNVERSIONED, indent=2) + "\n")
    current = json.dumps(migrated(UNVERSIONED, VERSION) | {"ENV": "dev"}, indent=2) + "\n"
    (folder / "dev.json").write_text(current)
    monkeypatch.setattr(migrate_settings, "REPO", tmp_path)
    monkeypatch.setattr(migrate_settings, "ENVIRONMENTS", folder)
    return folder


def test_migrating_rewrites_the_files_behind_and_says_what_changed(environments, capsys):
    dev = (environments / "dev.json").read_text()
    assert migrate_settings.main([]) == 0
    local = f"dags/{PACKAGE}/environments/local.json"
    assert capsys.readouterr().out.splitlines() == [
        f"{local}: settings version 0 -> {VERSION}",
        f"  $.SETTINGS_VERSION: (none) -> {VERSION}",
        f'  $.RUNTIME: "local" -> "{PACKAGE}.local.twins"',
    ]
    assert json.loads((environments / "local.json").read_text()) == migrated(UNVERSIONED, VERSION)
    assert (environments / "dev.json").read_text() == dev, "a current file is not rewritten"


def test_in_ci_a_file_behind_fails_in_one_line_and_nothing_is_written(environments, capsys):
    before = (environments / "local.json").read_text()
    assert migrate_settings.main(["--check"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        f"error: dags/{PACKAGE}/environments/local.json: older than settings version {VERSION}, "
        "which this code reads: run make migrate-settings, review and commit\n"
    )
    assert (environments / "local.json").read_text() == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", "local.json: not a JSON file (Expecting property name"),
        ("[]", "local.json: $: not a JSON object"),
        ('{"SETTINGS_VERSION": 99}', "local.json: $.SETTINGS_VERSION: 99, this code reads"),
    ],
)
def test_a_file_it_cannot_read_is_one_line_and_nothing_is_written(
    environments, capsys, text, message
):
    dev = json.dumps(UNVERSIONED | {"ENV": "dev"})  # behind, and read first
    (environments / "dev.json").write_text(dev)
    (environments / "local.json").write_text(text)
    assert migrate_settings.main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert (environments / "dev.json").read_text() == dev
