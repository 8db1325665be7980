"""The EMR janitor: every hour, terminate the team's clusters that outlived their DAG run.

A cluster tagged by `emr.Cluster` with the team, this environment, a DAG and a run goes when that
run is no longer queued or running (nothing else ended it: a lost worker, a lost RunJobFlow
answer) or when it is older than EMR_MAX_CLUSTER_AGE_HOURS. Other teams' clusters, other
environments' and untagged ones are never touched. Its XCom is what each cluster it ended had
cost. With EMR_JANITOR_DRY_RUN it only logs what it would terminate. The rule is in janitor.py.
"""

from __future__ import annotations

from datetime import timedelta

# The provider module `@task` uses, named here so that Airflow's DAG processor loads it once
# instead of at every parse of this file (README: DAG parse cost).
import airflow.providers.standard.decorators.python
import pendulum
from airflow.sdk import DAG, task

from {{ cookiecutter.package }}.defaults import OPS_DAG_ARGS
from {{ cookiecutter.package }}.settings import PACKAGE

with DAG(
    dag_id=f"{PACKAGE}.ops.emr_janitor", schedule="@hourly", doc_md=__doc__, **OPS_DAG_ARGS
) as dag:

    @task
    def terminate_orphan_clusters(ti=None) -> list[dict]:
        from airflow.providers.amazon.aws.hooks.emr import EmrHook

        from {{ cookiecutter.package }}.janitor import sweep
        from {{ cookiecutter.package }}.settings import load_settings

        settings = load_settings()
        hook = EmrHook(aws_conn_id=settings.AWS_CONN_ID, region_name=settings.AWS_REGION)

        def run_is_active(dag_id: str, run_id: str) -> bool:
            # The Task SDK asks Airflow's execution API: no database access from the worker.
            active = ["queued", "running"]
            return ti.get_dr_count(dag_id=dag_id, run_ids=[run_id], states=active) > 0

        return sweep(
            hook.conn,
            environment=settings.ENV,
            run_is_active=run_is_active,
            max_age=timedelta(hours=settings.EMR_MAX_CLUSTER_AGE_HOURS),
            now=pendulum.now("UTC"),
            dry_run=settings.EMR_JANITOR_DRY_RUN,
        )

    terminate_orphan_clusters()
