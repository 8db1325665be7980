from dataclasses import replace

import boto3
import pytest

from scripts.deploy import DeployError
from scripts.deploy.images import build_images, push_images
from tests.deploy.support import REGISTRY, RELEASE

TRAIN = f"{REGISTRY}/recommend-train:{RELEASE}"
PUBLISH = f"{REGISTRY}/report-publish:{RELEASE}"


def test_build_images_builds_each_job_from_its_own_folder(tree, fake_docker):
    assert build_images("local", tree) == ["recommend-train:local", "report-publish:local"]
    assert fake_docker.commands() == [
        [
            "build",
            "--tag",
            "recommend-train:local",
            "--label",
            "org.opencontainers.image.revision=local",
            str(tree / "jobs/recommend/train"),
        ],
        [
            "build",
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
        ["build", "--tag"],
        ["push", TRAIN],
        ["manifest", "inspect"],
        ["build", "--tag"],
        ["push", PUBLISH],
    ]


def test_push_again_is_a_no_op(tree, fake_docker, registry, environment):
    push_images(environment, RELEASE, tree)
    first = len(fake_docker.calls)
    assert push_images(environment, RELEASE, tree) == [TRAIN, PUBLISH]
    again = [call["args"][0] for call in fake_docker.calls[first:]]
    assert again == ["login", "manifest", "manifest"], "nothing is rebuilt or pushed again"


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
    assert build_images("local", tmp_path) == []
    assert fake_docker.calls == []


def test_missing_docker_is_one_clear_error(tree, environment, monkeypatch):
    monkeypatch.setenv("PATH", str(tree / "no-bin"))
    with pytest.raises(DeployError, match="docker is not installed"):
        build_images("local", tree)
