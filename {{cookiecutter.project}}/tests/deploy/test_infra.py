"""`make infra` in moto's CloudFormation, then the deploy against what it created, each AWS
call the deploy makes checked against the deploy role's policies (tests/iam.py)."""

import json
import subprocess
import sys

import boto3
import pytest
import yaml

from scripts.deploy import artifacts, dags, images, infra
from scripts.deploy.layout import (
    PACKAGE,
    REPO,
    container_jobs,
    environments_dir,
    load_environment,
    read_settings,
    split_s3_uri,
)
from tests.conftest import EKS_OIDC_ISSUER, REGION, STACK_ENVIRONMENTS, iam_client
from tests.deploy.support import RELEASE, create_bucket
from tests.iam import (
    PARTITION,
    Request,
    allows,
    denied,
    recorded_calls,
    requests,
    role_policies,
    trust_policy,
)

PROJECT = infra.PROJECT


@pytest.fixture
def stacks(stack_repo, aws, capsys):
    """The dev and staging stacks, as `make infra` creates them; returns what dev printed."""
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    infra.deploy_stack("dev", cloudformation, stack_repo)
    printed = capsys.readouterr().out
    infra.deploy_stack("staging", cloudformation, stack_repo)
    capsys.readouterr()
    for env in STACK_ENVIRONMENTS:  # the S3 DAGs folders (MWAA's buckets) exist already
        bucket, _ = split_s3_uri(load_environment(env, stack_repo).infra_setting("DAGS_S3_URI"))
        create_bucket(boto3.client("s3", region_name=REGION), bucket)
    return printed


def deploy_role(env: str) -> str:
    return f"{PROJECT}-{env}-deploy"


def deploy_audience() -> str:
    """The audience of the deploy's GitHub OIDC tokens, as the deploy action asks for them."""
    action = yaml.safe_load((REPO / ".github" / "actions" / "deploy" / "action.yml").read_text())
    [credentials] = [
        step
        for step in action["runs"]["steps"]
        if step.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    return credentials["with"]["audience"]


def test_infra_shows_its_changes_and_creates_the_environment(stack_repo, stacks):
    jobs = container_jobs(stack_repo)
    assert stacks.splitlines()[0] == f"{PROJECT}-dev: create"
    for resource in ("DeploymentBucketResource", "DeployRole", "EmrInstanceProfile", "JobsRole"):
        assert f"Add    {resource} " in stacks
    ecr = boto3.client("ecr", region_name=REGION)
    for env in ("dev", "staging"):
        registry = load_environment(env, stack_repo).image_registry.partition("/")[2]
        names = sorted(f"{registry}/{job.image}" for job in jobs)
        found = ecr.describe_repositories(repositoryNames=names)["repositories"] if names else []
        assert sorted(repository["repositoryName"] for repository in found) == names
        # (moto drops ScanOnPush from the template: tests/test_infra.py checks the template)
        assert {repository["imageTagMutability"] for repository in found} <= {"IMMUTABLE"}
    s3 = boto3.client("s3", region_name=REGION)
    dev = read_settings("dev", stack_repo)
    for bucket in ("DEPLOYMENT_BUCKET", "DATA_BUCKET"):  # moto leaves out their properties:
        s3.head_bucket(Bucket=dev[bucket].split("/")[2])  # tests/test_infra.py checks them
    iam = iam_client()
    profile = iam.get_instance_profile(InstanceProfileName=dev["EMR_INSTANCE_PROFILE"])
    assert [role["RoleName"] for role in profile["InstanceProfile"]["Roles"]] == [
        dev["EMR_INSTANCE_PROFILE"]
    ]
    iam.get_role(RoleName=dev["EMR_SERVICE_ROLE"])
    with pytest.raises(iam.exceptions.NoSuchEntityException):  # staging has no EKS issuer
        iam.get_role(RoleName=f"{PROJECT}-staging-jobs")


def test_infra_again_changes_nothing(stack_repo, stacks, capsys):
    infra.deploy_stack("dev", boto3.client("cloudformation", region_name=REGION), stack_repo)
    assert capsys.readouterr().out == f"{PROJECT}-dev: no changes\n"


def test_the_deploy_needs_nothing_its_role_does_not_allow(
    stack_repo, stacks, fake_docker, monkeypatch
):
    dev = load_environment("dev", stack_repo)
    s3 = boto3.client("s3", region_name=REGION)
    with recorded_calls(monkeypatch) as calls:
        images.push_images(dev, RELEASE, stack_repo)
        artifacts.upload_release(dev, RELEASE, s3, stack_repo)
        artifacts.check_release_exists(dev, RELEASE, s3)
        dags.sync_dags(dev.infra_setting("DAGS_S3_URI"), s3, stack_repo)
    assert {call.operation for call in calls} >= {"PutObject", "HeadObject", "ListObjectsV2"}
    policies = role_policies(iam_client(), deploy_role("dev"))
    assert denied(policies, calls) == []


def test_the_deploy_role_cannot_touch_another_environment(stack_repo, stacks, monkeypatch):
    staging = load_environment("staging", stack_repo)
    s3 = boto3.client("s3", region_name=REGION)
    with recorded_calls(monkeypatch) as calls:
        images.check_repositories(staging.image_registry, container_jobs(stack_repo))
        artifacts.upload_release(staging, RELEASE, s3, stack_repo)
        dags.sync_dags(staging.infra_setting("DAGS_S3_URI"), s3, stack_repo)
    policies = role_policies(iam_client(), deploy_role("dev"))
    attempted = [request for call in calls for request in requests(call)]
    assert {request.action for request in attempted} >= {"s3:PutObject", "s3:ListBucket"}
    assert [request for request in attempted if allows(policies, request)] == []
    registry = staging.image_registry.partition("/")[2]
    repository = f"arn:{PARTITION}:ecr:{REGION}:123456789012:repository/{registry}/x"
    push = Request("ecr:PutImage", repository)
    assert not allows(policies, push)


@pytest.mark.parametrize(
    ("subject", "allowed"),
    [
        ("repo:acme/pipelines:environment:dev:ref:refs/heads/main", True),
        ("repo:acme/pipelines:environment:dev:ref:refs/heads/feature", False),
        ("repo:acme/pipelines:environment:dev", False),
        ("repo:acme/pipelines:environment:staging:ref:refs/heads/main", False),
        ("repo:acme/pipelines:ref:refs/heads/main", False),
        ("repo:someone/pipelines:environment:dev:ref:refs/heads/main", False),
    ],
)
def test_only_this_repositorys_deploy_job_of_the_environment_assumes_its_role(
    stacks, subject, allowed
):
    trust = trust_policy(iam_client(), deploy_role("dev"))
    token = {
        "token.actions.githubusercontent.com:aud": deploy_audience(),
        "token.actions.githubusercontent.com:sub": subject,
    }
    assert allows([trust], Request("sts:AssumeRoleWithWebIdentity", "*", token)) is allowed


def test_container_jobs_write_only_the_teams_data_of_their_environment(stack_repo, stacks):
    iam = iam_client()
    role = f"{PROJECT}-dev-jobs"
    policies = role_policies(iam, role)

    def can_write(env: str, path: str) -> bool:
        bucket, prefix = split_s3_uri(read_settings(env, stack_repo)["DATA_BUCKET"])
        key_arn = f"arn:{PARTITION}:s3:::{bucket}/{prefix}{path}"
        return allows(policies, Request("s3:PutObject", key_arn))

    assert can_write("dev", f"{PACKAGE}/app.dag/task/2026-01-31/part-0.parquet")
    assert not can_write("staging", f"{PACKAGE}/app.dag/task/2026-01-31/part-0.parquet")
    assert not can_write("dev", "another_team/x")
    dev = read_settings("dev", stack_repo)
    subject = f"{EKS_OIDC_ISSUER}:sub"
    service_account = {
        f"{EKS_OIDC_ISSUER}:aud": "sts.amazonaws.com",
        subject: f"system:serviceaccount:{dev['K8S_NAMESPACE']}:{dev['K8S_SERVICE_ACCOUNT']}",
    }
    assume = Request("sts:AssumeRoleWithWebIdentity", "*", service_account)
    assert allows([trust_policy(iam, role)], assume)
    other = Request("sts:AssumeRoleWithWebIdentity", "*", service_account | {subject: "x"})
    assert not allows([trust_policy(iam, role)], other)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ("qa", "unknown environment 'qa'"),
        ("local", "environments/local.json has no INFRA settings"),
        ("dev", "environments/dev.json: set INFRA.GITHUB_REPOSITORY"),
    ],
)
def test_make_infra_refuses_incomplete_settings_in_one_line(stack_repo, env, message):
    dev = environments_dir(stack_repo) / "dev.json"
    unset = json.loads(dev.read_text())
    unset["INFRA"]["GITHUB_REPOSITORY"] = None
    dev.write_text(json.dumps(unset))
    command = [sys.executable, "-m", "scripts.deploy", "infra", env]
    result = subprocess.run(command, cwd=stack_repo, capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1


def test_stack_parameters_are_the_settings(stack_repo):
    parameters = infra.stack_parameters("staging", stack_repo)
    staging = read_settings("staging", stack_repo)
    assert parameters["CreateBuckets"] == str(staging["INFRA"]["CREATE_BUCKETS"]).lower()
    assert parameters["DeploymentPrefix"] == split_s3_uri(staging["DEPLOYMENT_BUCKET"])[1]
    assert parameters["RegistryPath"] == staging["IMAGE_REGISTRY"].partition("/")[2]
    assert parameters["DagsBucket"] == split_s3_uri(staging["INFRA"]["DAGS_S3_URI"])[0]
    assert parameters["EmrServiceRoleName"] == staging["EMR_SERVICE_ROLE"]
    assert json.dumps(parameters)  # every value is a string CloudFormation accepts
    assert all(isinstance(value, str) for value in parameters.values())
