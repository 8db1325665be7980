"""The pod janitor: every day, delete the team's failed pods kept longer than FAILED_POD_RETENTION.

Container jobs delete a pod that succeeded and keep one that failed, for its events and state
(K8S_ON_FINISH_ACTION `delete_succeeded_pod`); Kubernetes never deletes it. This deletes, in the
environment's K8S_NAMESPACE, the failed pods labelled with this package (`project`) whose last
container ended more than FAILED_POD_RETENTION ago (defaults.py). Their logs stay in the tasks'
logs in Airflow. With EMR_JANITOR_DRY_RUN it only logs what it would delete. The rule is in
janitor.py.
"""

from __future__ import annotations

# The provider module `@task` uses, named here so that Airflow's DAG processor loads it once
# instead of at every parse of this file (README: DAG parse cost).
import airflow.providers.standard.decorators.python
import pendulum
from airflow.sdk import DAG, task

from {{ cookiecutter.package }}.defaults import OPS_DAG_ARGS
from {{ cookiecutter.package }}.settings import PACKAGE

with DAG(
    dag_id=f"{PACKAGE}.ops.pod_janitor", schedule="@daily", doc_md=__doc__, **OPS_DAG_ARGS
) as dag:

    @task
    def delete_old_failed_pods() -> list[str]:
        from {{ cookiecutter.package }}.defaults import FAILED_POD_RETENTION
        from {{ cookiecutter.package }}.janitor import sweep_failed_pods
        from {{ cookiecutter.package }}.k8s import kubernetes_api
        from {{ cookiecutter.package }}.settings import load_settings

        settings = load_settings()
        with kubernetes_api(settings) as core_v1:
            return sweep_failed_pods(
                core_v1,
                namespace=settings.K8S_NAMESPACE,
                max_age=FAILED_POD_RETENTION,
                now=pendulum.now("UTC"),
                dry_run=settings.EMR_JANITOR_DRY_RUN,
            )

    delete_old_failed_pods()
