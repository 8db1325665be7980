"""`python -m scripts.deploy <command>`: the deploy pipeline's steps, one command each.

The deploy workflow runs, per environment and in this order: push-images, upload-artifacts,
set-release, sync-dags. Every failure ends with one `error:` line and exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from scripts.deploy import DeployError, airflow_variable, artifacts, dags, images
from scripts.deploy.layout import RELEASE_VARIABLE, check_release, load_environment


def s3_client(region: str):
    return boto3.client("s3", region_name=region)


def show_settings(args: argparse.Namespace) -> None:
    """key=value lines, ready for $GITHUB_OUTPUT."""
    environment = load_environment(args.environment)
    print(f"aws_region={environment.aws_region}")
    print(f"deployment_bucket={environment.deployment_bucket}")
    print(f"image_registry={environment.image_registry}")


def build_images(args: argparse.Namespace) -> None:
    built = images.build_images(args.tag)
    print(f"images: built {len(built)}" if built else "images: no container jobs to build")


def push_images(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    pushed = images.push_images(environment, check_release(args.release))
    print(f"images: {len(pushed)} in {environment.image_registry} for {args.release}")


def upload_artifacts(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    release = check_release(args.release)
    keys = artifacts.upload_release(environment, release, s3_client(environment.aws_region))
    print(f"artifacts: {len(keys)} files under {environment.deployment_bucket}/{release}/")


def set_release(args: argparse.Namespace, check_uploaded: bool = False) -> None:
    environment = load_environment(args.environment)
    release = check_release(args.release)
    target = airflow_variable.airflow_target(args.api, os.environ, environment.aws_region)
    if check_uploaded:
        s3 = s3_client(environment.aws_region)
        artifacts.check_release_exists(environment, release, s3)
    if args.dry_run:
        print(f"dry run: would set {RELEASE_VARIABLE}={release} in {target}")
        return
    target.set_variable(RELEASE_VARIABLE, release)
    print(f"{target}: {RELEASE_VARIABLE}={release}")


def rollback(args: argparse.Namespace) -> None:
    set_release(args, check_uploaded=True)


def sync_dags(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    report = dags.sync_dags(args.target, s3_client(environment.aws_region))
    print(
        f"dags: {len(report.uploaded)} uploaded, {len(report.deleted)} deleted, "
        f"{report.unchanged} unchanged in {args.target}"
    )


ARGUMENTS = {
    "environment": "dev, staging or prod: a file in the package's environments/",
    "release": "the full commit SHA of the release",
    "target": "the DAGs folder, s3://<bucket>[/<prefix>]",
}
COMMANDS = {
    "settings": (show_settings, "print an environment's deploy targets", ["environment"]),
    "build-images": (build_images, "build every container job image, push none", []),
    "push-images": (
        push_images,
        "build and push each image of the release that is not in the registry yet",
        ["environment", "release"],
    ),
    "upload-artifacts": (
        upload_artifacts,
        "upload the release's Spark scripts, then its manifest",
        ["environment", "release"],
    ),
    "set-release": (
        set_release,
        f"set the Airflow Variable {RELEASE_VARIABLE} to the release",
        ["environment", "release"],
    ),
    "rollback": (
        rollback,
        "point new runs at an earlier release, after checking it was uploaded (runs in "
        "flight keep theirs)",
        ["environment", "release"],
    ),
    "sync-dags": (
        sync_dags,
        "sync the DAGs package to an S3 DAGs folder",
        ["environment", "target"],
    ),
}


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m scripts.deploy", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="command")
    for name, (handler, summary, arguments) in COMMANDS.items():
        command = commands.add_parser(name, help=summary, description=summary)
        command.set_defaults(handler=handler)
        for argument in arguments:
            command.add_argument(argument, help=ARGUMENTS[argument])
        if name == "build-images":
            command.add_argument("--tag", default="local", help="image tag (default: local)")
        if name in ("set-release", "rollback"):
            command.add_argument(
                "--api",
                choices=airflow_variable.APIS,
                default=airflow_variable.DEFAULT_API,
                help=f"how to reach Airflow (default: {airflow_variable.DEFAULT_API})",
            )
            command.add_argument("--dry-run", action="store_true", help="set nothing, say what")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.handler(args)
    except (DeployError, Boto3Error, BotoCoreError, ClientError) as error:
        # AWS SDK errors (no credentials, access denied, ...) read as one line too.
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
