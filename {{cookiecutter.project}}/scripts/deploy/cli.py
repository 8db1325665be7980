"""`python -m scripts.deploy <command>`: the deploy pipeline's steps, one command each.

The deploy workflow runs, per environment and in this order: push-images (the first
environment) or promote-images (the next ones), upload-artifacts, sync-dags (DAGs on S3) or
push-dags (a Git DAG bundle), set-release; `infra` creates what they deploy to. Every failure
ends with one `error:` line, and exit code 2 for an unknown environment or incomplete settings,
1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

from scripts.deploy import (
    BadInput,
    DeployError,
    airflow_variable,
    artifacts,
    dag_bundle,
    dags,
    images,
    infra,
    rerun,
    retention,
)
from scripts.deploy.layout import (
    EMR_POOL,
    INFRA_USES,
    RELEASE_VARIABLE,
    check_release,
    image_platform,
    load_environment,
)


def s3_client(region: str):
    return boto3.client("s3", region_name=region)


def show_settings(args: argparse.Namespace) -> None:
    """key=value lines, ready for $GITHUB_OUTPUT. The deploy's first step: what its later steps
    read is checked here, before anything ships: the `INFRA` settings (`--require`) and, with
    `--api`, what set-release needs to reach Airflow."""
    environment = load_environment(args.environment)
    for name in args.require:
        environment.infra_setting(name)
    if args.api:
        airflow_variable.airflow_target(args.api, os.environ, environment)
    print(f"aws_region={environment.aws_region}")
    print(f"deployment_bucket={environment.deployment_bucket}")
    print(f"image_registry={environment.image_registry}")


def build_images(args: argparse.Namespace) -> None:
    built = images.build_images(args.tag, image_platform())
    print(f"images: built {len(built)}" if built else "images: no container jobs to build")


def push_images(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    pushed = images.push_images(environment, check_release(args.release))
    print(f"images: {len(pushed)} in {environment.image_registry} for {args.release}")


def promote_images(args: argparse.Namespace) -> None:
    source, target = load_environment(args.source), load_environment(args.environment)
    promoted = images.promote_images(source, target, check_release(args.release))
    print(f"images: {len(promoted)} promoted from {source.name} to {target.name}")


def upload_artifacts(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    release = check_release(args.release)
    release_images = artifacts.image_digests(environment, release)
    s3 = s3_client(environment.aws_region)
    keys = artifacts.upload_release(environment, release, s3, images=release_images)
    images.keep_live(release_images)  # the release about to go live
    print(f"artifacts: {len(keys)} files under {environment.deployment_bucket}/{release}/")


def set_release(args: argparse.Namespace, rolling_back: bool = False) -> None:
    environment = load_environment(args.environment)
    release = check_release(args.release)
    target = airflow_variable.airflow_target(args.api, os.environ, environment)
    if rolling_back:  # upload-artifacts checked and kept a release being deployed
        s3 = s3_client(environment.aws_region)
        release_images = artifacts.check_release_complete(environment, release, s3)
    slots = environment.emr_max_clusters
    if args.dry_run:
        print(f"dry run: would set {RELEASE_VARIABLE}={release} in {target}")
        print(f"dry run: would set pool {EMR_POOL} to {slots} slots in {target}")
        return
    if rolling_back:
        images.keep_live(release_images)
    target.set_variable(RELEASE_VARIABLE, release)
    print(f"{target}: {RELEASE_VARIABLE}={release}")
    target.set_pool(EMR_POOL, slots, "EMR clusters the team's DAGs start at once")
    print(f"{target}: pool {EMR_POOL} has {slots} slots")


def rollback(args: argparse.Namespace) -> None:
    set_release(args, rolling_back=True)


def rerun_run(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    target = airflow_variable.airflow_target(args.api, os.environ, environment)
    s3 = s3_client(environment.aws_region)
    tasks = args.tasks.replace(",", " ").split() or None
    release, chosen = rerun.rerun(
        target, environment, s3, args.dag_id, args.run_id, args.release, tasks
    )
    print(f"{target}: {args.dag_id} {args.run_id} reruns on release {release}: {', '.join(chosen)}")


def sync_dags(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    target = environment.infra_setting("DAGS_S3_URI")
    report = dags.sync_dags(target, s3_client(environment.aws_region))
    print(
        f"dags: {len(report.uploaded)} uploaded, {len(report.deleted)} deleted, "
        f"{report.unchanged} unchanged in {target}"
    )


def push_dags(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    branch = dag_bundle.push_dags(environment.name, check_release(args.release))
    print(f"dags: {branch} is {args.release} on origin")


def deploy_infra(args: argparse.Namespace) -> None:
    environment = load_environment(args.environment)
    infra.stack_parameters(args.environment)  # incomplete settings first, without AWS
    ec2 = boto3.client("ec2", region_name=environment.aws_region)
    infra.check_emr_network(args.environment, ec2)
    cloudformation = boto3.client("cloudformation", region_name=environment.aws_region)
    outputs = infra.deploy_stack(args.environment, cloudformation)
    ecr = boto3.client("ecr", region_name=environment.aws_region)
    for line in retention.apply_retention(args.environment, s3_client(environment.aws_region), ecr):
        print(line)
    for key, value in outputs.items():
        print(f"{key}={value}")


ARGUMENTS = {
    "source": "the environment the release's images come from (deployed before)",
    "environment": "dev, staging or prod: a file in the package's environments/",
    "release": "the full commit SHA of the release",
    "dag_id": "the DAG's id, e.g. {{ cookiecutter.package }}.<app>",
    "run_id": "the run's id (in the UI: the run's details)",
}
COMMANDS = {
    "settings": (show_settings, "print an environment's deploy targets", ["environment"]),
    "build-images": (
        build_images,
        "build every container job image for IMAGE_PLATFORM, push none",
        [],
    ),
    "push-images": (
        push_images,
        "build and push each image of the release not in the registry yet (first environment)",
        ["environment", "release"],
    ),
    "promote-images": (
        promote_images,
        "copy the release's images from an earlier environment's registry, by digest",
        ["source", "environment", "release"],
    ),
    "upload-artifacts": (
        upload_artifacts,
        "upload the release's Spark scripts, then its manifest (with its images' digests), and "
        "tag its images live",
        ["environment", "release"],
    ),
    "set-release": (
        set_release,
        f"set the Airflow Variable {RELEASE_VARIABLE} to the release, and the EMR pool",
        ["environment", "release"],
    ),
    "rollback": (
        rollback,
        "point new runs at an earlier release, after checking its scripts and images are all "
        "still there (runs in flight keep theirs)",
        ["environment", "release"],
    ),
    "rerun": (
        rerun_run,
        "rerun a finished run's failed (or --tasks) tasks on the live (or --release) release, "
        "keeping its history",
        ["environment", "dag_id", "run_id"],
    ),
    "sync-dags": (
        sync_dags,
        "sync the DAGs package to the environment's S3 DAGs folder (INFRA.DAGS_S3_URI)",
        ["environment"],
    ),
    "push-dags": (
        push_dags,
        "move the environment's Git DAG bundle branch, airflow/<environment>, to the release",
        ["environment", "release"],
    ),
    "infra": (
        deploy_infra,
        "create or update the environment's AWS stack (infra/aws/environment.yaml)",
        ["environment"],
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
        if name == "settings":
            command.add_argument(
                "--require",
                action="append",
                default=[],
                choices=INFRA_USES,
                help="fail unless the environment sets this INFRA setting (repeatable)",
            )
            command.add_argument(
                "--api",
                choices=airflow_variable.APIS,
                help="fail unless set-release --api API would have what it needs",
            )
        if name == "build-images":
            command.add_argument("--tag", default="local", help="image tag (default: local)")
        if name == "rerun":
            command.add_argument("--release", help="the release (default: the live one)")
            command.add_argument(
                "--tasks", default="", help="the tasks to rerun (default: the failed ones)"
            )
        if name in ("set-release", "rollback", "rerun"):
            command.add_argument(
                "--api",
                choices=airflow_variable.APIS,
                default=airflow_variable.DEFAULT_API,
                help=f"how to reach Airflow (default: {airflow_variable.DEFAULT_API})",
            )
        if name in ("set-release", "rollback"):
            command.add_argument("--dry-run", action="store_true", help="set nothing, say what")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.handler(args)
    except BadInput as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (DeployError, Boto3Error, BotoCoreError, ClientError) as error:
        # AWS SDK errors (no credentials, access denied, ...) read as one line too.
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
