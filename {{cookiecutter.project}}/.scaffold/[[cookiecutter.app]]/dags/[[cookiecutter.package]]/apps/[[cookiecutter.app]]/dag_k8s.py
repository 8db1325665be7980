"""K8s only: score every customer from the day's orders, in one container job.

The job's code and Dockerfile live in
jobs/[[ cookiecutter.app ]]/score/;
its image is `[[ cookiecutter.app ]]-score`.
"""

from __future__ import annotations

# The provider modules the team library uses, named here so that Airflow's DAG processor
# loads them once instead of at every parse of this file (README: DAG parse cost).
[% if cookiecutter.airflow_api == "mwaa" %]import airflow.providers.amazon.aws.operators.eks
[% endif %]import airflow.providers.cncf.kubernetes.operators.pod
import pendulum
from airflow.sdk import DAG

from [[ cookiecutter.package ]].defaults import DEFAULT_ARGS, TAGS, app_dag_id, macros
from [[ cookiecutter.package ]].k8s import container_job
from [[ cookiecutter.package ]].paths import data_path

# The shop's export lands one folder of CSV files per day here.
ORDERS = "{{ config.DATA_BUCKET }}/landing/orders/{{ ds }}"

with DAG(
    dag_id=app_dag_id(__file__),
    schedule="0 3 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    default_args=DEFAULT_ARGS,
    tags=[*TAGS, "k8s"],
    user_defined_macros=macros(),
    doc_md=__doc__,
):
    container_job(
        task_id="score",
        image="[[ cookiecutter.app ]]-score",
        arguments={
            "--source_path": ORDERS,
            "--result_path": data_path("score"),
            "--date": "{{ ds }}",
        },
        memory="1Gi",
        cpu="500m",
    )
