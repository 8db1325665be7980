from dataclasses import replace

import boto3
import pytest

from scripts.deploy import DeployError
from scripts.deploy.images import ECR_HOST, build_images, promote_images, push_images
from tests.deploy.support import REGISTRY, RELEASE

TRAIN = f"{REGISTRY}/recommend-train:{RELEASE}"
PUBLISH = f"{REGISTRY}/report-publish:{RELEASE}"


def test_build_images_builds_each_job_from_its_own_folder(tree, fake_docker):
    built = build_images("local", "linux/arm64", tree)
    assert built == ["recommend-train:local", "report-publish:local"]
    assert fake_docker.commands() == [
        [
            "build",
            "--platform",
            "linux/arm64",
            "--tag",
            "recommend-train:local",
            "--label",
            "org.opencontainers.image.revision=local",
            str(tree / "jobs/recommend/train"),
        ],
        [
            "build",
            "--platform",
            "linux/arm64",
            "--tag",
            "report-publish:local",
            "--label",
            "org.opencontainers.image.revision=local",
            str(tree / "jobs/report/publish"),
        ],
    ]


@pytest.fixture
def registry(aws):
    """The ECR repositories of the tree's container jobs (what `make infra` creates)."""
    ecr = boto3.client("ecr", region_name="eu-west-1")
    for image in ("recommend-train", "report-publish"):
        ecr.create_repository(repositoryName=f"{REGISTRY.partition('/')[2]}/{image}")
    return ecr


def test_push_logs_in_to_ecr_then_builds_and_pushes_each_image(
    tree, fake_docker, registry, environment
):
    assert push_images(environment, RELEASE, tree) == [TRAIN, PUBLISH]
    login, *rest = fake_docker.calls
    host = REGISTRY.split("/")[0]
    assert login["args"] == ["login", "--username", "AWS", "--password-stdin", host]
    assert login["stdin"], "the registry password goes through standard input"
    assert not any(login["stdin"] in arg for call in fake_docker.calls for arg in call["args"])
    assert [call["args"][:2] for call in rest] == [
        ["manifest", "inspect"],
        ["build", "--platform"],
        ["push", TRAIN],
        ["manifest", "inspect"],
        ["build", "--platform"],
        ["push", PUBLISH],
    ]


def test_push_again_is_a_no_op(tree, fake_docker, registry, environment):
    push_images(environment, RELEASE, tree)
    first = len(fake_docker.calls)
    assert push_images(environment, RELEASE, tree) == [TRAIN, PUBLISH]
    again = [call["args"][0] for call in fake_docker.calls[first:]]
    assert again == ["login", "manifest", "manifest"], "nothing is rebuilt or pushed again"


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("123456789012.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1"),
        ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"),
        ("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("123456789012.dkr.ecr.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1"),
    ],
)
def test_ecr_registries_are_recognised_in_every_partition(host, region):
    match = ECR_HOST.match(host)
    assert match and (match["account"], match["region"]) == ("123456789012", region)


def test_a_job_without_its_repository_stops_the_deploy_before_docker(
    tree, fake_docker, registry, environment
):
    registry.delete_repository(repositoryName="team/report-publish")
    with pytest.raises(DeployError, match=r"no ECR repository team/report-publish in .*make infra"):
        push_images(environment, RELEASE, tree)
    assert fake_docker.calls == []


def test_other_registries_use_the_existing_login(tree, fake_docker, environment, capsys):
    other = replace(environment, image_registry="registry.example.com:5000/team")
    push_images(other, RELEASE, tree)
    assert "login" not in [command[0] for command in fake_docker.commands()]
    assert "not an ECR registry" in capsys.readouterr().out


def test_a_failed_build_stops_the_deploy(tree, fake_docker, registry, environment, monkeypatch):
    monkeypatch.setenv("FAKE_DOCKER_FAIL", "build")
    with pytest.raises(
        DeployError, match=r"docker build .*recommend/train failed with exit code 3"
    ):
        push_images(environment, RELEASE, tree)
    assert "push" not in [command[0] for command in fake_docker.commands()]


def test_no_container_jobs_means_no_docker_at_all(tmp_path, fake_docker, environment):
    assert push_images(environment, RELEASE, tmp_path) == []
    assert build_images("local", "linux/amd64", tmp_path) == []
    assert fake_docker.calls == []


def test_missing_docker_is_one_clear_error(tree, environment, monkeypatch):
    monkeypatch.setenv("PATH", str(tree / "no-bin"))
    with pytest.raises(DeployError, match="docker is not installed"):
        build_images("local", "linux/amd64", tree)


def test_promotion_copies_the_very_image_by_digest(
    tree, fake_docker, registry, environment, capsys
):
    push_images(environment, RELEASE, tree)
    staging = replace(environment, name="staging", image_registry="registry.example.com/team")
    first = len(fake_docker.calls)
    promoted = promote_images(environment, staging, RELEASE, tree)
    commands = fake_docker.commands()[first:]
    copies = [c for c in commands if c[:3] == ["buildx", "imagetools", "create"]]
    assert [copy[3:5] for copy in copies] == [
        ["--tag", f"registry.example.com/team/recommend-train:{RELEASE}"],
        ["--tag", f"registry.example.com/team/report-publish:{RELEASE}"],
    ]
    assert [copy[5] for copy in copies] == [
        reference.replace("registry.example.com/team", REGISTRY) for reference in promoted
    ]
    assert "build" not in [command[0] for command in fake_docker.commands()[first:]]
    assert f"{TRAIN}@sha256:" in capsys.readouterr().out, "each copy is in the log"


def test_promotion_within_one_registry_copies_nothing(tree, fake_docker, registry, environment):
    push_images(environment, RELEASE, tree)
    first = len(fake_docker.calls)
    staging = replace(environment, name="staging")
    assert [ref.split("@")[0] for ref in promote_images(environment, staging, RELEASE, tree)] == [
        TRAIN,
        PUBLISH,
    ]
    assert "create" not in [arg for call in fake_docker.commands()[first:] for arg in call]


def test_promotion_of_a_release_the_source_never_had_stops(tree, fake_docker, aws, environment):
    staging = replace(environment, name="staging", image_registry="registry.example.com/team")
    with pytest.raises(DeployError, match=r"recommend-train:.* not in dev's registry: deploy dev"):
        promote_images(environment, staging, RELEASE, tree)
    assert "create" not in [arg for call in fake_docker.commands() for arg in call]
