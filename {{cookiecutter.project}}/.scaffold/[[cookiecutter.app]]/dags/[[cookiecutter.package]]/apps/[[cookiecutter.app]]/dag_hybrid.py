"""Hybrid: clean the day's orders with Spark, score customers in a container, sum up with Spark.

create cluster -> preprocess (Spark) -> score (container) -> postprocess (Spark) -> terminate.
Each task writes to its own data path and is told where its predecessor wrote.
Business code: both Spark steps in
jobs/[[ cookiecutter.app ]]/spark/,
the container job in jobs/[[ cookiecutter.app ]]/score/.
"""

from __future__ import annotations

from datetime import timedelta

# The provider modules the team library uses, named here so that Airflow's DAG processor
# loads them once instead of at every parse of this file (README: DAG parse cost).
[% if cookiecutter.airflow_api == "mwaa" %]import airflow.providers.amazon.aws.operators.eks
[% endif %]import airflow.providers.amazon.aws.operators.emr
import airflow.providers.amazon.aws.sensors.emr
import airflow.providers.cncf.kubernetes.operators.pod
import pendulum
from airflow.sdk import DAG

from [[ cookiecutter.package ]].defaults import DEFAULT_ARGS, TAGS, app_dag_id, macros
from [[ cookiecutter.package ]].emr import Cluster
from [[ cookiecutter.package ]].k8s import container_job
from [[ cookiecutter.package ]].paths import data_path

with DAG(
    dag_id=app_dag_id(__file__),
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "spark", "k8s"],
    user_defined_macros=macros(),
    doc_md=__doc__,
) as dag:
    cluster = Cluster(
        dag=dag,
        cluster_name="[[ cookiecutter.app ]]",
    )
    _, preprocessed = cluster.add_step(
        job_config_file="preprocess.json",
        job_params={"output_path": data_path("preprocess")},
    )
    score = container_job(
        task_id="score",
        image="[[ cookiecutter.app ]]-score",
        arguments={
            "--source_path": data_path("preprocess"),
            "--result_path": data_path("score"),
            "--date": "{{ ds }}",
        },
        memory="1Gi",
        cpu="500m",
        # The cluster idles while it runs: its 3 tries (retries=2) of up to 15 min and the 5 min
        # between them fit in the cluster's IdleTimeout of an hour (tests/test_dag_validation.py).
        timeout=timedelta(minutes=15),
    )
    postprocess, _ = cluster.add_step(
        job_config_file="postprocess.json",
        job_params={"input_path": data_path("score"), "output_path": data_path("postprocess")},
    )
    cluster.build_sequential_flow()
    preprocessed >> score >> postprocess
