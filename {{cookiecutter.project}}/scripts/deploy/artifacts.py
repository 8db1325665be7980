"""Upload a release's Spark scripts under its own prefix, then its manifest.

Scripts land at `<DEPLOYMENT_BUCKET>/<release>/<app>/<script>.py`, the path the job configs
render from the Airflow Variable, and earlier releases stay where they are: rolling back is a
change of the Variable. `<release>/release.json` is written last and lists the release's scripts
and the digest of each of its images, so its presence proves the release was complete in that
environment; `rollback`, like the `release` task of every run, also checks that every script
and image it lists is still there (images expire, retention.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from botocore.exceptions import ClientError

from scripts.deploy import DeployError
from scripts.deploy.images import digest, missing_images
from scripts.deploy.layout import (
    REPO,
    Environment,
    container_jobs,
    script_key,
    spark_scripts,
    split_s3_uri,
)

MANIFEST = "release.json"


def release_prefix(environment: Environment, release: str) -> tuple[str, str]:
    bucket, prefix = split_s3_uri(environment.deployment_bucket)
    return bucket, f"{prefix}{release}/"


def upload_release(
    environment: Environment,
    release: str,
    s3,
    root: Path = REPO,
    images: Mapping[str, str] | None = None,
) -> list[str]:
    """Upload every Spark script, then the manifest with the release's `images` (reference ->
    digest, image_digests(); local runs have none); returns the uploaded keys."""
    bucket, prefix = release_prefix(environment, release)
    scripts = {script_key(script): script for script in spark_scripts(root)}
    for name, script in scripts.items():
        s3.upload_file(str(script), bucket, prefix + name)
        print(f"s3://{bucket}/{prefix}{name}")
    manifest = {
        "release": release,
        "environment": environment.name,
        "images": dict(images or {}),
        "scripts": sorted(scripts),
    }
    s3.put_object(
        Bucket=bucket,
        Key=prefix + MANIFEST,
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    return [prefix + name for name in scripts] + [prefix + MANIFEST]


def image_digests(environment: Environment, release: str, root: Path = REPO) -> dict[str, str]:
    """Each image of the release in the environment's registry, with its digest there."""
    found = {}
    for job in container_jobs(root):
        reference = job.reference(environment, release)
        found[reference] = digest(reference)
        if found[reference] is None:
            raise DeployError(
                f"{reference} is not in {environment.name}'s registry: push or promote the "
                "release's images before upload-artifacts"
            )
    return found


def check_release_complete(environment: Environment, release: str, s3) -> dict[str, str | None]:
    """Raise, in one line, unless every script and image of `release` is in this environment;
    returns its images (reference -> digest)."""
    bucket, prefix = release_prefix(environment, release)
    try:
        body = s3.get_object(Bucket=bucket, Key=prefix + MANIFEST)["Body"].read()
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            raise DeployError(
                f"release {release} was never deployed to {environment.name}: "
                f"no s3://{bucket}/{prefix}{MANIFEST}"
            ) from None
        raise
    manifest = json.loads(body)
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    present = {item["Key"] for page in pages for item in page.get("Contents", [])}
    scripts = [name for name in manifest.get("scripts", []) if prefix + name not in present]
    gone = [f"s3://{bucket}/{prefix}{name}" for name in scripts]
    release_images = listed_images(manifest)
    images = missing_images(release_images)
    if scripts or images:
        raise DeployError(
            f"release {release} can no longer run in {environment.name}: "
            f"{', '.join(gone + images)} gone (images expire INFRA.RELEASE_RETENTION_DAYS days "
            "after their push)"
        )
    return release_images


def listed_images(manifest: dict) -> dict[str, str | None]:
    """The manifest's images, reference -> digest; a manifest written before digests were
    recorded lists references only."""
    images = manifest.get("images", {})
    return dict.fromkeys(images) if isinstance(images, list) else images
