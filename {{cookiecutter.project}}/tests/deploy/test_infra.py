"""`make infra` in moto's CloudFormation, then the deploy against what it created, each AWS
call the deploy makes checked against the deploy role's policies (tests/iam.py)."""

import json
import subprocess
import sys

import boto3
import pytest
import yaml

from {{ cookiecutter.package }}.paths import data_path, output_path
from {{ cookiecutter.package }}.settings import load_settings

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
from tests.conftest import EKS_OIDC_ISSUER, REGION, iam_client
from tests.deploy.support import RELEASE, data_key
from tests.iam import (
    ACCOUNT,
    PARTITION,
    Request,
    allows,
    denied,
    evaluate,
    recorded_calls,
    requests,
    role_partition,
    role_policies,
    trust_allows,
    trust_policy,
)

PROJECT = infra.PROJECT


def deploy_role(env: str) -> str:
    return f"{PROJECT}-{env}-deploy"


def role_arn(name: str) -> str:
    return f"arn:{role_partition(REGION)}:iam::{ACCOUNT}:role/{name}"


def provider(issuer: str) -> str:
    """The IAM OIDC provider of `issuer`, as the stack's trust policies name it."""
    return f"arn:{PARTITION}:iam::{ACCOUNT}:oidc-provider/{issuer}"


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
    with recorded_calls(monkeypatch) as pushing:
        images.push_images(dev, RELEASE, stack_repo)
    fake_docker.mirror_to_ecr(boto3.client("ecr", region_name=REGION))  # what the pushes left
    with recorded_calls(monkeypatch) as shipping:
        release_images = artifacts.image_digests(dev, RELEASE, stack_repo)
        artifacts.upload_release(dev, RELEASE, s3, stack_repo, release_images)
        images.keep_live(release_images)
        artifacts.check_release_complete(dev, RELEASE, s3)
        dags.sync_dags(dev.infra_setting("DAGS_S3_URI"), s3, stack_repo)
    calls = pushing + shipping
    assert {call.operation for call in calls} >= {"PutObject", "GetObject", "ListObjectsV2"}
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
    assert [decision for decision in evaluate(policies, attempted) if decision.allowed] == []
    registry = staging.image_registry.partition("/")[2]
    repository = f"arn:{PARTITION}:ecr:{REGION}:123456789012:repository/{registry}/x"
    push = Request("ecr:PutImage", repository)
    assert not allows(policies, push)


GITHUB = "token.actions.githubusercontent.com"


def github_claims(environment: str | None, ref: str | None, repository="acme/pipelines") -> dict:
    """The claims STS sees for a job of `repository` on `ref` (None: where STS does not evaluate
    GitHub's own claims) in GitHub environment `environment`, with GitHub's default subject."""
    where = f"environment:{environment}" if environment else f"ref:{ref}"
    claims = {f"{GITHUB}:aud": deploy_audience(), f"{GITHUB}:sub": f"repo:{repository}:{where}"}
    return claims | ({f"{GITHUB}:ref": ref} if ref else {})


def test_only_this_repositorys_deploy_job_of_the_environment_on_main_assumes_its_role(stacks):
    """GitHub's default claims of a job that names an environment: no customised subject."""
    main = github_claims("dev", "refs/heads/main")
    customised = main | {f"{GITHUB}:sub": "repo:acme/pipelines:environment:dev:ref:refs/heads/main"}
    cases = {
        "main": main,
        "another branch": github_claims("dev", "refs/heads/feature"),
        "pull request": github_claims("dev", "refs/pull/7/merge"),
        "another environment": github_claims("staging", "refs/heads/main"),
        "no environment": github_claims(None, "refs/heads/main"),
        "another repository": github_claims("dev", "refs/heads/main", "someone/pipelines"),
        # Where STS does not evaluate `ref`, the GitHub environment's branch policy decides.
        "ref not evaluated": github_claims("dev", None),
        "customised subject (reset it to GitHub's default)": customised,
    }
    trust = trust_policy(iam_client(), deploy_role("dev"))
    role = role_arn(deploy_role("dev"))
    allowed = {
        case: trust_allows(
            trust, Request("sts:AssumeRoleWithWebIdentity", role, claims), provider(GITHUB)
        )
        for case, claims in cases.items()
    }
    assert [case for case, yes in allowed.items() if yes] == ["main", "ref not evaluated"]


def test_jobs_and_clusters_read_shared_inputs_and_write_only_the_teams_data(stacks):
    """The container jobs' IRSA role and the clusters' instance role, against the data paths the
    code renders (dags/<package>/paths.py) and the examples' shared input, landing/."""
    iam = iam_client()
    settings = load_settings("dev")
    bucket, prefix = split_s3_uri(settings.DATA_BUCKET)

    task_data = data_key(data_path("task"), settings)
    paths = {
        "landing": f"{prefix}landing/orders/2026-01-31/orders.csv",
        "task data": task_data,
        "final output": data_key(output_path("scores"), settings),
        "another team's": task_data.replace(f"/{PACKAGE}/", "/another_team/"),
        "another environment's": task_data.replace(prefix, "staging/", 1),
    }
    for role in (f"{PROJECT}-dev-jobs", settings.EMR_INSTANCE_PROFILE):
        policies = role_policies(iam, role)

        def can(action: str, path: str, policies=policies) -> bool:
            return allows(policies, Request(action, f"arn:{PARTITION}:s3:::{bucket}/{path}"))

        readable = [what for what, path in paths.items() if can("s3:GetObject", path)]
        writable = [what for what, path in paths.items() if can("s3:PutObject", path)]
        assert readable == ["landing", "task data", "final output"], role
        assert writable == ["task data", "final output"], role
        folder = paths["landing"].rsplit("/", 1)[0] + "/"
        listing = Request("s3:ListBucket", f"arn:{PARTITION}:s3:::{bucket}", {"s3:prefix": folder})
        assert allows(policies, listing), role


def test_container_jobs_assume_their_role_through_their_service_account(stack_repo, stacks):
    iam = iam_client()
    role = f"{PROJECT}-dev-jobs"
    dev = read_settings("dev", stack_repo)
    subject = f"{EKS_OIDC_ISSUER}:sub"
    service_account = {
        f"{EKS_OIDC_ISSUER}:aud": "sts.amazonaws.com",
        subject: f"system:serviceaccount:{dev['K8S_NAMESPACE']}:{dev['K8S_SERVICE_ACCOUNT']}",
    }
    assume = Request("sts:AssumeRoleWithWebIdentity", role_arn(role), service_account)
    cluster = provider(EKS_OIDC_ISSUER)
    assert trust_allows(trust_policy(iam, role), assume, cluster)
    other = Request(assume.action, assume.resource, service_account | {subject: "x"})
    assert not trust_allows(trust_policy(iam, role), other, cluster)


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
