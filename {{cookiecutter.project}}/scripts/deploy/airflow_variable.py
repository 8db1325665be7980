"""Point Airflow at a release: set the release Variable (`VARIABLE` in release.py) to its SHA,
and the team's EMR pool to its number of slots; and reach Airflow's REST API (`make rerun`).

Two ways in, chosen with `--api` (this repository's default: `{{ cookiecutter.airflow_api }}`):

- `airflow`, the Airflow 3 REST API: a token from `POST /auth/token`, then upserts with
  `PATCH /api/v2/variables` and `PATCH /api/v2/pools`. Reads AIRFLOW_URL, AIRFLOW_USERNAME and
  AIRFLOW_PASSWORD.
- `mwaa`, Amazon MWAA: a CLI token from the MWAA API (with the AWS credentials), then the
  Airflow CLI's `variables set`/`get` and `pools set`/`get` through
  `https://<web server>/aws_mwaa/cli`; other REST calls through MWAA's InvokeRestApi. The
  environment's name is `INFRA.MWAA_ENVIRONMENT` in its settings file, the one environment its
  deploy role may call.

Setting the same value again changes nothing. Secrets come from environment variables, never
from the command line, and are never printed.
"""

from __future__ import annotations

import base64
import json
import shlex
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import boto3

from scripts.deploy import BadInput, DeployError

if TYPE_CHECKING:
    from scripts.deploy.layout import Environment

APIS = ("airflow", "mwaa")
DEFAULT_API = "{{ cookiecutter.airflow_api }}"
TIMEOUT_SECONDS = 30
RETRY_WAITS = (2, 8)
# Too many requests, and what a web server answers while it restarts or its database is busy.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
CLI_TOKEN_SECONDS = 60  # how long an MWAA CLI token is valid
URL_SCHEMES = ("https://", "http://")  # what urllib may open here: never file:// or ftp://


class HttpError(DeployError):
    """A non-2xx answer; `status` lets callers explain the usual ones."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Unanswered(DeployError):
    """No connection, no answer in time, or a busy one (`RETRY_STATUSES`): worth sending
    again."""


def call(method: str, url: str, body: bytes | None, headers: dict[str, str]) -> bytes:
    """One HTTP request; every failure becomes a one-line error naming the request. Unanswered
    requests are sent again after each of `RETRY_WAITS`: every request here is safe to repeat,
    and a deploy that stops between shipping the DAGs and setting the release leaves the new
    DAGs running the old release."""
    if not url.startswith(URL_SCHEMES):
        raise DeployError(f"not an http(s) URL: {url!r}")
    # S310: the scheme is checked just above.
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    for wait in RETRY_WAITS:
        try:
            return send(request)
        except Unanswered as unanswered:
            print(f"{unanswered}; asking again in {wait} s", file=sys.stderr)
        time.sleep(wait)
    return send(request)


def send(request: urllib.request.Request) -> bytes:
    method, url = request.get_method(), request.full_url
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            return response.read()
    except urllib.error.HTTPError as error:
        message = f"{method} {url} answered HTTP {error.code}: {detail(error.read())}"
        if error.code in RETRY_STATUSES:
            raise Unanswered(message) from None
        raise HttpError(message, error.code) from None
    except OSError as error:  # URLError, refused connections, timeouts, TLS failures
        reason = getattr(error, "reason", error)
        failure = Unanswered if isinstance(reason, ConnectionError | TimeoutError) else DeployError
        raise failure(f"cannot reach {url}: {reason}") from None


def detail(body: bytes) -> str:
    """The server's explanation on one short line (FastAPI puts it in `detail`)."""
    try:
        text = json.loads(body).get("detail", body.decode())
    except (ValueError, AttributeError):
        text = body.decode(errors="replace")
    return " ".join(str(text).split())[:200] or "(empty body)"


def parse_json(body: bytes, method: str, url: str) -> dict:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise DeployError(f"{method} {url} answered something that is not a JSON object")
    return answer


def call_json(method: str, url: str, payload: dict | None, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = None if payload is None else json.dumps(payload).encode()
    answer = call(method, url, body, headers)
    return parse_json(answer, method, url) if answer else {}


def required(environ: Mapping[str, str], *names: str) -> list[str]:
    missing = [name for name in names if not environ.get(name)]
    if missing:
        raise BadInput(f"set {', '.join(missing)} in the environment")
    return [environ[name] for name in names]


@dataclass(frozen=True)
class RestApi:
    """An Airflow 3 API server, with a user allowed to write Variables."""

    url: str
    username: str
    password: str = field(repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> RestApi:
        url, username, password = required(
            environ, "AIRFLOW_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"
        )
        if not url.startswith(URL_SCHEMES):
            raise BadInput("AIRFLOW_URL must start with https:// or http://")
        return cls(url.rstrip("/"), username, password)

    def __str__(self) -> str:
        return f"Airflow at {self.url}"

    def token(self) -> str:
        credentials = {"username": self.username, "password": self.password}
        try:
            answer = call_json("POST", f"{self.url}/auth/token", credentials)
        except HttpError as error:
            if error.status in (401, 403):
                raise DeployError(
                    f"{self} rejected the credentials of {self.username!r} (HTTP {error.status})"
                ) from None
            raise
        if not answer.get("access_token"):
            raise DeployError(f"{self} answered POST /auth/token without an access_token")
        return answer["access_token"]

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        """One call of the REST API, `path` under /api/v2; the JSON answer ({} when empty)."""
        return call_json(method, f"{self.url}/api/v2{path}", body, self.token())

    def set_variable(self, key: str, value: str) -> None:
        """Create the Variable, or overwrite it."""
        self.upsert("variables", {"key": key, "value": value}, key)

    def set_pool(self, name: str, slots: int, description: str) -> None:
        """Create the pool, or overwrite its slots and description."""
        pool = {"name": name, "slots": slots, "description": description}
        self.upsert("pools", pool, f"pool {name}")

    def upsert(self, collection: str, entity: dict, what: str) -> None:
        """One bulk request with a single create-or-overwrite."""
        upsert = {"action": "create", "action_on_existence": "overwrite", "entities": [entity]}
        url = f"{self.url}/api/v2/{collection}"
        result = call_json("PATCH", url, {"actions": [upsert]}, self.token())
        # The bulk endpoint answers 200 and lists the entities it could not write.
        errors = (result.get("create") or {}).get("errors") or []
        if errors:
            raise DeployError(f"{self} did not set {what}: {errors[0].get('error', errors[0])}")


@dataclass(frozen=True)
class Mwaa:
    """An Amazon MWAA environment, reached with the current AWS credentials."""

    environment: str
    region: str

    @classmethod
    def of(cls, environment: Environment) -> Mwaa:
        return cls(environment.infra_setting("MWAA_ENVIRONMENT"), environment.aws_region)

    def __str__(self) -> str:
        return f"MWAA environment {self.environment!r} ({self.region})"

    def request(self, method: str, path: str, body: dict | None = None, client=None) -> dict:
        """One call of the environment's Airflow REST API through MWAA's InvokeRestApi, `path`
        as under /api/v2; the JSON answer. `client`: an MWAA boto3 client."""
        client = client or boto3.client("mwaa", region_name=self.region)
        call = {"Name": self.environment, "Path": path, "Method": method}
        try:
            answer = client.invoke_rest_api(**call, **({"Body": body} if body else {}))
        except client.exceptions.RestApiClientException as error:
            status = error.response.get("RestApiStatusCode", 400)
            answer = json.dumps(error.response.get("RestApiResponse") or str(error)).encode()
            message = f"{self}: {method} {path} answered HTTP {status}: {detail(answer)}"
            raise HttpError(message, status) from None
        return answer.get("RestApiResponse") or {}

    def set_variable(self, key: str, value: str, client=None) -> None:
        """`client`: an MWAA boto3 client (by default one for this region)."""
        cli = MwaaCli(client or boto3.client("mwaa", region_name=self.region), self.environment)
        written = cli.run("variables", "set", key, value)
        stored = cli.run("variables", "get", key)
        if stored.stdout.split()[-1:] != [value]:
            problem = written.stderr.strip() or stored.stderr.strip() or "no error output"
            raise DeployError(f"{self} did not store {key}: {problem.splitlines()[-1]}")

    def set_pool(self, name: str, slots: int, description: str, client=None) -> None:
        """`client`: an MWAA boto3 client (by default one for this region)."""
        cli = MwaaCli(client or boto3.client("mwaa", region_name=self.region), self.environment)
        written = cli.run("pools", "set", name, str(slots), description)
        stored = cli.run("pools", "get", name, "--output", "json")
        try:
            [pool] = json.loads(stored.stdout)
            stored_slots = int(pool["slots"])
        except (ValueError, KeyError, TypeError):
            stored_slots = None
        if stored_slots != slots:
            problem = written.stderr.strip() or stored.stderr.strip() or "no error output"
            raise DeployError(f"{self} did not store pool {name}: {problem.splitlines()[-1]}")


class CliOutput(NamedTuple):
    stdout: str
    stderr: str


class MwaaCli:
    """The Airflow CLI of an MWAA environment, over its web server's `/aws_mwaa/cli` endpoint."""

    def __init__(self, client, environment: str) -> None:
        self.client = client
        self.environment = environment
        self.new_token()

    def new_token(self) -> None:
        self.token_issued = time.monotonic()  # before asking: the token's age is never less
        token = self.client.create_cli_token(Name=self.environment)
        self.url = f"https://{token['WebServerHostname']}/aws_mwaa/cli"
        self.headers = {
            "Authorization": f"Bearer {token['CliToken']}",
            "Content-Type": "text/plain",
        }

    def run(self, *args: str) -> CliOutput:
        """Run one Airflow CLI command (MWAA answers 200 even when the command fails)."""
        command = shlex.join(args).encode()
        try:
            body = call("POST", self.url, command, self.headers)
        except HttpError as error:
            # A busy web server's retries can outlast the token, which MWAA then refuses.
            expired = time.monotonic() - self.token_issued >= CLI_TOKEN_SECONDS
            if error.status not in (401, 403) or not expired:
                raise
            self.new_token()
            body = call("POST", self.url, command, self.headers)
        answer = parse_json(body, "POST", self.url)
        return CliOutput(decode(answer.get("stdout")), decode(answer.get("stderr")))


def decode(base64_text: str | None) -> str:
    return base64.b64decode(base64_text or "").decode(errors="replace")


def airflow_target(
    api: str, environ: Mapping[str, str], environment: Environment
) -> RestApi | Mwaa:
    """Where the Variable is set: an Airflow API server named by environment variables, or the
    environment's MWAA environment."""
    if api == "airflow":
        return RestApi.from_environ(environ)
    if api == "mwaa":
        return Mwaa.of(environment)
    raise DeployError(f"unknown Airflow API {api!r} (one of {', '.join(APIS)})")
