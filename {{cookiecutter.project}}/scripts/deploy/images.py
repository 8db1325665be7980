"""Build the container job images, and push them to an environment's registry.

An image is tagged with the release (the commit SHA) and the tag never moves: an image that is
already in the registry is left alone, so re-running a deploy is safe, a registry with
immutable tags accepts it, and environments sharing a registry build each release once.
"""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import boto3

from scripts.deploy import DeployError
from scripts.deploy.layout import REPO, ContainerJob, Environment, container_jobs

ECR_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")


def docker(*args: str, stdin: str | None = None, probe: bool = False) -> bool:
    """Run one docker command. A failure raises, unless it is a `probe`: then it returns False."""
    try:
        result = subprocess.run(
            ["docker", *args], input=stdin, text=True, capture_output=probe, check=False
        )
    except FileNotFoundError:
        raise DeployError("docker is not installed or not on PATH") from None
    if result.returncode != 0 and not probe:
        raise DeployError(f"docker {args[0]} {args[-1]} failed with exit code {result.returncode}")
    return result.returncode == 0


def build(job: ContainerJob, reference: str, revision: str) -> None:
    label = f"org.opencontainers.image.revision={revision}"
    docker("build", "--tag", reference, "--label", label, str(job.context))


def build_images(tag: str, root: Path = REPO) -> list[str]:
    """Build every image locally, without a registry: what CI checks on every push."""
    references = []
    for job in container_jobs(root):
        reference = f"{job.image}:{tag}"
        build(job, reference, tag)
        references.append(reference)
    return references


def check_repositories(registry: str, jobs: list[ContainerJob]) -> None:
    """Fail before building anything when a job's ECR repository does not exist."""
    host, _, path = registry.partition("/")
    match = ECR_HOST.match(host)
    if not match:
        return
    ecr = boto3.client("ecr", region_name=match["region"])
    missing = []
    for job in jobs:
        name = f"{path}/{job.image}" if path else job.image
        try:
            ecr.describe_repositories(registryId=match["account"], repositoryNames=[name])
        except ecr.exceptions.RepositoryNotFoundException:
            missing.append(name)
    if missing:
        raise DeployError(
            f"no ECR repository {', '.join(missing)} in {host}: infra/aws/environment.yaml "
            "declares one per container job (make new-app adds it); "
            "run make infra ENVIRONMENT=<env>"
        )


def log_in(registry: str) -> None:
    """Log docker in to an ECR registry with the current AWS credentials.

    Other registries are left to the runner (for example docker/login-action before this step).
    """
    host = registry.split("/")[0]
    match = ECR_HOST.match(host)
    if not match:
        print(f"{host}: not an ECR registry, using the existing docker login")
        return
    ecr = boto3.client("ecr", region_name=match["region"])
    token = ecr.get_authorization_token(registryIds=[match["account"]])["authorizationData"][0]
    username, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    docker("login", "--username", username, "--password-stdin", host, stdin=password)


def push_images(environment: Environment, release: str, root: Path = REPO) -> list[str]:
    """Make sure every image of `release` is in the environment's registry; returns them all."""
    jobs = container_jobs(root)
    if not jobs:
        print("images: no container jobs (jobs/<app>/<job>/Dockerfile)")
        return []
    check_repositories(environment.image_registry, jobs)
    log_in(environment.image_registry)
    references = []
    for job in jobs:
        reference = job.reference(environment, release)
        if docker("manifest", "inspect", reference, probe=True):
            print(f"{reference}: already in the registry")
        else:
            build(job, reference, release)
            docker("push", reference)
        references.append(reference)
    return references
