{% raw %}"""Spark on EMR: one dedicated cluster per job, built from the app's JSON configs.

    cluster = Cluster(dag=dag, cluster_name="my_cluster")      # cluster_configs/my_cluster.json
    add_my_job, check_my_job = cluster.add_step(job_config_file="my_job.json")  # job_configs/
    cluster.build_sequential_flow()

builds create cluster -> wait for cluster -> add step -> check step (-> more steps, in the
order added) -> terminate cluster. Creating and waiting for the cluster are Airflow setup tasks
and terminating it is their teardown: the cluster is terminated whatever happened in between (a
failed or skipped step, a failed task plugged into the flow), and the run still fails when a
step fails. Waiting for a step is deferrable where the environment's settings say DEFERRABLE.

No cluster outlives its run. Every cluster carries its identity in its tags (the team, that is
this package, the environment, the DAG, the run and the cluster's name in the DAG) and in its name
(`<package>/<environment>/...`), so teams and environments sharing one AWS account never touch
each other's clusters, even with the same DAG ids and run ids. A retried create task adopts the
cluster an earlier try started, a retried add-step task finds the step it already submitted, and
the teardown terminates the run's cluster once its tags say it is the run's, and returns what it
cost. A run that times out skips its teardown: the DAG's failure callback, `end_clusters`, ends
its clusters. A config without `AutoTerminationPolicy` gets the environment's idle timeout.

Configs are read with `json.load` and validated against `schemas/` when the DAG file is parsed,
so a bad config is an import error naming the file and the key. Jinja inside their values
(`{{ ds }}`, `{{ config.DEPLOYMENT_BUCKET }}`, `{{ release() }}`) renders when the task runs.

Importing this module loads the amazon provider's EMR operators and sensors: a DAG file that
imports it also names `import airflow.providers.amazon.aws.operators.emr` and
`import airflow.providers.amazon.aws.sensors.emr`, so that Airflow's DAG processor loads them once,
not at every parse (README, "DAG parse cost").

Each task is built from the class runtime.py gives for these operators: make run-local's runtime
replaces them with local twins (local/emr.py), no cluster, each step on local Spark.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.providers.amazon.aws.operators.emr import (
    EmrAddStepsOperator,
    EmrCreateJobFlowOperator,
    EmrTerminateJobFlowOperator,
)
from airflow.providers.amazon.aws.sensors.emr import EmrJobFlowSensor, EmrStepSensor
from airflow.sdk.exceptions import AirflowFailException
from botocore.exceptions import ClientError

{% endraw %}from {{ cookiecutter.package }}.configs import load_config
from {{ cookiecutter.package }}.defaults import (
    EMR_POOL,
    ensure_cost_limits,
    ensure_failure_callback,
    ensure_macros,
)
from {{ cookiecutter.package }}.release import release_task
from {{ cookiecutter.package }}.runtime import operator
from {{ cookiecutter.package }}.settings import PACKAGE, Settings, load_settings
{% raw %}
if TYPE_CHECKING:
    from airflow.sdk import DAG, BaseOperator, Context

# A cluster's identity: the tags every lookup matches. The team is this package, unique per
# repository (the owner is only a label); TRY_TAG tells which try of the create task made it.
TEAM_TAG = "team"
ENVIRONMENT_TAG = "environment"
DAG_TAG = "airflow_dag_id"
RUN_TAG = "airflow_run_id"
CLUSTER_TAG = "airflow_cluster"
TRY_TAG = "airflow_try_number"
# AWS's AmazonEMRServicePolicy_v2 acts only on resources with this tag; EMR propagates it from the
# cluster to the instances and volumes it creates.
MANAGED_POLICY_TAGS = {"for-use-with-amazon-emr-managed-policies": "true"}
# The create task's state store key of the cluster it started: kept across its tries and clears.
CLUSTER_KEY = "cluster_id"
ACTIVE_CLUSTER_STATES = ("STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING")
# A step in any other state (FAILED, CANCELLED, INTERRUPTED) is submitted again on a retry.
LIVE_STEP_STATES = ("PENDING", "CANCEL_PENDING", "RUNNING", "COMPLETED")
CLUSTER_POLL = timedelta(seconds=30)
CLUSTER_MAX_WAIT = timedelta(hours=1)
STEP_POLL = timedelta(seconds=60)
STEP_MAX_WAIT = timedelta(hours=24)


def spark_submit_command(
    job_config: Mapping[str, Any], job_params: Mapping[str, Any] | None = None
) -> list[str]:
    """The spark-submit command line of a job config, as EMR's command-runner.jar runs it.

    `["spark-submit", *SparkArgs, ScriptPath, *JobParams]`, flags in the config's order.
    `job_params` override JobParams of the same name and append the others; `--` is added to
    parameter names that lack it. A list value repeats its flag, `true` is a bare flag and
    `false` leaves the flag out.
    """
    if not job_config.get("ScriptPath"):
        raise ValueError(f"job config has no ScriptPath (keys: {sorted(job_config)})")
    params = {_flag(name): value for name, value in job_config.get("JobParams", {}).items()}
    params.update({_flag(name): value for name, value in (job_params or {}).items()})
    return [
        "spark-submit",
        *_arguments(job_config.get("SparkArgs", {})),
        job_config["ScriptPath"],
        *_arguments(params),
    ]


def _flag(name: str) -> str:
    return name if name.startswith("--") else f"--{name}"


def _arguments(flags: Mapping[str, Any]) -> list[str]:
    arguments = []
    for flag, value in flags.items():
        for item in value if isinstance(value, list) else [value]:
            if item is True:
                arguments.append(flag)
            elif item is False:
                continue
            elif isinstance(item, str | int | float):
                arguments += [flag, str(item)]
            else:
                raise ValueError(f"{flag}: unsupported value {item!r} (string, number, boolean)")
    return arguments


class _FailsFast:
    """A cluster or step in a failed state stays there: fail at once, without the retries that
    would only keep the cluster up. Other errors (a worker lost, an API hiccup) still retry."""

    def poke(self, context: Context) -> bool:
        response = self.get_emr_response(context=context)
        state = self.state_from_response(response)
        self.log.info("State: %s", state)
        if state in self.failed_states:
            message = self.failure_message_from_response(response) or "no details from EMR"
            raise AirflowFailException(f"{state}: {message}")
        return state in self.target_states

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> None:
        """Back from the triggerer: a step that failed there fails here at once too."""
        if not event or event.get("status") != "success":
            self.poke(context)
        super().execute_complete(context, event)


class StepSensor(_FailsFast, EmrStepSensor):
    """Wait until the step completes; a failed, cancelled or interrupted step fails the task."""


class ClusterReadySensor(_FailsFast, EmrJobFlowSensor):
    """Wait until the cluster accepts steps (RUNNING or WAITING); fail if it ends first.

    Never deferred: the provider's deferrable path waits for the cluster to *terminate*, and
    poking in reschedule mode already frees the worker slot between pokes.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            target_states=["RUNNING", "WAITING"],
            failed_states=["TERMINATING", "TERMINATED", "TERMINATED_WITH_ERRORS"],
            **(kwargs | {"deferrable": False}),
        )


def name_prefix(environment: str) -> str:
    """How the names of this team's clusters in `environment` begin (neither part has a /)."""
    return f"{PACKAGE}/{environment}/"


def owned_cluster(
    emr_client: Any, cluster_id: str, identity: Mapping[str, str]
) -> dict[str, Any] | None:
    """The cluster `cluster_id` if it carries every tag of `identity`; None for any other,
    including one the role may not describe (another team's: its IAM allows only its own)."""
    try:
        cluster = emr_client.describe_cluster(ClusterId=cluster_id)["Cluster"]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDeniedException", "InvalidRequestException"):
            return None
        raise
    return cluster if identity.items() <= tag_dict(cluster.get("Tags", [])).items() else None


def environment_clusters(emr_client: Any, identity: Mapping[str, str]) -> list[dict[str, Any]]:
    """The clusters up (not terminating or terminated) with every tag of `identity`, which names
    at least the team and the environment. Only clusters named like the team's in that
    environment are described: any other costs no call but its share of a ListClusters page."""
    prefix = name_prefix(identity[ENVIRONMENT_TAG])
    return [
        cluster
        for page in emr_client.get_paginator("list_clusters").paginate(
            ClusterStates=list(ACTIVE_CLUSTER_STATES)
        )
        for summary in page["Clusters"]
        if summary["Name"].startswith(prefix)
        and (cluster := owned_cluster(emr_client, summary["Id"], identity))
    ]


def tag_dict(tags: list[dict[str, str]]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags}


def tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


class CreateCluster(EmrCreateJobFlowOperator):
    """RunJobFlow at most once per run: a retry adopts the cluster an earlier try started.

    The id RunJobFlow returns is kept in the task's state store, which the task's tries (and
    clears) share within a run; a later try adopts that cluster while it is up and carries
    `identity` (templated: the tags naming the run's cluster, as in the request's Tags). The
    cluster also gets TRY_TAG, the try that made it. A try that fails after RunJobFlow with no
    retry left terminates its cluster: a teardown does not run when its setup failed.
    (A try lost between RunJobFlow and keeping the id leaves a cluster no try knows: no step
    ever runs there, so EMR ends it after its idle timeout, or the janitor once the run is over.)
    """

    template_fields = (*EmrCreateJobFlowOperator.template_fields, "identity")

    def __init__(self, *, identity: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.identity = dict(identity)

    def execute(self, context: Context) -> str | None:
        store = context.get("task_state_store")
        earlier = store.get(CLUSTER_KEY) if store is not None else None
        cluster = earlier and owned_cluster(self.hook.conn, earlier, self.identity)
        if cluster and cluster["Status"]["State"] in ACTIVE_CLUSTER_STATES:
            started_by = tag_dict(cluster["Tags"]).get(TRY_TAG)
            self.log.info("Adopting cluster %s, started by try %s of this run", earlier, started_by)
            return earlier
        tags = tag_dict(self.job_flow_overrides["Tags"]) | {TRY_TAG: str(context["ti"].try_number)}
        self.job_flow_overrides = {**self.job_flow_overrides, "Tags": tag_list(tags)}
        self._job_flow_id = None  # set by RunJobFlow
        try:
            return super().execute(context)
        except Exception as error:
            if self._job_flow_id and not retries_left(context, error):
                self.log.warning("No retry left: terminating cluster %s", self._job_flow_id)
                self.hook.conn.terminate_job_flows(JobFlowIds=[self._job_flow_id])
            raise
        finally:
            if self._job_flow_id and store is not None:
                from airflow.sdk import NEVER_EXPIRE  # the execution-time context: not at parse

                store.set(CLUSTER_KEY, self._job_flow_id, retention=NEVER_EXPIRE)


def retries_left(context: Context, error: BaseException) -> bool:
    """Whether Airflow will run the failing task `error` comes from again."""
    ti = context["ti"]
    return not isinstance(error, AirflowFailException) and ti.try_number <= ti.max_tries


class AddStep(EmrAddStepsOperator):
    """Submit each step once per run: a retry returns the step this run already submitted
    (same name on the run's cluster, not failed, cancelled or interrupted)."""

    def execute(self, context: Context) -> list[str]:
        submitted = self.hook.conn.list_steps(
            ClusterId=self.job_flow_id, StepStates=list(LIVE_STEP_STATES)
        )["Steps"]
        by_name = {step["Name"]: step for step in reversed(submitted)}  # the latest wins
        found = [by_name.get(step["Name"]) for step in self.steps]
        if all(found):
            for step in found:
                state = step["Status"]["State"]
                self.log.info("Step %s (%s) already submitted: %s", step["Name"], step["Id"], state)
            return [step["Id"] for step in found]
        return super().execute(context)


class TerminateCluster(EmrTerminateJobFlowOperator):
    """Terminate the run's cluster, the one the create task returned, once its tags show it is
    the run's (`identity`, templated): never another team's or environment's. Returns what the
    cluster cost (`cluster_cost`), also in its log.

    `end_run` ends every cluster of a run when the run failed without its teardown (a timeout:
    the DAG's failure callback, `end_clusters`)."""

    template_fields = (*EmrTerminateJobFlowOperator.template_fields, "identity")

    def __init__(self, *, identity: Mapping[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.identity = dict(identity)

    def execute(self, context: Context) -> dict[str, Any] | None:
        cluster = owned_cluster(self.hook.conn, self.job_flow_id, self.identity)
        if cluster is None:
            self.log.warning("Cluster %s is not this run's: left alone", self.job_flow_id)
            return None
        return self.end(cluster)

    def end_run(self, run_id: str) -> list[dict[str, Any]]:
        """End every cluster up of the run `run_id` that this task's cluster stands for."""
        identity = self.identity | {RUN_TAG: run_id}
        return [self.end(cluster) for cluster in environment_clusters(self.hook.conn, identity)]

    def end(self, cluster: Mapping[str, Any]) -> dict[str, Any]:
        """Terminate `cluster` unless it has ended; what it cost."""
        state = cluster["Status"]["State"]
        if state in ACTIVE_CLUSTER_STATES:
            self.hook.conn.terminate_job_flows(JobFlowIds=[cluster["Id"]])
            state = "TERMINATING"
        cost = cluster_cost(cluster)
        self.log.info(
            "Cluster %s %s: %s normalized instance hours, up %s s",
            cluster["Id"],
            state,
            cost["normalized_instance_hours"],
            cost["running_seconds"],
        )
        return cost


def cluster_cost(cluster: Mapping[str, Any]) -> dict[str, Any]:
    """What a cluster has cost so far, as EMR counts it: its normalized instance hours (one an
    hour per m1.small-sized share of its instances) and how long it has run."""
    timeline = cluster["Status"]["Timeline"]
    created = timeline["CreationDateTime"]
    ended = timeline.get("EndDateTime") or datetime.now(created.tzinfo)
    return {
        "cluster_id": cluster["Id"],
        "normalized_instance_hours": cluster.get("NormalizedInstanceHours", 0),
        "running_seconds": round((ended - created).total_seconds()),
    }


def end_clusters(context: Context) -> None:
    """A DAG's failure callback: end every cluster of the run still up.

    When a run times out (`dagrun_timeout`), Airflow's scheduler marks it failed and every
    unfinished task skipped, teardowns included: nothing terminates its clusters. It then asks
    for the DAG's `on_failure_callback`, which the DAG processor runs, with the DAG processor's
    AWS credentials. A run that failed otherwise has had its teardowns: this finds nothing up.
    """
    for task in context["dag"].tasks:
        if isinstance(task, TerminateCluster):
            task.end_run(context["run_id"])


class Cluster:
    """A dedicated EMR cluster in `dag`, configured by `cluster_configs/<cluster_name>.json`.

    The configs live next to the DAG file: `cluster_configs/` and `job_configs/`.
    """

    def __init__(self, *, dag: DAG, cluster_name: str) -> None:
        self.dag = dag
        self.name = cluster_name
        self.app_dir = Path(dag.fileloc).parent
        self.steps: list[tuple[BaseOperator, BaseOperator]] = []
        self._built = False
        ensure_macros(dag)
        ensure_cost_limits(dag, creates_clusters=True)
        ensure_failure_callback(dag, end_clusters)

        settings = load_settings()
        self.settings = settings
        self._aws = {"aws_conn_id": settings.AWS_CONN_ID, "region_name": settings.AWS_REGION}
        self._deferrable = settings.DEFERRABLE
        self._idle_timeout = settings.EMR_IDLE_TIMEOUT_SECONDS
        self.identity = {
            TEAM_TAG: PACKAGE,
            ENVIRONMENT_TAG: settings.ENV,
            DAG_TAG: dag.dag_id,
            RUN_TAG: "{{ run_id }}",
            CLUSTER_TAG: cluster_name,
        }
        config_file = self.app_dir / "cluster_configs" / f"{cluster_name}.json"
        config = load_config(config_file, "cluster_config")
        self.create_task = _values_only(
            operator(CreateCluster, self.settings)(
                task_id=f"create_cluster_{cluster_name}",
                dag=dag,
                job_flow_overrides=self._job_flow(in_environment(config, settings)),
                identity=self.identity,
                pool=EMR_POOL,
                emr_conn_id=None,
                wait_for_completion=False,
                deferrable=False,
                **self._aws,
            )
        )
        self.wait_task = operator(ClusterReadySensor, self.settings)(
            task_id=f"wait_for_cluster_{cluster_name}",
            dag=dag,
            job_flow_id=self.cluster_id,
            **self._sensor_args(CLUSTER_POLL, CLUSTER_MAX_WAIT),
        )
        # The run's release first: a release that is not deployed starts no cluster.
        release_task(dag) >> self.create_task
        self.terminate_task = operator(TerminateCluster, self.settings)(
            task_id=f"terminate_cluster_{cluster_name}",
            dag=dag,
            job_flow_id=self.cluster_id,
            identity=self.identity,
            deferrable=False,
            **self._aws,
        )

    @property
    def cluster_id(self) -> str:
        """The cluster's id at run time, as the create task returned it."""
        return cluster_id(self.create_task.task_id)

    def _job_flow(self, config: dict[str, Any]) -> dict[str, Any]:
        """The RunJobFlow request: the cluster config plus its identity (name and tags), the
        managed-policy tag, keep-alive and, unless the config sets one, the environment's idle
        timeout."""
        name = config.get("Name") or f"{self.dag.dag_id}.{self.name}"
        tags = tag_dict(config.get("Tags", [])) | self.identity | MANAGED_POLICY_TAGS
        return {
            "AutoTerminationPolicy": {"IdleTimeout": self._idle_timeout},
            **config,
            "Name": name_prefix(self.settings.ENV) + name,
            "Instances": {**config["Instances"], "KeepJobFlowAliveWhenNoSteps": True},
            "Tags": tag_list(tags),
        }

    def _sensor_args(self, poll: timedelta, max_wait: timedelta) -> dict[str, Any]:
        attempts = int(max_wait / poll)
        return {
            **self._aws,
            "deferrable": self._deferrable,
            "mode": "reschedule",  # between pokes the worker slot is free
            "poke_interval": poll.total_seconds(),
            "max_attempts": attempts,
            "timeout": max_wait.total_seconds(),
            "execution_timeout": max_wait,
        }

    def add_step(
        self,
        *,
        job_config_file: str | Path,
        job_name: str | None = None,
        job_params: Mapping[str, Any] | None = None,
    ) -> tuple[BaseOperator, BaseOperator]:
        """Add a Spark step; return `(add_step_task, check_step_task)` to plug tasks around it.

        `job_config_file` is a path, or a file name in the DAG's `job_configs/` folder.
        `job_name` (default: the file name without `.json`) names the step and the task ids:
        the add task is `<job_name>`, the check task `wait_for_<job_name>`.
        """
        if self._built:
            raise ValueError(f"{self.name}: add steps before build_sequential_flow()")
        path = self.app_dir / "job_configs" / job_config_file
        job_name = job_name or path.stem
        command = spark_submit_command(load_config(path, "job_config"), job_params)
        add = _values_only(
            operator(AddStep, self.settings)(
                task_id=job_name,
                dag=self.dag,
                job_flow_id=self.cluster_id,
                steps=[
                    {
                        "Name": job_name,
                        # The flow decides what happens next: a failed step fails its check task.
                        "ActionOnFailure": "CONTINUE",
                        "HadoopJarStep": {"Jar": "command-runner.jar", "Args": command},
                    }
                ],
                wait_for_completion=False,
                deferrable=False,
                **self._aws,
            )
        )
        check = operator(StepSensor, self.settings)(
            task_id=f"wait_for_{job_name}",
            dag=self.dag,
            job_flow_id=self.cluster_id,
            step_id=f"{{{{ ti.xcom_pull(task_ids='{add.task_id}')[0] }}}}",
            **self._sensor_args(STEP_POLL, STEP_MAX_WAIT),
        )
        add >> check
        self.steps.append((add, check))
        return add, check

    def build_sequential_flow(self) -> None:
        """Chain create -> wait -> each step in order -> terminate, terminate as the teardown."""
        if self._built:
            raise ValueError(f"{self.name}: build_sequential_flow() called twice")
        if not self.steps:
            raise ValueError(f"{self.name}: add_step() at least once before building the flow")
        self._built = True
        previous = self.create_task >> self.wait_task
        for add, check in self.steps:
            previous >> add
            previous = check
        # Both cluster tasks are setups: clearing a step to rerun it brings a cluster up again.
        # The run's state comes from the last step, not from the teardown, so a failed step
        # fails the run (on_failure_fail_dagrun=True would let terminate turn it green).
        previous >> self.terminate_task.as_teardown(setups=[self.create_task, self.wait_task])


def cluster_id(create_task_id: str) -> str:
    """The template of the cluster id that the create task `create_task_id` returns."""
    return f"{{{{ ti.xcom_pull(task_ids='{create_task_id}') }}}}"


def in_environment(config: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """A cluster config with the environment's roles, network and security (the EMR_* settings).

    They differ per environment and never per app, so cluster configs do not name them.
    """
    instances = {**config["Instances"], **settings.EMR_SECURITY_GROUPS}
    subnets = list(settings.EMR_SUBNET_IDS)
    if "InstanceFleets" in instances and subnets:
        instances["Ec2SubnetIds"] = subnets
    elif len(subnets) == 1:
        instances["Ec2SubnetId"] = subnets[0]
    elif subnets:
        raise ValueError(
            f"EMR_SUBNET_IDS of {settings.ENV} lists {len(subnets)} subnets: a cluster of "
            "InstanceGroups runs in one; use InstanceFleets or list a single subnet"
        )
    security = {"SecurityConfiguration": settings.EMR_SECURITY_CONFIGURATION}
    return {
        **config,
        "Instances": instances,
        "ServiceRole": settings.EMR_SERVICE_ROLE,
        "JobFlowRole": settings.EMR_INSTANCE_PROFILE,
        **(security if settings.EMR_SECURITY_CONFIGURATION else {}),
    }


def _values_only(task: BaseOperator) -> BaseOperator:
    """Configs arrive as dicts: a value ending in `.json` is data, not a template file."""
    task.template_ext = ()
    return task
{% endraw %}