"""What each environment keeps, in one account: dev creates the shared buckets, staging reuses
them, each applies its own retention (scripts/deploy/retention.py) as `make infra` does. moto
stores lifecycle rules but never runs them, so the tests read them back and apply AWS's rules
for the filters used here (S3: a prefix; ECR: rule priority, tag patterns, count and age)."""

import hashlib
import json
from fnmatch import fnmatchcase
from types import SimpleNamespace

import boto3
import pytest

from {{ cookiecutter.package }}.paths import data_path, output_path
from {{ cookiecutter.package }}.release import PinRelease, ReleaseError

from scripts.deploy import artifacts, images, infra, retention
from scripts.deploy.cli import main
from scripts.deploy.layout import PACKAGE, load_environment, read_settings, split_s3_uri
from tests.conftest import REGION, iam_client
from tests.deploy.support import EARLIER_RELEASE, RELEASE, data_key
from tests.iam import enforced, managed_policy, role_policies

ENVIRONMENTS = ("dev", "staging")  # dev creates the buckets, staging shares them


def set_infra(root, environment: str, **values) -> None:
    """Change `INFRA` settings of `environment` in the repository copy `root`."""
    path = root / "dags" / PACKAGE / "environments" / f"{environment}.json"
    settings = json.loads(path.read_text())
    settings["INFRA"] |= values
    path.write_text(json.dumps(settings))


def expires_after(rules: list[dict], key: str) -> int | None:
    """After how many days S3 expires `key`'s current version: the soonest Expiration of the
    enabled rules whose prefix the key starts with (None: never)."""
    days = []
    for rule in rules:
        assert set(rule["Filter"]) == {"Prefix"}, f"only prefix filters are modelled: {rule}"
        if rule["Status"] == "Enabled" and key.startswith(rule["Filter"]["Prefix"]):
            days += [rule["Expiration"]["Days"]] if "Expiration" in rule else []
    return min(days, default=None)


def expired_images(policy: dict, pushed: dict[str, tuple[list[str], int]]) -> set[str]:
    """The images (name -> (tags, days since the push)) an ECR lifecycle policy expires. An image
    answers to the first rule, by priority, whose tag selection matches it, and to no later one."""
    expired, claimed = set(), set()
    for rule in sorted(policy["rules"], key=lambda rule: rule["rulePriority"]):
        selection = rule["selection"]
        patterns = selection.get("tagPatternList", [])

        def selected(tags: list[str], status=selection["tagStatus"], patterns=patterns) -> bool:
            if status == "any":
                return True
            if status == "untagged":
                return not tags
            return all(any(fnmatchcase(tag, pattern) for tag in tags) for pattern in patterns)

        mine = sorted(
            (name for name, (tags, _) in pushed.items() if name not in claimed and selected(tags)),
            key=lambda name: pushed[name][1],
        )
        claimed |= set(mine)
        if selection["countType"] == "imageCountMoreThan":
            expired |= set(mine[selection["countNumber"] :])
        else:
            expired |= {name for name in mine if pushed[name][1] > selection["countNumber"]}
    return expired


@pytest.fixture
def stack_repo(stack_repo):
    """Staging's releases and data in dev's buckets under its own prefix, whatever the
    repository's files say: where one environment's rules could reach the other's."""
    dev = read_settings("dev", stack_repo)
    path = stack_repo / "dags" / PACKAGE / "environments" / "staging.json"
    staging = json.loads(path.read_text())
    for key in ("DEPLOYMENT_BUCKET", "DATA_BUCKET"):
        staging[key] = f"s3://{split_s3_uri(dev[key])[0]}/staging"
    staging["INFRA"]["CREATE_BUCKETS"] = False
    path.write_text(json.dumps(staging))
    return stack_repo


@pytest.fixture
def job_repository(stack_repo, stacks) -> str:
    """A container job of the repository copy, with its image repository in each environment's
    registry (as a stack of make new-app's declares it); returns dev's."""
    dockerfile = stack_repo / "jobs" / "retention" / "score" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text("FROM python:3.12-slim\n")
    for env in ENVIRONMENTS:
        path = load_environment(env, stack_repo).image_registry.partition("/")[2]
        boto3.client("ecr", region_name=REGION).create_repository(
            repositoryName=f"{path}/retention-score"
        )
    return f"{load_environment('dev', stack_repo).image_registry.partition('/')[2]}/retention-score"


def test_each_environment_expires_its_task_data_and_logs_alone_after_its_own_days(
    stack_repo, job_repository
):
    s3 = boto3.client("s3", region_name=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    bucket, _ = split_s3_uri(read_settings("dev", stack_repo)["DATA_BUCKET"])
    # What the stack set before (it expired the whole bucket), and another team's own rule.
    before = [
        {"ID": "expire-intermediate-data", "Status": "Enabled", "Filter": {"Prefix": ""}},
        {"ID": "another-team", "Status": "Enabled", "Filter": {"Prefix": "x/"}},
    ]
    for rule in before:
        rule["Expiration"] = {"Days": 30}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": before})
    set_infra(stack_repo, "staging", DATA_RETENTION_DAYS=7)
    printed = {env: retention.apply_retention(env, s3, ecr, stack_repo) for env in ENVIRONMENTS}
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]

    expected, found = {}, {}
    for env in ENVIRONMENTS:
        settings = read_settings(env, stack_repo)
        prefix = split_s3_uri(settings["DATA_BUCKET"])[1]
        days = settings["INFRA"]["DATA_RETENTION_DAYS"]
        keys = {
            "landing": f"{prefix}landing/orders/2026-01-31/orders.csv",
            "task data": data_key(data_path("task"), settings),
            "final output": data_key(output_path("scores"), settings),
            "EMR logs": f"{prefix}emr-logs/j-1/steps/s-1/stderr.gz",
        }
        for what, key in keys.items():
            found[f"{env} {what}"] = expires_after(rules, key)
            expected[f"{env} {what}"] = days if what in ("task data", "EMR logs") else None
        rule = f"s3://{bucket}/{prefix}{PACKAGE}/: expires {days} days after it is written"
        assert rule in printed[env]
    assert found == expected
    assert found["staging task data"] == 7 != found["dev task data"]
    assert [rule["ID"] for rule in rules if rule["ID"] == "another-team"] == ["another-team"]


def test_every_release_inside_the_retention_keeps_its_scripts_and_images(
    stack_repo, job_repository
):
    s3 = boto3.client("s3", region_name=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    set_infra(stack_repo, "dev", RELEASE_RETENTION_DAYS=90)
    retention.apply_retention("dev", s3, ecr, stack_repo)
    bucket, prefix = split_s3_uri(load_environment("dev", stack_repo).deployment_bucket)
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    for key in (f"{RELEASE}/retention/score.py", f"{RELEASE}/{artifacts.MANIFEST}"):
        assert expires_after(rules, prefix + key) is None, "releases are never expired"
    policy = ecr.get_lifecycle_policy(repositoryName=job_repository)["lifecyclePolicyText"]
    pushed = {
        "pushed 89 days ago": ([RELEASE], 89),
        "pushed 90 days ago": ([EARLIER_RELEASE], 90),
        "pushed 91 days ago": (["0" * 40], 91),
        "live, pushed 900 days ago": (["1" * 40, images.LIVE_TAG], 900),
    }
    assert expired_images(json.loads(policy), pushed) == {"pushed 91 days ago"}


def push(ecr, repository: str, tag: str) -> str:
    """An image in moto's ECR, as a push leaves it; returns its digest: its manifest's, as ECR
    has it (without one, moto draws one of 101 digests, and two releases' images may share it)."""
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"}
    body = json.dumps(manifest | {"annotations": {"release": tag}})
    digest = f"sha256:{hashlib.sha256(body.encode()).hexdigest()}"
    ecr.put_image(repositoryName=repository, imageManifest=body, imageTag=tag, imageDigest=digest)
    return digest


def test_a_release_whose_image_expired_is_refused_by_the_release_task_and_rollback(
    stack_repo, job_repository, monkeypatch, capsys
):
    """Rolled back to, or rerun on, a release whose image ECR expired: a run fails at `release`
    in one line, before any pod starts, and `make rollback` refuses it first."""
    dev = load_environment("dev", stack_repo)
    s3 = boto3.client("s3", region_name=REGION)
    ecr = boto3.client("ecr", region_name=REGION)
    iam = iam_client(REGION)
    image = f"{dev.image_registry}/retention-score"
    deploy = role_policies(iam, f"{infra.PROJECT}-dev-deploy")
    with enforced(monkeypatch, deploy) as authorized:  # two deploys, as the deploy role
        for release in (EARLIER_RELEASE, RELEASE):
            release_images = {f"{image}:{release}": push(ecr, job_repository, release)}
            artifacts.upload_release(dev, release, s3, stack_repo, release_images)
            images.keep_live(release_images)
    assert authorized.refused == []
    tags = {
        tag: detail
        for detail in ecr.describe_images(repositoryName=job_repository)["imageDetails"]
        for tag in detail["imageTags"]
    }
    assert tags[images.LIVE_TAG] == tags[RELEASE], "the release deployed last is the live one"
    gone = f"{image}:{EARLIER_RELEASE}@{tags[EARLIER_RELEASE]['imageDigest']}"
    expire = [{"imageDigest": tags[EARLIER_RELEASE]["imageDigest"]}]  # as the lifecycle policy does
    ecr.batch_delete_image(repositoryName=job_repository, imageIds=expire)

    arns = {policy["PolicyName"]: policy["Arn"] for policy in iam.list_policies()["Policies"]}
    runtime = [managed_policy(iam, arns[f"{infra.PROJECT}-dev-airflow-runtime"])]
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", '{"conn_type": "aws"}')
    run = {
        "dag_run": SimpleNamespace(conf={"release": EARLIER_RELEASE}),
        "task_state_store": None,
        "ti": SimpleNamespace(xcom_push=lambda key, value: None),
    }
    with enforced(monkeypatch, runtime) as authorized, pytest.raises(ReleaseError) as error:
        PinRelease(task_id="release").execute(run)
    assert str(error.value).splitlines() == [
        f"release {EARLIER_RELEASE} (the run's conf 'release') can no longer run in dev: {gone} "
        "gone (images expire INFRA.RELEASE_RETENTION_DAYS days after their push)"
    ]
    run["dag_run"].conf = {"release": RELEASE}
    with enforced(monkeypatch, runtime) as checked:
        assert PinRelease(task_id="release").execute(run) == RELEASE
    assert authorized.refused == checked.refused == []
    assert {call.operation for call in checked.calls} >= {"ListObjectsV2", "DescribeImages"}

    airflow = {
        "AIRFLOW_URL": "http://127.0.0.1:9",
        "AIRFLOW_USERNAME": "a",
        "AIRFLOW_PASSWORD": "b",
    }
    for name, value in airflow.items():
        monkeypatch.setenv(name, value)
    with enforced(monkeypatch, deploy) as authorized:
        assert main(["rollback", "dev", EARLIER_RELEASE, "--api", "airflow", "--dry-run"]) == 1
        assert main(["rollback", "dev", RELEASE, "--api", "airflow", "--dry-run"]) == 0
    assert authorized.refused == []
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith(
        f"error: release {EARLIER_RELEASE} can no longer run in dev: {gone} gone"
    )
