import json

import pytest

from scripts.deploy import DeployError
from scripts.deploy.layout import (
    PACKAGE,
    REPO,
    check_release,
    container_jobs,
    load_environment,
    spark_scripts,
    split_s3_uri,
)
from tests.deploy.support import RELEASE


def test_container_jobs_are_the_folders_with_a_dockerfile(tree):
    jobs = container_jobs(tree)
    assert [job.image for job in jobs] == ["recommend-train", "report-publish"]
    assert jobs[0].context == tree / "jobs/recommend/train"


def test_spark_scripts_are_the_top_level_scripts_of_spark_folders(tree):
    scripts = [path.relative_to(tree).as_posix() for path in spark_scripts(tree)]
    assert scripts == ["jobs/recommend/spark/prepare.py", "jobs/report/spark/aggregate.py"]


def test_a_repository_without_jobs_has_nothing_to_deploy(tmp_path):
    assert container_jobs(tmp_path) == []
    assert spark_scripts(tmp_path) == []


@pytest.mark.parametrize("name", ["dev", "staging", "prod"])
def test_environments_come_from_the_settings_airflow_reads(name):
    settings = json.loads((REPO / f"dags/{PACKAGE}/environments/{name}.json").read_text())
    environment = load_environment(name)
    assert environment.deployment_bucket == settings["DEPLOYMENT_BUCKET"]
    assert environment.image_registry == settings["IMAGE_REGISTRY"]
    assert environment.aws_region == settings["AWS_REGION"]


def test_unknown_environment_names_the_known_ones():
    with pytest.raises(DeployError, match=r"'qa'.*known: dev, local, prod, staging"):
        load_environment("qa")


@pytest.mark.parametrize("release", ["abc1234", "HEAD", RELEASE.upper(), RELEASE + "0"])
def test_release_must_be_a_full_commit_sha(release):
    with pytest.raises(DeployError, match="full 40-character commit SHA"):
        check_release(release)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bucket", ("bucket", "")),
        ("s3://bucket/", ("bucket", "")),
        ("s3://bucket/dags", ("bucket", "dags/")),
        ("s3://bucket/a/b/", ("bucket", "a/b/")),
    ],
)
def test_split_s3_uri(uri, expected):
    assert split_s3_uri(uri) == expected


def test_split_s3_uri_rejects_other_schemes():
    with pytest.raises(DeployError, match="not an S3 URI"):
        split_s3_uri("file:///tmp/dags")
