"""A real DAG file built with `Cluster`, run by `dag.test()` against moto's EMR (tests of EMR
runs share it: test_emr_e2e.py, test_emr_shared_account.py).

moto runs the EMR API but never finishes a step by itself: `end_steps_in` makes each submitted
step end COMPLETED or FAILED in moto's backend. Deferrable waiting needs a triggerer and does
not work under moto, so these runs wait by poking. Retries come at once (retry_delay=0).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pendulum
from moto.emr.models import Cluster as MotoCluster

from {{ cookiecutter.package }} import emr
from {{ cookiecutter.package }}.release import TEMPLATE
from {{ cookiecutter.package }}.settings import PACKAGE, load_settings
{% raw %}
APP = "emr_e2e"
DAG_ID = f"{PACKAGE}.{APP}"
LOGICAL_DATE = pendulum.datetime(2026, 1, 31, tz="UTC")

DAG_FILE = '''
"""A Spark step with a plugged upstream task; no user_defined_macros, on purpose."""

from datetime import timedelta

import pendulum
from airflow.sdk import DAG, task

from {package}.defaults import DEFAULT_ARGS, TAGS, app_dag_id
from {package}.emr import Cluster

with DAG(
    dag_id=app_dag_id(__file__),
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args={{**DEFAULT_ARGS, "retry_delay": timedelta(0)}},
    tags=TAGS,
    params=dict(fail_upstream=False),
) as dag:

    @task(retries=0)
    def extract(params=None):
        if params["fail_upstream"]:
            raise RuntimeError("extract failed")

    cluster = Cluster(dag=dag, cluster_name="e2e")
    add_count, check_count = cluster.add_step(
        job_config_file="count.json", job_params=dict(output_path="s3://out/counts.json")
    )
    cluster.build_sequential_flow()
    extract() >> add_count
'''
JOB = {
    "SparkArgs": {"--deploy-mode": "cluster", "--conf": ["spark.a=1", "spark.b=2"]},
    "ScriptPath": f"{{{{ config.DEPLOYMENT_BUCKET }}}}/{TEMPLATE}/{APP}/count.py",
    "JobParams": {"--stage": "{{ config.ENV }}", "--date": "{{ ds }}"},
}
CLUSTER = {
    "ReleaseLabel": "emr-7.12.0",
    "Applications": [{"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [
            {
                "Name": "primary",
                "InstanceRole": "MASTER",
                "InstanceType": "m5.xlarge",
                "InstanceCount": 1,
            },
            {
                "Name": "core",
                "InstanceRole": "CORE",
                "InstanceType": "m5.2xlarge",
                "InstanceCount": 2,
            },
        ]
    },
    "BootstrapActions": [
        {"Name": "deps", "ScriptBootstrapAction": {"Path": "s3://code/install.sh", "Args": ["-q"]}}
    ],
    "Configurations": [
        {
            "Classification": "spark-defaults",
            "Properties": {"spark.dynamicAllocation.enabled": "true"},
        }
    ],
    "LogUri": "{{ config.DATA_BUCKET }}/emr-logs/",
    "VisibleToAllUsers": True,
    "Tags": [{"Key": "cost-center", "Value": "42"}],
}
{% endraw %}

def write_app(dags_folder: Path, monkeypatch):
    """The app written into the DAGs folder and parsed as the DAG processor does. The cluster
    wait asks to be poked again 0.2 s later (`dag.test()` looks once a second) and gives up
    after 3 s, also its execution timeout: a loaded machine needs that for a first AWS client."""
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    monkeypatch.setattr(emr, "load_settings", lambda: load_settings().replace(DEFERRABLE=False))
    monkeypatch.setattr(emr, "CLUSTER_POLL", timedelta(seconds=0.2))
    monkeypatch.setattr(emr, "CLUSTER_MAX_WAIT", timedelta(seconds=3))
    app = dags_folder / APP
    configs = {"job_configs/count.json": JOB, "cluster_configs/e2e.json": CLUSTER}
    for name, config in configs.items():
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text(json.dumps(config, indent=2))
    (app / f"{APP}_dag.py").write_text(DAG_FILE.format(package=PACKAGE))

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(app), safe_mode=False)
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(DAG_ID)


def end_steps_in(monkeypatch, state: str) -> None:
    """Make every step submitted to moto end in `state` (moto leaves them RUNNING forever)."""
    submit = MotoCluster.add_steps

    def add_steps(cluster, steps):
        added = submit(cluster, steps)
        for step in added:
            step.state = state
        return added

    monkeypatch.setattr(MotoCluster, "add_steps", add_steps)


def run(dag, **kwargs):
    """A run of `dag` for LOGICAL_DATE, with the run id RUN_ID."""
    return dag.test(logical_date=LOGICAL_DATE, run_after=LOGICAL_DATE, **kwargs)


# The id of that run: every environment's Airflow gives its run of that date this same id.
RUN_ID = f"manual__{LOGICAL_DATE.isoformat()}"


def task_states(run) -> dict[str, str]:
    return {ti.task_id: ti.state for ti in run.get_task_instances()}
