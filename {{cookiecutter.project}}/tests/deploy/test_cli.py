"""The command line as the workflows and `make rollback` use it: exit codes and one-line errors."""

import re
from dataclasses import replace

import boto3
import pytest

from scripts.deploy import cli
from scripts.deploy.cli import main
from scripts.deploy.layout import (
    EMR_POOL,
    PACKAGE,
    RELEASE_VARIABLE,
    container_jobs,
    load_environment,
    split_s3_uri,
)
from tests.conftest import ACCOUNT
from tests.deploy.support import EARLIER_RELEASE, RELEASE, create_bucket


@pytest.fixture
def infra(monkeypatch) -> dict:
    """`INFRA` values the commands read from an environment's file, set here without editing
    the repository's files. An ECR registry is moto's account's, whatever account the file
    names: moto's ECR serves no other account's repositories to the caller."""
    settings: dict = {}

    def load(name: str):
        environment = load_environment(name)
        registry = re.sub(r"^[0-9]{12}\.", f"{ACCOUNT}.", environment.image_registry)
        return replace(
            environment, image_registry=registry, infra={**environment.infra, **settings}
        )

    monkeypatch.setattr(cli, "load_environment", load)
    return settings


def test_settings_print_github_outputs(capsys):
    assert main(["settings", "prod"]) == 0
    prod = load_environment("prod")
    assert capsys.readouterr().out.splitlines() == [
        f"aws_region={prod.aws_region}",
        f"deployment_bucket={prod.deployment_bucket}",
        f"image_registry={prod.image_registry}",
    ]


def test_settings_refuse_an_unset_infra_setting_the_deploy_needs(infra, capsys):
    infra["DAGS_S3_URI"] = None
    assert main(["settings", "dev", "--require", "DAGS_S3_URI"]) == 2
    out, err = capsys.readouterr()
    assert out == "", "nothing for the deploy's later steps to use"
    assert err.startswith("error: set INFRA.DAGS_S3_URI (the S3 DAGs folder sync-dags syncs to)")
    infra["DAGS_S3_URI"] = "s3://team-mwaa-dev/dags"
    assert main(["settings", "dev", "--require", "DAGS_S3_URI"]) == 0


def test_a_short_sha_is_refused_before_anything_runs(capsys):
    assert main(["set-release", "dev", "abc1234", "--dry-run"]) == 1
    assert capsys.readouterr().err == (
        "error: release must be a full 40-character commit SHA, got 'abc1234'\n"
    )


def test_missing_airflow_settings_are_named(monkeypatch, capsys):
    for name in ("AIRFLOW_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["set-release", "dev", RELEASE, "--api", "airflow", "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "error: set AIRFLOW_URL, AIRFLOW_USERNAME, AIRFLOW_PASSWORD in the environment\n"
    )


def test_the_first_step_stops_a_deploy_that_could_not_set_the_release(infra, monkeypatch, capsys):
    """The settings step runs before anything ships: what set-release needs is checked there."""
    for name in ("AIRFLOW_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["settings", "dev"]) == 0, "without --api, Airflow is not the step's business"
    capsys.readouterr()
    assert main(["settings", "dev", "--api", "airflow"]) == 2
    out, err = capsys.readouterr()
    assert out == "", "nothing for the deploy's later steps to use"
    assert err == "error: set AIRFLOW_URL, AIRFLOW_USERNAME, AIRFLOW_PASSWORD in the environment\n"
    monkeypatch.setenv("AIRFLOW_URL", "airflow.example.com")
    monkeypatch.setenv("AIRFLOW_USERNAME", "deployer")
    monkeypatch.setenv("AIRFLOW_PASSWORD", "secret")
    assert main(["settings", "dev", "--api", "airflow"]) == 2
    assert capsys.readouterr().err == "error: AIRFLOW_URL must start with https:// or http://\n"
    monkeypatch.setenv("AIRFLOW_URL", "https://airflow.example.com")
    assert main(["settings", "dev", "--api", "airflow"]) == 0
    capsys.readouterr()
    infra["MWAA_ENVIRONMENT"] = None
    assert main(["settings", "dev", "--api", "mwaa"]) == 2
    assert capsys.readouterr().err.startswith("error: set INFRA.MWAA_ENVIRONMENT")
    infra["MWAA_ENVIRONMENT"] = "team-airflow-dev"
    assert main(["settings", "dev", "--api", "mwaa"]) == 0
    assert capsys.readouterr().out.startswith("aws_region=")


def test_mwaa_dry_run_names_the_environment(infra, capsys):
    infra["MWAA_ENVIRONMENT"] = "team-airflow-prod"
    assert main(["set-release", "prod", RELEASE, "--api", "mwaa", "--dry-run"]) == 0
    prod = load_environment("prod")
    target = f"MWAA environment 'team-airflow-prod' ({prod.aws_region})"
    assert capsys.readouterr().out == (
        f"dry run: would set {RELEASE_VARIABLE}={RELEASE} in {target}\n"
        f"dry run: would set pool {EMR_POOL} to {prod.emr_max_clusters} slots in {target}\n"
    )


def test_an_unset_mwaa_environment_is_named(infra, capsys):
    infra["MWAA_ENVIRONMENT"] = None
    assert main(["set-release", "prod", RELEASE, "--api", "mwaa", "--dry-run"]) == 2
    assert capsys.readouterr().err == (
        "error: set INFRA.MWAA_ENVIRONMENT (the MWAA environment whose Variables set-release "
        "sets) "
        f"in dags/{PACKAGE}/environments/prod.json\n"
    )


def test_sync_dags_syncs_to_the_environments_dags_folder(aws, infra, capsys):
    dev = load_environment("dev")
    infra["DAGS_S3_URI"] = "s3://team-mwaa-dev/dags"
    s3 = boto3.client("s3", region_name=dev.aws_region)
    create_bucket(s3, "team-mwaa-dev")
    assert main(["sync-dags", "dev"]) == 0
    assert capsys.readouterr().out.endswith(" unchanged in s3://team-mwaa-dev/dags\n")
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket="team-mwaa-dev")["Contents"]]
    assert f"dags/{PACKAGE}/environments/dev.json" in keys


def test_sync_dags_without_a_dags_folder_is_refused(infra, capsys):
    infra["DAGS_S3_URI"] = None
    assert main(["sync-dags", "dev"]) == 2
    assert capsys.readouterr().err == (
        "error: set INFRA.DAGS_S3_URI (the S3 DAGs folder sync-dags syncs to) "
        f"in dags/{PACKAGE}/environments/dev.json\n"
    )


@pytest.fixture
def pushed(aws, fake_docker, infra) -> None:
    """RELEASE's images in dev's registry, as push-images leaves them (moto's ECR)."""
    dev = cli.load_environment("dev")
    fake_docker.push(*(job.reference(dev, RELEASE) for job in container_jobs()))
    fake_docker.mirror_to_ecr(boto3.client("ecr", region_name=dev.aws_region))


@pytest.fixture
def deployed(pushed, infra):
    """dev's deployment bucket under moto, with RELEASE uploaded by the CLI."""
    dev = cli.load_environment("dev")
    bucket, _ = split_s3_uri(dev.deployment_bucket)
    create_bucket(boto3.client("s3", region_name=dev.aws_region), bucket)
    assert main(["upload-artifacts", "dev", RELEASE]) == 0
    infra["MWAA_ENVIRONMENT"] = "team-airflow-dev"
    return dev


def test_rollback_to_an_uploaded_release(deployed, capsys):
    assert main(["rollback", "dev", RELEASE, "--api", "mwaa", "--dry-run"]) == 0
    assert f"would set {RELEASE_VARIABLE}={RELEASE}" in capsys.readouterr().out


def test_rollback_refuses_a_release_that_was_never_uploaded(deployed, capsys):
    assert main(["rollback", "dev", EARLIER_RELEASE, "--api", "mwaa", "--dry-run"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: release {EARLIER_RELEASE} was never deployed to dev: no s3://")


def test_aws_errors_are_one_line(pushed, capsys):
    assert main(["upload-artifacts", "dev", RELEASE]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and "NoSuchBucket" in line
