"""Upload a release's Spark scripts under its own prefix, then its manifest.

Scripts land at `<DEPLOYMENT_BUCKET>/<release>/<app>/<script>.py`, the path the job configs
render from the Airflow Variable, and earlier releases stay where they are: rolling back is a
change of the Variable. `<release>/release.json` is written last, so its presence proves the
release is complete in that environment; `rollback` refuses a release without it.
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import ClientError

from scripts.deploy import DeployError
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


def upload_release(environment: Environment, release: str, s3, root: Path = REPO) -> list[str]:
    """Upload every Spark script, then the manifest; returns the uploaded keys."""
    bucket, prefix = release_prefix(environment, release)
    scripts = {script_key(script): script for script in spark_scripts(root)}
    for name, script in scripts.items():
        s3.upload_file(str(script), bucket, prefix + name)
        print(f"s3://{bucket}/{prefix}{name}")
    manifest = {
        "release": release,
        "environment": environment.name,
        "images": [job.reference(environment, release) for job in container_jobs(root)],
        "scripts": sorted(scripts),
    }
    s3.put_object(
        Bucket=bucket,
        Key=prefix + MANIFEST,
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    return [prefix + name for name in scripts] + [prefix + MANIFEST]


def check_release_exists(environment: Environment, release: str, s3) -> None:
    """Raise unless `release` was completely uploaded to this environment."""
    bucket, prefix = release_prefix(environment, release)
    try:
        s3.head_object(Bucket=bucket, Key=prefix + MANIFEST)
    except ClientError as error:
        if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
            raise DeployError(
                f"release {release} was never deployed to {environment.name}: "
                f"no s3://{bucket}/{prefix}{MANIFEST}"
            ) from None
        raise
