"""Shared fixtures: the repository layout, a DB-free DagBag of every app, and for runs under
`dag.test()` a throwaway Airflow database and moto's EMR."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.session
import pytest
from botocore.loaders import create_loader
from botocore.regions import EndpointResolver
from botocore.session import get_session
from moto import mock_aws

from {{ cookiecutter.package }}.emr import ACTIVE_CLUSTER_STATES
from {{ cookiecutter.package }}.release import MANIFEST
from {{ cookiecutter.package }}.release import VARIABLE as RELEASE_VARIABLE
from {{ cookiecutter.package }}.settings import load_settings

from scripts.deploy.layout import split_s3_uri
from tests.deploy.support import create_bucket

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO / "dags" / "{{ cookiecutter.package }}"
APPS_DIR = PACKAGE_DIR / "apps"

# The smallest valid cluster config, for tests that build their own apps.
CLUSTER_CONFIG = {
    "ReleaseLabel": "emr-7.12.0",
    "Applications": [{"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
        ]
    },
}


@pytest.fixture(scope="session", autouse=True)
def aws_data_loaded_once():
    """What botocore and moto load again and again, loaded once or not at all: nearly half of
    these tests' CPU. botocore parses its JSON models (the endpoints, each service's API) for
    every Session, and Airflow's AWS hooks make a Session per client: here all Sessions share
    one loader (the models are read-only: one Session's clients share them too). moto's EC2
    makes ~1,300 public AMIs in each region it mocks, and nothing here launches an AMI."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", functools.cache(create_loader))
        patch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        yield


@pytest.fixture(scope="session")
def dagbag():
    """Every DAG under apps/, parsed the way the DAG processor does, without a database."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(APPS_DIR), safe_mode=False)


# The release the deploy pipeline sets in the Airflow Variable.
RELEASE = "0123abcd"


@pytest.fixture(scope="session")
def dags_folder() -> Path:
    """A migrated throwaway Airflow metadata DB (dag.test() needs one), and its DAGs folder."""
    home = os.environ.get("AIRFLOW_HOME")
    if not home:
        pytest.fail("set AIRFLOW_HOME to a throwaway folder (tox -e dags does)")
    env = os.environ | {"AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    subprocess.run(migrate, env=env, check=True, capture_output=True)
    from airflow.configuration import conf

    return Path(conf.get("core", "dags_folder"))


@pytest.fixture
def deploy_release(monkeypatch):
    """moto's AWS with Airflow's AWS connection. Yields `deploy(release, live=False)`, which
    writes the release's manifest to this environment's deployment bucket (created if need be),
    as the deploy does last, and with `live` sets the release Variable as the deploy then does."""
    settings = load_settings()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv(f"AIRFLOW_CONN_{settings.AWS_CONN_ID.upper()}", '{"conn_type": "aws"}')
    bucket, prefix = split_s3_uri(settings.DEPLOYMENT_BUCKET)
    with mock_aws():
        s3 = boto3.client("s3", region_name=settings.AWS_REGION)

        def deploy(release: str, live: bool = False) -> None:
            if bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
                create_bucket(s3, bucket)
            s3.put_object(Bucket=bucket, Key=f"{prefix}{release}/{MANIFEST}", Body=b"{}")
            if live:
                monkeypatch.setenv(f"AIRFLOW_VAR_{RELEASE_VARIABLE.upper()}", release)

        yield deploy


@pytest.fixture
def emr_client(deploy_release):
    """moto's EMR, with RELEASE deployed and live."""
    deploy_release(RELEASE, live=True)
    return boto3.client("emr", region_name=load_settings().AWS_REGION)


def git(*args: str, cwd) -> str:
    """A git command in `cwd` as a tests' author, which must succeed; its output."""
    identity = {
        "GIT_AUTHOR_NAME": "tests",
        "GIT_AUTHOR_EMAIL": "tests@example.com",
        "GIT_COMMITTER_NAME": "tests",
        "GIT_COMMITTER_EMAIL": "tests@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=os.environ | identity, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def assert_no_cluster_up(client) -> None:
    up = client.list_clusters(ClusterStates=list(ACTIVE_CLUSTER_STATES))["Clusters"]
    assert up == [], f"clusters left up: {[(c['Id'], c['Status']['State']) for c in up]}"


# moto's account, where `make infra` creates the stacks and their image repositories.
ACCOUNT = "123456789012"
# The region of the repository's dev environment: the stacks are made in its partition.
REGION = load_settings("dev").AWS_REGION
DNS_SUFFIX = EndpointResolver(create_loader().load_data("endpoints")).get_partition_dns_suffix(
    get_session().get_partition_for_region(REGION)
)
EKS_OIDC_ISSUER = f"oidc.eks.{REGION}.{DNS_SUFFIX}/id/0123456789ABCDEF"
STACK_ENVIRONMENTS = ("dev", "staging")


def stack_settings(env: str, settings: dict) -> dict:
    """`settings` of `env` with what a team fills in before its first `make infra` (README,
    "Set up an environment"), whatever the repository's file says: the stack tests own these.
    The rest (buckets, roles, namespace) stays the team's, so the stacks are theirs."""
    infra = {
        "GITHUB_REPOSITORY": "acme/pipelines",
        "DAGS_S3_URI": f"s3://acme-airflow-{env}/dags",
        "MWAA_ENVIRONMENT": None,
        # dev runs container jobs on EKS (the jobs' IRSA role), staging does not.
        "EKS_OIDC_ISSUER": EKS_OIDC_ISSUER if env == "dev" else None,
        # dev's stack creates the buckets, and staging's too when they are not dev's.
        "CREATE_BUCKETS": env == "dev" or buckets(settings) != buckets(vars(load_settings("dev"))),
    }
    registry = f"{ACCOUNT}.dkr.ecr.{REGION}.{DNS_SUFFIX}/acme/{env}"
    return settings | {"IMAGE_REGISTRY": registry, "INFRA": settings["INFRA"] | infra}


def buckets(settings: dict) -> set[str]:
    return {split_s3_uri(settings[key])[0] for key in ("DEPLOYMENT_BUCKET", "DATA_BUCKET")}


@pytest.fixture
def stack_repo(tmp_path) -> Path:
    """A copy of this repository's deployables, deploy scripts and stack template, with the dev
    and staging settings filled in for `make infra` (dev also with an EKS cluster)."""
    ignore = shutil.ignore_patterns(".venv", "__pycache__", ".pytest_cache")
    for folder in ("dags", "jobs", "infra", "scripts"):
        shutil.copytree(REPO / folder, tmp_path / folder, ignore=ignore)
    for env in STACK_ENVIRONMENTS:
        path = tmp_path / PACKAGE_DIR.relative_to(REPO) / "environments" / f"{env}.json"
        settings = stack_settings(env, json.loads(path.read_text()))
        path.write_text(json.dumps(settings, indent=2))
    return tmp_path


@pytest.fixture
def availability_zones(monkeypatch) -> None:
    """Availability zones in REGION, as AWS has them. moto 5 knows none in the regions it does
    not list (eusc-de-east-1): its default VPC there has no subnet, and CreateSubnet fails."""
    from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend, Zone

    if not RegionsAndZonesBackend.zones.get(REGION):
        zones = [
            Zone(f"{REGION}{letter}", REGION, f"{REGION}-az{number}")
            for number, letter in enumerate("abc", 1)
        ]
        monkeypatch.setitem(RegionsAndZonesBackend.zones, REGION, zones)


def iam_client(region: str = REGION):
    """IAM as the stacks made it. moto reads an IAM request's region from the endpoint's host,
    and GovCloud's global endpoint (iam.us-gov.amazonaws.com) names none: moto would look in the
    aws partition, not where CloudFormation put the roles. A regional host names the region."""
    endpoint = f"https://iam.{region}.amazonaws.com"
    return boto3.client("iam", region_name=region, endpoint_url=endpoint)
