import boto3
import pytest

from scripts.deploy.dags import sync_dags
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


def test_first_sync_uploads_the_package_without_caches(tree, s3):
    report = sync_dags(TARGET, s3, tree)
    assert sorted(report.uploaded) == [
        "__init__.py",
        "apps/report/report_dag.py",
        "environments/dev.json",
    ]
    ours = [f"dags/{PACKAGE}/{path}" for path in report.uploaded]
    assert keys(s3) == sorted([*ours, "dags/other_team/dag.py"])


def test_second_sync_uploads_only_changes_and_removes_deleted_files(tree, s3):
    sync_dags(TARGET, s3, tree)
    (tree / f"dags/{PACKAGE}/environments/dev.json").write_text('{"changed": true}\n')
    (tree / f"dags/{PACKAGE}/apps/report/report_dag.py").unlink()
    report = sync_dags(TARGET, s3, tree)
    assert report.uploaded == ["environments/dev.json"]
    assert report.deleted == ["apps/report/report_dag.py"]
    assert report.unchanged == 1
    assert f"dags/{PACKAGE}/apps/report/report_dag.py" not in keys(s3)
    assert "dags/other_team/dag.py" in keys(s3), "another team's package is never touched"


def test_sync_to_the_bucket_root(tree, s3):
    sync_dags("s3://airflow-env", s3, tree)
    assert f"{PACKAGE}/__init__.py" in keys(s3)
