"""What an environment keeps, and for how long: `make infra` applies it after the stack.

Environments may share the buckets, one prefix each, and a bucket has a single lifecycle
configuration, which the one stack that creates the bucket could only fill with its own settings.
So each environment's `make infra` puts its own rules, named after the team and the environment,
and leaves the other rules as they are:

- data bucket: the team's task data (`<prefix><package>/`, paths.data_path) and the clusters'
  logs (`<prefix>emr-logs/`) expire after INFRA.DATA_RETENTION_DAYS; shared inputs (`landing/`)
  and final outputs (`outputs/<package>/`) never do;
- deployment bucket: releases never expire (each is a few kilobytes of scripts); whether an old
  release can still run depends on its images, which its manifest lists;
- each container job's image repository: images expire INFRA.RELEASE_RETENTION_DAYS after their
  push, except the live release's, tagged `live` by set-release.
"""

from __future__ import annotations

import json
from pathlib import Path

from botocore.exceptions import ClientError

from scripts.deploy import BadInput
from scripts.deploy.images import LIVE_TAG
from scripts.deploy.layout import PACKAGE, REPO, container_jobs, read_settings, split_s3_uri

ABORT_INCOMPLETE_UPLOADS = {
    "ID": "abort-incomplete-uploads",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
}
# An object's overwritten versions (the deployment bucket is versioned): nothing restores them.
OLD_VERSIONS = {
    "ID": "expire-old-versions",
    "Status": "Enabled",
    "Filter": {"Prefix": ""},
    "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
}
# The rules the stacks set before, without a prefix: they expired every environment's data.
REPLACED = {"expire-intermediate-data", "expire-old-releases"}


def expire(rule_id: str, prefix: str, days: int) -> dict:
    return {
        "ID": rule_id,
        "Status": "Enabled",
        "Filter": {"Prefix": prefix},
        "Expiration": {"Days": days},
    }


def bucket_rules(environment: str, root: Path = REPO) -> dict[str, list[dict]]:
    """This environment's lifecycle rules, by bucket (the two buckets may be one)."""
    settings = read_settings(environment, root)
    days = settings["INFRA"]["DATA_RETENTION_DAYS"]
    data_bucket, data_prefix = split_s3_uri(settings["DATA_BUCKET"])
    deployment_bucket, _ = split_s3_uri(settings["DEPLOYMENT_BUCKET"])
    own = f"{PACKAGE}-{environment}"
    wanted = [
        (deployment_bucket, OLD_VERSIONS),
        (deployment_bucket, ABORT_INCOMPLETE_UPLOADS),
        (data_bucket, expire(f"{own}-task-data", f"{data_prefix}{PACKAGE}/", days)),
        (data_bucket, expire(f"{own}-emr-logs", f"{data_prefix}emr-logs/", days)),
        (data_bucket, ABORT_INCOMPLETE_UPLOADS),
    ]
    rules: dict[str, dict[str, dict]] = {}
    for bucket, rule in wanted:
        rules.setdefault(bucket, {})[rule["ID"]] = rule
    return {bucket: list(by_id.values()) for bucket, by_id in rules.items()}


def image_policy(days: int) -> dict:
    """Expire images `days` after their push, never the one tagged live: an image a rule's tags
    select is out of reach of the rules after it."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep the live release's image (set-release tags it)",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": [LIVE_TAG],
                    "countType": "imageCountMoreThan",
                    "countNumber": 1,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"expire releases' images {days} days after their push",
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": days,
                },
                "action": {"type": "expire"},
            },
        ]
    }


def apply_retention(environment: str, s3, ecr, root: Path = REPO) -> list[str]:
    """Put this environment's rules into each bucket's lifecycle and its policy on each image
    repository; returns what it set, one line each."""
    settings = read_settings(environment, root)
    done = []
    for bucket, rules in bucket_rules(environment, root).items():
        ours = {rule["ID"] for rule in rules} | REPLACED
        kept = [rule for rule in lifecycle_rules(s3, bucket) if rule["ID"] not in ours]
        s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": kept + rules}
        )
        done += [
            f"s3://{bucket}/{rule['Filter']['Prefix']}: expires {rule['Expiration']['Days']} days"
            " after it is written"
            for rule in rules
            if "Expiration" in rule
        ]
    days = settings["INFRA"]["RELEASE_RETENTION_DAYS"]
    registry_path = settings["IMAGE_REGISTRY"].partition("/")[2]
    for job in container_jobs(root):
        repository = f"{registry_path}/{job.image}"
        ecr.put_lifecycle_policy(
            repositoryName=repository, lifecyclePolicyText=json.dumps(image_policy(days))
        )
        done.append(f"{repository}: images expire {days} days after their push, never {LIVE_TAG}")
    return done


def lifecycle_rules(s3, bucket: str) -> list[dict]:
    try:
        return s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code == "NoSuchLifecycleConfiguration":
            return []
        if code == "NoSuchBucket":
            raise BadInput(
                f"s3://{bucket} does not exist: run make infra first for the environment whose "
                "INFRA.CREATE_BUCKETS is true"
            ) from None
        raise
