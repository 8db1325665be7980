{% raw %}"""One release per DAG run: the business code (images, Spark scripts) every task of a run uses.

The deploy pipeline sets the Airflow Variable `VARIABLE` to the release it shipped (a commit
SHA); this module is the only one that reads it. A run reads it once, in its first task,
`release`, which `emr.Cluster` and `k8s.container_job` add to the DAG and put before their
tasks. Everything that names the release renders the `release` macro, `{{ release() }}`:
image tags, Spark script paths, any templated argument. So:

- a run started with conf `{"release": "<sha>"}` uses that release (a backfill, a hotfix);
  any other run uses the live Variable at the moment it starts;
- the release must be deployed to this environment (`<DEPLOYMENT_BUCKET>/<release>/release.json`,
  written by the deploy once everything else of the release is there) and every Spark script
  and image it lists still there (ECR expires old images), or the run fails at `release` with
  one message, before any cluster or pod starts; a rerun of `release` checks again;
- retries, a deploy or a rollback during the run change nothing: its tasks read the
  `release` task's result, not the Variable;
- clearing tasks of a past run, even the whole run, keeps its release: `release` pins it in
  its task state store (scoped to the run) and a rerun of `release` reads it back;
- `make rerun` (scripts/deploy/rerun.py) reruns a finished run's failed or chosen tasks on
  another release: it leaves the release asked for under RERUN_KEY in this task's state store
  and clears this task with them; this task then checks that release, pins it instead and
  forgets the request, so every task cleared with it renders the new release.

The task logs `release: <sha> (<why>)` and returns the release: the run's release is its XCom
in the UI, and why is its XCom `reason`.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from airflow.sdk import BaseOperator, Variable
from airflow.sdk.exceptions import AirflowFailException
from jinja2 import pass_context

from {% endraw %}{{ cookiecutter.package }}{% raw %} import runtime
from {% endraw %}{{ cookiecutter.package }}{% raw %}.settings import Settings, load_settings

if TYPE_CHECKING:
    from airflow.sdk import DAG, Context
    from jinja2.runtime import Context as TemplateContext

VARIABLE = "{% endraw %}{{ cookiecutter.__docker_tag_variable }}{% raw %}"
TASK_ID = "release"
CONF_KEY = "release"
PIN_KEY = "release"  # in the release task's state store, which lives as long as the run
RERUN_KEY = "rerun"  # {"release": <sha>, "asked": <when>}, left there by `make rerun`
MANIFEST = "release.json"
TEMPLATE = "{{ release() }}"
# Releases name image tags and bucket prefixes: Docker's tag rules, which a SHA and `local` meet.
RELEASE_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"  # compiled when a run asks, not at parse
# An image in ECR: <account>.dkr.ecr.<region>.<the partition's domain>/<repository>:<tag>
ECR_IMAGE = (
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.[a-z0-9.-]+/"
    r"(?P<repository>[^:]+):(?P<tag>.+)"
)


class ReleaseError(AirflowFailException):
    """The run cannot have a release; it fails at once, retrying would not help."""


@pass_context
def release(context: TemplateContext) -> str:
    """The `release` macro: the release of this run, as its `release` task pinned it."""
    ti = context["ti"]
    pinned = ti.xcom_pull(task_ids=TASK_ID)
    if not pinned:
        raise ReleaseError(
            f"task {ti.task_id}: no release pinned in this run; the task must run after the "
            f"{TASK_ID!r} task (release_task(dag) >> task; emr.Cluster and k8s.container_job "
            "do it for their tasks)"
        )
    return pinned


class PinRelease(BaseOperator):
    """The first task of a run: the run's release, checked, pinned and handed on as XCom."""

    ui_color = "#e8f4ff"

    def execute(self, context: Context) -> str:
        store = context.get("task_state_store")
        pinned = store.get(PIN_KEY) if store is not None else None
        rerun = store.get(RERUN_KEY) if store is not None else None
        if rerun:
            chosen = release_name(rerun.get("release"), "the rerun's release")
            source = f"rerun asked at {rerun.get('asked')} on this release, the run had {pinned}"
        elif pinned:
            why = "pinned when this run first started"
            self.check_deployed(pinned, why, load_settings())
            return self.use(context, pinned, f"{why}: kept")
        else:
            chosen, source = self.requested(context)
        self.check_deployed(chosen, source, load_settings())
        if store is not None:
            from airflow.sdk import NEVER_EXPIRE  # the execution-time context: not at parse

            store.set(PIN_KEY, chosen, retention=NEVER_EXPIRE)
            if rerun:
                store.delete(RERUN_KEY)  # answered: a plain clear later keeps this release
        return self.use(context, chosen, source)

    def use(self, context: Context, release: str, why: str) -> str:
        """Log the run's release and why, keep why as XCom `reason`; hand the release on."""
        self.log.info("release: %s (%s)", release, why)
        context["ti"].xcom_push(key="reason", value=why)
        return release

    def requested(self, context: Context) -> tuple[str, str]:
        """The release the run asks for in its conf, else the live Variable; and which."""
        conf = context["dag_run"].conf or {}
        if conf.get(CONF_KEY):
            source = f"the run's conf {CONF_KEY!r}"
            return release_name(conf[CONF_KEY], source), source
        source = f"the Variable {VARIABLE}"
        chosen = Variable.get(VARIABLE, default=None)
        if not chosen:
            raise ReleaseError(
                f"no release: the Airflow Variable {VARIABLE} is not set (the deploy sets "
                f'it) and the run\'s conf names none ({{"{CONF_KEY}": "<commit SHA>"}})'
            )
        return release_name(chosen, source), source

    def check_deployed(self, release: str, source: str, settings: Settings) -> None:
        """Fail unless the release's manifest, and every script and image it lists, are in this
        environment: before any cluster or pod starts, not at an image pull."""
        manifest = f"{settings.DEPLOYMENT_BUCKET}/{release}/{MANIFEST}"
        contents = self.read_manifest(manifest, settings)
        if contents is None:
            raise ReleaseError(
                f"release {release} ({source}) is not deployed to {settings.ENV}: no {manifest}"
            )
        gone = self.missing(release, contents, settings)
        if gone:
            raise ReleaseError(
                f"release {release} ({source}) can no longer run in {settings.ENV}: "
                f"{', '.join(gone)} gone (images expire INFRA.RELEASE_RETENTION_DAYS days after "
                "their push)"
            )

    def read_manifest(self, manifest: str, settings: Settings) -> dict | None:
        """The release's manifest in the deployment bucket; None when there is none."""
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, key = S3Hook.parse_s3_url(manifest)
        hook = S3Hook(aws_conn_id=settings.AWS_CONN_ID, region_name=settings.AWS_REGION)
        return json.loads(hook.read_key(key, bucket)) if hook.check_for_key(key, bucket) else None

    def missing(self, release: str, manifest: dict, settings: Settings) -> list[str]:
        """What the manifest lists that is gone: its scripts from the deployment bucket, its
        images (by digest) from ECR; images in another registry are not asked about."""
        from airflow.providers.amazon.aws.hooks.ecr import EcrHook
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        bucket, prefix = S3Hook.parse_s3_url(f"{settings.DEPLOYMENT_BUCKET}/{release}/")
        hook = S3Hook(aws_conn_id=settings.AWS_CONN_ID, region_name=settings.AWS_REGION)
        present = set(hook.list_keys(bucket, prefix=prefix))
        scripts = [name for name in manifest.get("scripts", []) if prefix + name not in present]
        gone = [f"s3://{bucket}/{prefix}{name}" for name in scripts]
        images = manifest.get("images", {})
        if isinstance(images, list):  # written before digests were recorded: by tag
            images = dict.fromkeys(images)
        for reference, digest in images.items():
            image = re.match(ECR_IMAGE, reference)
            if not image:
                continue
            ecr = EcrHook(aws_conn_id=settings.AWS_CONN_ID, region_name=image["region"]).conn
            image_id = {"imageDigest": digest} if digest else {"imageTag": image["tag"]}
            try:
                ecr.describe_images(
                    registryId=image["account"],
                    repositoryName=image["repository"],
                    imageIds=[image_id],
                )
            except ecr.exceptions.ImageNotFoundException:
                gone.append(f"{reference}@{digest}" if digest else reference)
        return gone


def release_name(value: object, source: str) -> str:
    """`value` if it can name a release, or the run fails saying where it came from."""
    if not isinstance(value, str) or not re.fullmatch(RELEASE_NAME, value):
        raise ReleaseError(f"{source}: {value!r} is not a release name (a commit SHA)")
    return value


def release_task(dag: DAG) -> BaseOperator:
    """The DAG's `release` task, added on first use with the `release` macro; put the tasks
    that use the release after it."""
    dag.user_defined_macros = {"release": release, **(dag.user_defined_macros or {})}
    if TASK_ID in dag.task_dict:
        task = dag.task_dict[TASK_ID]
        if not isinstance(task, PinRelease):
            raise ValueError(f"{dag.dag_id}: task id {TASK_ID!r} is reserved for the run's release")
        return task
    pin_release = runtime.operator(PinRelease, load_settings())
    return pin_release(task_id=TASK_ID, dag=dag, task_group=dag.task_group)
{% endraw %}