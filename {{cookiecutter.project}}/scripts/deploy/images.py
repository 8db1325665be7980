"""Build the container job images once, push them to the first environment's registry, and
promote them to the next environments by digest.

An image is tagged with the release (the commit SHA) and the tag never moves: an image that is
already in the registry is left alone, so re-running a deploy is safe and a registry with
immutable tags accepts it. Later environments get the very image the first one ran, found by
its digest and copied with `docker buildx imagetools create`: never rebuilt.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
from pathlib import Path

import boto3

from scripts.deploy import DeployError
from scripts.deploy.layout import REPO, ContainerJob, Environment, container_jobs

# What `docker buildx imagetools inspect` prints: the manifest (list) of a reference, as JSON.
MANIFEST_FORMAT = "{% raw %}{{json .Manifest}}{% endraw %}"
# <account>.dkr.ecr.<region>.<the partition's domain>: amazonaws.com, amazonaws.com.cn, ...
ECR_HOST = re.compile(r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.[a-z0-9.-]+$")
# The tag of the images of the release an environment last deployed or rolled back to: their
# repositories' lifecycle policy never expires it (retention.py), however old the image.
LIVE_TAG = "live"


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


def build(job: ContainerJob, reference: str, revision: str, platform: str) -> None:
    label = f"org.opencontainers.image.revision={revision}"
    docker("build", "--platform", platform, "--tag", reference, "--label", label, str(job.context))


def build_images(tag: str, platform: str, root: Path = REPO) -> list[str]:
    """Build every image locally, without a registry: what CI checks on every push."""
    references = []
    for job in container_jobs(root):
        reference = f"{job.image}:{tag}"
        build(job, reference, tag, platform)
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
            build(job, reference, release, environment.image_platform)
            docker("push", reference)
        references.append(reference)
    return references


def digest(reference: str) -> str | None:
    """The registry's digest of `reference`, or None when the registry does not have it."""
    try:
        result = subprocess.run(
            ["docker", "buildx", "imagetools", "inspect", "--format", MANIFEST_FORMAT, reference],
            text=True,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise DeployError("docker is not installed or not on PATH") from None
    return json.loads(result.stdout)["digest"] if result.returncode == 0 else None


def promote_images(
    source: Environment, target: Environment, release: str, root: Path = REPO
) -> list[str]:
    """Copy each image of `release` from `source`'s registry to `target`'s, by digest.

    Every copy is printed as `<source>@<digest> -> <target>`, the audit trail of what runs
    where; an image missing from `source` stops the deploy (deploy `source` first).
    """
    jobs = container_jobs(root)
    if not jobs:
        print("images: no container jobs (jobs/<app>/<job>/Dockerfile)")
        return []
    log_in(source.image_registry)
    if target.image_registry != source.image_registry:
        log_in(target.image_registry)
    references = []
    for job in jobs:
        origin, reference = job.reference(source, release), job.reference(target, release)
        found = digest(origin)
        if found is None:
            raise DeployError(
                f"{origin} is not in {source.name}'s registry: deploy {source.name} first"
            )
        if digest(reference) != found:
            docker("buildx", "imagetools", "create", "--tag", reference, f"{origin}@{found}")
        if digest(reference) != found:
            raise DeployError(f"{reference} does not have the digest {found} after the copy")
        print(f"{origin}@{found} -> {reference}")
        references.append(f"{reference}@{found}")
    return references


def ecr_repository(reference: str) -> tuple[str, str, str] | None:
    """(account, region, repository) of an image reference `<host>/<path>:<tag>` in ECR, or None
    for another registry."""
    host, _, path = reference.partition("/")
    match = ECR_HOST.match(host)
    return (match["account"], match["region"], path.rpartition(":")[0]) if match else None


def image_id(reference: str, image_digest: str | None) -> dict[str, str]:
    """How ECR names an image of a release manifest: by its digest, or by its tag for a manifest
    written before digests were recorded."""
    if image_digest:
        return {"imageDigest": image_digest}
    return {"imageTag": reference.rpartition(":")[2]}


def missing_images(images: dict[str, str | None]) -> list[str]:
    """The images (`<reference>@<digest>`) of a release manifest that its ECR repositories no
    longer hold; other registries are not asked."""
    missing = []
    for reference, image_digest in images.items():
        location = ecr_repository(reference)
        if location is None:
            continue
        account, region, repository = location
        ecr = boto3.client("ecr", region_name=region)
        try:
            ecr.describe_images(
                registryId=account,
                repositoryName=repository,
                imageIds=[image_id(reference, image_digest)],
            )
        except (ecr.exceptions.ImageNotFoundException, ecr.exceptions.RepositoryNotFoundException):
            missing.append(f"{reference}@{image_digest}" if image_digest else reference)
    return missing


def keep_live(images: dict[str, str | None]) -> None:
    """Tag each image of a release manifest `live` in its ECR repository, in place of the image
    that had the tag: the repository's lifecycle policy keeps it for as long as it is live."""
    for reference, image_digest in images.items():
        location = ecr_repository(reference)
        if location is None:
            print(f"{reference}: not in ECR, its registry's own retention applies")
            continue
        account, region, repository = location
        ecr = boto3.client("ecr", region_name=region)
        ids = {"registryId": account, "repositoryName": repository}
        found = ecr.batch_get_image(**ids, imageIds=[image_id(reference, image_digest)])["images"]
        if not found:
            raise DeployError(f"{reference} is not in its repository any more")
        [image] = found
        live = ecr.batch_get_image(**ids, imageIds=[{"imageTag": LIVE_TAG}])["images"]
        if live and live[0]["imageId"]["imageDigest"] == image["imageId"]["imageDigest"]:
            continue
        if live:  # removes the tag only: the image keeps its release's tag
            ecr.batch_delete_image(**ids, imageIds=[{"imageTag": LIVE_TAG}])
        ecr.put_image(
            **ids,
            imageManifest=image["imageManifest"],
            imageManifestMediaType=image["imageManifestMediaType"],
            imageDigest=image["imageId"]["imageDigest"],
            imageTag=LIVE_TAG,
        )
        print(f"{reference}@{image['imageId']['imageDigest']}: tagged {LIVE_TAG}")
