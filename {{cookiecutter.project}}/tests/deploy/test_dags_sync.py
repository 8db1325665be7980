import os
import subprocess
import sys
from importlib.util import cache_from_source as pyc

import boto3
import pytest

from scripts.deploy.dags import local_files, sync_dags
from scripts.deploy.layout import PACKAGE

TARGET = "s3://airflow-env/dags"


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name="eu-west-1")
    client.create_bucket(
        Bucket="airflow-env", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.put_object(Bucket="airflow-env", Key="dags/other_team/dag.py", Body=b"theirs")
    return client


def keys(s3) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket="airflow-env")["Contents"])


def test_first_sync_uploads_the_package_with_its_own_bytecode_not_the_trees(tree, s3):
    report = sync_dags(TARGET, s3, tree)
    assert sorted(report.uploaded) == sorted(
        [
            "__init__.py",
            pyc("__init__.py"),
            "apps/report/report_dag.py",
            pyc("apps/report/report_dag.py"),
            "environments/dev.json",
        ]
    )
    ours = [f"dags/{PACKAGE}/{path}" for path in report.uploaded]
    assert keys(s3) == sorted([*ours, "dags/other_team/dag.py"])


# Import the synced package where Python may write no bytecode, compiling nothing from source.
FROM_BYTECODE_ONLY = f"""
import importlib.machinery

def refuse(*args):
    raise AssertionError("compiled from source")

importlib.machinery.SourceFileLoader.source_to_code = refuse
import {PACKAGE}.apps.report.report_dag
"""


def test_the_shipped_bytecode_is_what_a_parser_loads_until_its_source_changes(tree, s3, tmp_path):
    sync_dags(TARGET, s3, tree)
    dags = tmp_path / "airflow" / "dags"
    for key in keys(s3):
        if key.startswith(f"dags/{PACKAGE}/"):
            (dags / key.removeprefix("dags/")).parent.mkdir(parents=True, exist_ok=True)
            s3.download_file("airflow-env", key, str(dags / key.removeprefix("dags/")))
    env = os.environ | {"PYTHONPATH": str(dags), "PYTHONDONTWRITEBYTECODE": "1"}
    command = [sys.executable, "-c", FROM_BYTECODE_ONLY]
    loaded = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert loaded.returncode == 0, loaded.stderr

    (dags / PACKAGE / "apps/report/report_dag.py").write_text("# another version, same time\n")
    stale = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert "compiled from source" in stale.stderr, "bytecode of another source is never used"


def test_second_sync_uploads_only_changes_and_removes_deleted_files(tree, s3):
    sync_dags(TARGET, s3, tree)
    (tree / f"dags/{PACKAGE}/environments/dev.json").write_text('{"changed": true}\n')
    (tree / f"dags/{PACKAGE}/apps/report/report_dag.py").unlink()
    report = sync_dags(TARGET, s3, tree)
    assert report.uploaded == ["environments/dev.json"]
    assert report.deleted == ["apps/report/report_dag.py", pyc("apps/report/report_dag.py")]
    assert report.unchanged == 2, "__init__.py and its bytecode"
    assert f"dags/{PACKAGE}/apps/report/report_dag.py" not in keys(s3)
    assert "dags/other_team/dag.py" in keys(s3), "another team's package is never touched"


def test_sync_to_the_bucket_root(tree, s3):
    sync_dags("s3://airflow-env", s3, tree)
    assert f"{PACKAGE}/__init__.py" in keys(s3)


class Recorder:
    """The S3 writes of a sync, in the order they reach S3; `fail_at` makes one upload fail."""

    def __init__(self, s3, fail_at: str | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_at = fail_at
        s3.meta.events.register("before-parameter-build.s3.PutObject", self.put)
        s3.meta.events.register("before-parameter-build.s3.DeleteObjects", self.delete)

    def put(self, params, **_) -> None:
        name = params["Key"].removeprefix(f"dags/{PACKAGE}/")
        if name == self.fail_at:
            raise ConnectionError(f"network down while uploading {name}")
        self.calls.append(("put", name))

    def delete(self, params, **_) -> None:
        for item in params["Delete"]["Objects"]:
            self.calls.append(("delete", item["Key"].removeprefix(f"dags/{PACKAGE}/")))


@pytest.fixture
def app_tree(tree):
    """The tree with a library module, a schema and an app's config beside its DAG file."""
    package = tree / "dags" / PACKAGE
    for name in ("emr.py", "schemas/job_config.schema.json", "apps/report/job_configs/job.json"):
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(f"# {name}\n")
    return tree


LIBRARY = ["__init__.py", "emr.py", "environments/dev.json", "schemas/job_config.schema.json"]


def test_libraries_ship_before_configs_before_dag_files(app_tree, s3):
    recorder = Recorder(s3)
    sync_dags(TARGET, s3, app_tree)
    assert recorder.calls == [
        *(("put", name) for name in LIBRARY),
        ("put", pyc("__init__.py")),
        ("put", pyc("emr.py")),
        ("put", "apps/report/job_configs/job.json"),
        ("put", pyc("apps/report/report_dag.py")),
        ("put", "apps/report/report_dag.py"),
    ]


def test_stale_files_go_last_dag_files_first(app_tree, s3):
    sync_dags(TARGET, s3, app_tree)
    package = app_tree / "dags" / PACKAGE
    (package / "emr.py").write_text("# changed\n")
    (package / "apps/report/report_dag.py").unlink()
    (package / "apps/report/job_configs/job.json").unlink()
    (package / "apps/orders/orders_dag.py").parent.mkdir(parents=True)
    (package / "apps/orders/orders_dag.py").write_text("# new\n")
    recorder = Recorder(s3)
    sync_dags(TARGET, s3, app_tree)
    assert recorder.calls == [
        ("put", "emr.py"),
        ("put", pyc("emr.py")),
        ("put", pyc("apps/orders/orders_dag.py")),
        ("put", "apps/orders/orders_dag.py"),
        ("delete", "apps/report/report_dag.py"),
        ("delete", pyc("apps/report/report_dag.py")),
        ("delete", "apps/report/job_configs/job.json"),
    ]


@pytest.mark.parametrize("fail_at", [*LIBRARY, "apps/report/report_dag.py"])
def test_a_sync_that_failed_at_any_step_is_finished_by_running_it_again(app_tree, s3, fail_at):
    (app_tree / "dags" / PACKAGE / "old.py").write_text("# stale\n")
    sync_dags(TARGET, s3, app_tree)
    (app_tree / "dags" / PACKAGE / "old.py").unlink()
    for path in (app_tree / "dags" / PACKAGE).rglob("*.*"):
        path.write_text(path.read_text() + "# release 2\n")

    recorder = Recorder(s3, fail_at=fail_at)
    with pytest.raises(ConnectionError):
        sync_dags(TARGET, s3, app_tree)
    assert f"dags/{PACKAGE}/old.py" in keys(s3), "nothing is deleted before every upload is in"

    recorder.fail_at = None
    report = sync_dags(TARGET, s3, app_tree)
    assert report.deleted == [pyc("old.py"), "old.py"]
    for name, path in local_files(app_tree).items():
        body = s3.get_object(Bucket="airflow-env", Key=f"dags/{PACKAGE}/{name}")["Body"].read()
        assert body == path.read_bytes(), name
