"""Spark only: count each day's events per type on a dedicated EMR cluster.

create cluster -> wait for it -> daily_event_counts step -> wait for it -> terminate cluster.
The Spark script is business code, deployed separately:
jobs/[[ cookiecutter.app ]]/spark/.
"""

from __future__ import annotations

# The provider modules the team library uses, named here so that Airflow's DAG processor
# loads them once instead of at every parse of this file (README: DAG parse cost).
import airflow.providers.amazon.aws.operators.emr
import airflow.providers.amazon.aws.sensors.emr
import pendulum
from airflow.sdk import DAG

from [[ cookiecutter.package ]].defaults import DEFAULT_ARGS, TAGS, app_dag_id, macros
from [[ cookiecutter.package ]].emr import Cluster
from [[ cookiecutter.package ]].paths import data_path

with DAG(
    dag_id=app_dag_id(__file__),
    schedule="0 1 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "spark"],
    user_defined_macros=macros(),
    doc_md=__doc__,
) as dag:
    cluster = Cluster(
        dag=dag,
        cluster_name="[[ cookiecutter.app ]]",
    )
    cluster.add_step(
        job_config_file="daily_event_counts.json",
        # The step's results go where the convention says: the next task can find them.
        job_params={"output_path": data_path("daily_event_counts")},
    )
    cluster.build_sequential_flow()
