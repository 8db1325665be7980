"""AWS API calls of one cluster run and one janitor sweep, as other clusters fill the region.

    make bench-emr [FOREIGN="0 50 200"]

In one account and region (moto), with FOREIGN clusters of others up: other teams' with this
repository's DAG ids and run ids, this repository's staging, and untagged ones. It runs the
EMR test app (tests/emr_run.py: the release, a cluster, a Spark step, the teardown) with
`dag.test()` in the dev environment, then the dev janitor's sweep with one of the team's
clusters orphaned, and prints every AWS call of each, by service and operation, per FOREIGN.

The calls of the run do not change with FOREIGN: it finds its cluster by the id its create task
kept, never by listing. The sweep describes only the clusters named like the team's in its
environment (`<package>/<environment>/...`); what grows with FOREIGN is ListClusters' pages,
one per 50 clusters up in the region in AWS (100 in moto), since no EMR API filters clusters by
name or tag. (The Resource Groups Tagging API does; moto has no EMR resources in it, and AWS
documents that it may return resources already deleted.)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from unittest import mock

from {{ cookiecutter.package }}.settings import ENVIRONMENT_VARIABLE

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_FOREIGN = (0, 50, 200)


@contextmanager
def counted() -> Iterator[Counter]:
    """Count every AWS call made through botocore in this process while inside."""
    from botocore.client import BaseClient

    calls: Counter = Counter()
    make_api_call = BaseClient._make_api_call

    def counting(client, operation, params):
        calls[f"{client.meta.service_model.service_name} {operation}"] += 1
        return make_api_call(client, operation, params)

    with mock.patch.object(BaseClient, "_make_api_call", counting):
        yield calls


def start_foreign(emr_client, count: int, request: dict) -> None:
    """`count` clusters of others, each with the DAG id and the run id of `request`'s tags."""
    from {{ cookiecutter.package }} import emr

    prefix = emr.name_prefix("dev")
    kinds = [
        ("other_team", {"team": "other_team"}, "other_team/dev/"),
        ("staging", {"environment": "staging"}, emr.name_prefix("staging")),
        ("untagged", None, ""),
    ]
    for number in range(count):
        kind, tags, name_prefix = kinds[number % len(kinds)]
        tags = emr.tag_list(emr.tag_dict(request["Tags"]) | tags) if tags else []
        name = request["Name"].replace(prefix, name_prefix, 1) + f"-{kind}-{number}"
        emr_client.run_job_flow(**request | {"Name": name, "Tags": tags})


def of_run(request: dict, run_id: str) -> dict:
    """The create task's RunJobFlow `request` for the run `run_id`."""
    from {{ cookiecutter.package }} import emr

    tags = emr.tag_dict(request["Tags"]) | {emr.RUN_TAG: run_id}
    return request | {"Tags": emr.tag_list(tags)}


def measure(foreign: int, dags_folder: Path, monkeypatch) -> tuple[Counter, Counter]:
    """The calls of the test app's run, and of a janitor sweep, among `foreign` clusters, in
    moto (started by the caller) with Airflow's database migrated."""
    import boto3
    import pendulum

    from {{ cookiecutter.package }} import janitor
    from {{ cookiecutter.package }}.release import MANIFEST, VARIABLE
    from {{ cookiecutter.package }}.settings import load_settings

    from scripts.deploy.layout import split_s3_uri
    from tests import emr_run
    from tests.deploy.support import create_bucket

    settings = load_settings()
    emr_client = boto3.client("emr", region_name=settings.AWS_REGION)
    s3 = boto3.client("s3", region_name=settings.AWS_REGION)
    bucket, prefix = split_s3_uri(settings.DEPLOYMENT_BUCKET)
    create_bucket(s3, bucket)
    s3.put_object(Bucket=bucket, Key=f"{prefix}bench/{MANIFEST}", Body=b"{}")
    monkeypatch.setenv(f"AIRFLOW_VAR_{VARIABLE.upper()}", "bench")

    dag = emr_run.write_app(dags_folder, monkeypatch)
    emr_run.end_steps_in(monkeypatch, "COMPLETED")
    request = of_run(dag.get_task("create_cluster_e2e").job_flow_overrides, emr_run.RUN_ID)
    start_foreign(emr_client, foreign, request)
    with counted() as run_calls:
        dag_run = emr_run.run(dag)
    if dag_run.state != "success":
        sys.exit(f"bench-emr: the test app's run ended {dag_run.state}")

    emr_client.run_job_flow(**of_run(request, "manual__an_earlier_run"))  # the orphan
    now = pendulum.now("UTC")
    with counted() as sweep_calls:
        swept = janitor.sweep(
            emr_client,
            environment=settings.ENV,
            run_is_active=lambda dag_id, run_id: False,
            max_age=timedelta(hours=settings.EMR_MAX_CLUSTER_AGE_HOURS),
            now=now,
            dry_run=False,
        )
    if len(swept) != 1:
        sys.exit(f"bench-emr: the sweep ended {len(swept)} clusters, not the one orphan")
    return run_calls, sweep_calls


def table(title: str, counts: dict[int, Counter]) -> str:
    operations = sorted(set().union(*counts.values()))
    header = f"{title:<36}" + "".join(f"{foreign:>8}" for foreign in counts)
    rows = [
        f"  {operation:<34}" + "".join(f"{counts[f][operation]:>8}" for f in counts)
        for operation in operations
    ]
    total = f"  {'all calls':<34}" + "".join(f"{sum(c.values()):>8}" for c in counts.values())
    return "\n".join([header, *rows, total])


def main() -> None:
    foreign = [int(n) for n in (sys.argv[1:] or DEFAULT_FOREIGN)]
    home = tempfile.mkdtemp(prefix="bench-emr-")
    os.environ |= {
        ENVIRONMENT_VARIABLE: "dev",
        "AIRFLOW_HOME": home,  # a throwaway Airflow database, set before Airflow is imported
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "CRITICAL",  # the tasks' logs would bury the table
    }
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # moto's, not AWS's
        os.environ[name] = "bench"
    migrate = [sys.executable, "-m", "airflow", "db", "migrate"]
    subprocess.run(migrate, check=True, capture_output=True)
    import pytest
    from moto import mock_aws

    runs, sweeps = {}, {}
    for count in foreign:
        with pytest.MonkeyPatch.context() as patch, mock_aws():
            runs[count], sweeps[count] = measure(count, Path(home) / "dags", patch)
    print(f"AWS calls, by how many other clusters are up in the account and region: {foreign}")
    print(table("one run (create, a step, teardown)", runs))
    print(table("one janitor sweep (one orphan)", sweeps))
    shutil.rmtree(home)


if __name__ == "__main__":
    main()
