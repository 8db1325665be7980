"""`make rerun`: what it asks Airflow, in which order, and what it refuses before writing
anything. (That the rerun tasks then render the new release, under a real scheduler, is the
template's test_baked_run_local.py.)"""

import re

import boto3
import pytest
from botocore.stub import Stubber

from scripts.deploy import BadInput, DeployError, cli, rerun
from scripts.deploy.airflow_variable import HttpError, Mwaa
from scripts.deploy.artifacts import release_prefix
from scripts.deploy.layout import RELEASE_VARIABLE, load_environment
from tests.deploy.support import EARLIER_RELEASE, RELEASE, create_bucket

DAG = "team.app"
RUN = "scheduled__2026-01-31T02:00:00+00:00"
RUN_PATH = f"/dags/{DAG}/dagRuns/{RUN}"


class FakeAirflow:
    """Airflow's REST API as `rerun` sees it: a finished run, its tasks' states, the live
    release; every request recorded."""

    def __init__(self, run_state="failed", states=None, live=RELEASE) -> None:
        self.run_state = run_state
        self.states = states or {
            "release": "success",
            "create_cluster_app": "success",
            "preprocess": "success",
            "postprocess": "failed",
            "wait_for_postprocess": "upstream_failed",
            "terminate_cluster_app": "success",
        }
        self.live = live
        self.requests: list[tuple[str, str, dict | None]] = []

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        self.requests.append((method, path, body))
        if path == RUN_PATH:
            return {"state": self.run_state}
        if path == f"/variables/{RELEASE_VARIABLE}":
            return {"key": RELEASE_VARIABLE, "value": self.live}
        if path.startswith(f"{RUN_PATH}/taskInstances?"):
            listed = [{"task_id": task, "state": state} for task, state in self.states.items()]
            return {"task_instances": listed}
        if path.endswith("/clearTaskInstances"):
            return {"task_instances": [{"task_id": task} for task in body["task_ids"]]}
        return {}

    def writes(self) -> list[tuple[str, str, dict | None]]:
        return [request for request in self.requests if request[0] != "GET"]


@pytest.fixture
def dev(aws):
    """dev, with RELEASE and EARLIER_RELEASE deployed to its deployment bucket."""
    environment = load_environment("dev")
    s3 = boto3.client("s3", region_name=environment.aws_region)
    create_bucket(s3, release_prefix(environment, RELEASE)[0])
    for release in (RELEASE, EARLIER_RELEASE):
        bucket, prefix = release_prefix(environment, release)
        s3.put_object(Bucket=bucket, Key=f"{prefix}release.json", Body=b"{}")
    return environment, s3


def test_a_rerun_asks_for_the_release_then_clears_release_alone_then_the_failed_tasks(dev):
    airflow = FakeAirflow()
    assert rerun.rerun(airflow, *dev, DAG, RUN) == (
        RELEASE,
        ["postprocess", "wait_for_postprocess"],
    )

    [ask, clear_release, clear_failed] = airflow.writes()
    store = f"{RUN_PATH}/taskInstances/release/state-store/{rerun.RERUN_KEY}"
    assert ask[:2] == ("PUT", store)
    assert ask[2]["value"]["release"] == RELEASE  # the live one
    assert ask[2]["value"]["asked"]
    common = {"dag_run_id": RUN, "only_failed": False, "reset_dag_runs": True, "dry_run": False}
    clear = ("POST", f"/dags/{DAG}/clearTaskInstances")
    # `release` first and on its own: the other tasks then wait for it to pin the new release.
    alone = {"task_ids": ["release"], "include_downstream": False}
    failed = {"task_ids": ["postprocess", "wait_for_postprocess"], "include_downstream": True}
    assert clear_release == (*clear, common | alone)
    assert clear_failed == (*clear, common | failed)


def test_a_rerun_of_chosen_tasks_on_a_chosen_release(dev):
    airflow = FakeAirflow(run_state="success")
    chosen = ["preprocess"]
    asked = rerun.rerun(airflow, *dev, DAG, RUN, EARLIER_RELEASE, chosen)
    assert asked == (EARLIER_RELEASE, chosen)
    [ask, _, clear] = airflow.writes()
    assert ask[2]["value"]["release"] == EARLIER_RELEASE
    assert clear[2]["task_ids"] == chosen
    assert ("GET", f"/variables/{RELEASE_VARIABLE}", None) not in airflow.requests


ALL_DONE = {"release": "success", "a": "success"}


@pytest.mark.parametrize(
    ("airflow", "release", "tasks", "error", "message"),
    [
        (FakeAirflow(run_state="running"), None, None, BadInput, f"{DAG} {RUN} is running"),
        (FakeAirflow(), "f" * 40, None, DeployError, f"release {'f' * 40} was never deployed"),
        (FakeAirflow(live="local"), None, None, DeployError, "a full 40-character commit SHA"),
        (FakeAirflow(), None, ["nope"], BadInput, f"{DAG} has no task nope"),
        (FakeAirflow(states=ALL_DONE), None, None, BadInput, "no task"),
        (FakeAirflow(states={"a": "failed"}), None, None, BadInput, "has no 'release' task"),
    ],
    ids=["running", "not-deployed", "not-a-release", "unknown-task", "none-failed", "no-release"],
)
def test_a_rerun_refused_writes_nothing(dev, airflow, release, tasks, error, message):
    with pytest.raises(error, match=re.escape(message)):
        rerun.rerun(airflow, *dev, DAG, RUN, release, tasks)
    assert airflow.writes() == []


def test_make_rerun_prints_what_reruns_and_errors_in_one_line(dev, monkeypatch, capsys):
    airflow = FakeAirflow()
    monkeypatch.setattr(cli.airflow_variable, "airflow_target", lambda *args: airflow)
    monkeypatch.setattr(cli, "s3_client", lambda region: dev[1])
    assert cli.main(["rerun", "dev", DAG, RUN, "--tasks", "postprocess, wait_for_postprocess"]) == 0
    assert capsys.readouterr().out == (
        f"{airflow}: {DAG} {RUN} reruns on release {RELEASE}: postprocess, wait_for_postprocess\n"
    )
    airflow.run_state = "queued"
    assert cli.main(["rerun", "dev", DAG, RUN]) == 2
    assert capsys.readouterr().err == (
        f"error: {DAG} {RUN} is queued: wait for it to end, or mark it failed\n"
    )


def test_through_mwaa_the_rerun_calls_airflows_rest_api_with_invoke_rest_api():
    client = boto3.client("mwaa", region_name="eu-west-1")
    mwaa = Mwaa("team-dev", "eu-west-1")
    body = {"value": {"release": RELEASE}}
    path = f"{RUN_PATH}/taskInstances/release/state-store/rerun"
    with Stubber(client) as stub:
        expected = {"Name": "team-dev", "Path": path, "Method": "PUT", "Body": body}
        stub.add_response("invoke_rest_api", {"RestApiStatusCode": 204}, expected)
        stub.add_client_error(
            "invoke_rest_api",
            service_error_code="RestApiClientException",
            http_status_code=400,
            modeled_fields={"RestApiStatusCode": 404, "RestApiResponse": {"detail": "no run"}},
            expected_params={"Name": "team-dev", "Path": RUN_PATH, "Method": "GET"},
        )
        assert mwaa.request("PUT", path, body, client=client) == {}
        answer = f"GET {RUN_PATH} answered HTTP 404: no run"
        with pytest.raises(HttpError, match=re.escape(answer)) as error:
            mwaa.request("GET", RUN_PATH, client=client)
    assert error.value.status == 404
