"""set-release through MWAA's CLI endpoint.

moto does not implement MWAA, so the MWAA API's `CreateCliToken` is answered by botocore's
Stubber (which checks the request against the service model) and the web server by a local
HTTPS server that behaves like `https://<web server>/aws_mwaa/cli`: an Airflow CLI command as
the plain-text body, a Bearer CLI token, base64 stdout and stderr in a JSON answer.
"""

from __future__ import annotations

import base64
import json
import secrets
import shlex
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from botocore.stub import Stubber

from scripts.deploy import DeployError, airflow_variable
from scripts.deploy.airflow_variable import Mwaa
from scripts.deploy.layout import EMR_POOL, RELEASE_VARIABLE
from tests.deploy.support import EARLIER_RELEASE, RELEASE, self_signed_certificate

ENVIRONMENT = "team-airflow-dev"


class MwaaWebServer(ThreadingHTTPServer):
    """The Airflow CLI of an MWAA web server, as far as Variables and pools go."""

    def __init__(self, certificate, key) -> None:
        super().__init__(("127.0.0.1", 0), MwaaCliHandler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(certificate, key)
        self.socket = context.wrap_socket(self.socket, server_side=True)
        self.token = secrets.token_urlsafe(16)
        self.variables: dict[str, str] = {}
        self.pools: dict[str, dict] = {}
        self.requests: list[dict] = []
        self.tokens = {self.token}  # the CLI tokens it accepts
        self.token_lifetime: int | None = None  # requests a token is good for (None: all)
        self.uses: dict[str, int] = {}
        self.read_only = False
        self.busy = 0  # how many requests to answer 503, as while the web server restarts

    @property
    def hostname(self) -> str:
        return f"localhost:{self.server_address[1]}"

    def run(self, command: list[str]) -> tuple[str, str]:
        match command:
            case ["variables", "set", key, value] if not self.read_only:
                self.variables[key] = value
                return f"Variable {key} created\n", ""
            case ["variables", "get", key] if key in self.variables:
                return self.variables[key] + "\n", ""
            case ["variables", "get", key]:
                return "", f"Variable {key} does not exist\n"
            case ["pools", "set", name, slots, description] if not self.read_only:
                self.pools[name] = {"pool": name, "slots": int(slots), "description": description}
                return f"Pool {name} created\n", ""
            case ["pools", "get", name, "--output", "json"] if name in self.pools:
                return json.dumps([self.pools[name]]) + "\n", ""
        return "", "sqlite3.OperationalError: attempt to write a readonly database\n"


class MwaaCliHandler(BaseHTTPRequestHandler):
    server: MwaaWebServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.server.requests.append(
            {"path": self.path, "headers": dict(self.headers), "body": body}
        )
        token = self.headers["Authorization"].removeprefix("Bearer ")
        uses = self.server.uses[token] = self.server.uses.get(token, 0) + 1
        lifetime = self.server.token_lifetime
        if token not in self.server.tokens or (lifetime and uses > lifetime):
            return self.answer(403, {"message": "Forbidden"})
        if self.path != "/aws_mwaa/cli":
            return self.answer(404, {"message": "Not Found"})
        if self.server.busy:
            self.server.busy -= 1
            return self.answer(503, {"message": "Service Unavailable"})
        stdout, stderr = self.server.run(shlex.split(body))
        encode = lambda text: base64.b64encode(text.encode()).decode()  # noqa: E731
        self.answer(200, {"stdout": encode(stdout), "stderr": encode(stderr)})

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web_server(tmp_path, monkeypatch):
    certificate, key = self_signed_certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    server = MwaaWebServer(certificate, key)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def set_variable(server: MwaaWebServer, value: str, token: str | None = None) -> None:
    client = boto3.client("mwaa", region_name="eu-west-1")
    with Stubber(client) as stubber:
        stubber.add_response(
            "create_cli_token",
            {"CliToken": token or server.token, "WebServerHostname": server.hostname},
            {"Name": ENVIRONMENT},
        )
        Mwaa(ENVIRONMENT, "eu-west-1").set_variable(RELEASE_VARIABLE, value, client=client)
        stubber.assert_no_pending_responses()


def test_sets_the_variable_with_the_airflow_cli(web_server):
    set_variable(web_server, RELEASE)
    assert web_server.variables == {RELEASE_VARIABLE: RELEASE}
    set_request, get_request = web_server.requests
    assert set_request["path"] == "/aws_mwaa/cli"
    assert set_request["headers"]["Authorization"] == f"Bearer {web_server.token}"
    assert set_request["headers"]["Content-Type"] == "text/plain"
    assert set_request["body"] == f"variables set {RELEASE_VARIABLE} {RELEASE}"
    assert get_request["body"] == f"variables get {RELEASE_VARIABLE}"


def test_sets_the_emr_pool_with_the_airflow_cli(web_server):
    for slots in (4, 2, 2):
        client = boto3.client("mwaa", region_name="eu-west-1")
        with Stubber(client) as stubber:
            stubber.add_response(
                "create_cli_token",
                {"CliToken": web_server.token, "WebServerHostname": web_server.hostname},
                {"Name": ENVIRONMENT},
            )
            Mwaa(ENVIRONMENT, "eu-west-1").set_pool(EMR_POOL, slots, "clusters", client=client)
    assert web_server.pools == {EMR_POOL: {"pool": EMR_POOL, "slots": 2, "description": "clusters"}}
    assert web_server.requests[-2]["body"] == f"pools set {EMR_POOL} 2 clusters"


def test_overwrites_and_repeats(web_server):
    set_variable(web_server, EARLIER_RELEASE)
    set_variable(web_server, RELEASE)
    set_variable(web_server, RELEASE)
    assert web_server.variables == {RELEASE_VARIABLE: RELEASE}


def test_a_command_that_fails_inside_airflow_is_reported(web_server):
    web_server.read_only = True
    with pytest.raises(DeployError, match=r"did not store .*readonly database"):
        set_variable(web_server, RELEASE)


def test_a_rejected_token_is_one_line(web_server):
    with pytest.raises(DeployError) as raised:
        set_variable(web_server, RELEASE, token="expired-token")  # noqa: S106
    assert str(raised.value) == (
        f"POST https://{web_server.hostname}/aws_mwaa/cli answered HTTP 403: "
        '{"message": "Forbidden"}'
    )
    assert "expired-token" not in str(raised.value)


def test_a_token_refused_after_its_60_s_is_replaced(web_server, waits, monkeypatch):
    """Retries of a busy web server can outlast a CLI token: then a new one is asked for."""
    # Each attempt that waited for an answer took its 30 s timeout.
    monkeypatch.setattr(airflow_variable.time, "monotonic", lambda: 30.0 * len(waits))
    web_server.tokens.add("first-token")
    web_server.token_lifetime = 2
    web_server.busy = 2
    client = boto3.client("mwaa", region_name="eu-west-1")
    with Stubber(client) as stubber:
        for token in ("first-token", web_server.token):
            stubber.add_response(
                "create_cli_token",
                {"CliToken": token, "WebServerHostname": web_server.hostname},
                {"Name": ENVIRONMENT},
            )
        Mwaa(ENVIRONMENT, "eu-west-1").set_variable(RELEASE_VARIABLE, RELEASE, client=client)
        stubber.assert_no_pending_responses()
    assert web_server.variables == {RELEASE_VARIABLE: RELEASE}
    tokens = [request["headers"]["Authorization"] for request in web_server.requests]
    assert tokens == ["Bearer first-token"] * 3 + [f"Bearer {web_server.token}"] * 2


def test_a_busy_web_server_is_asked_again(web_server, waits, capsys):
    web_server.busy = 2
    set_variable(web_server, RELEASE)
    assert waits == list(airflow_variable.RETRY_WAITS)
    first, second = capsys.readouterr().err.splitlines()
    assert "answered HTTP 503" in first and first.endswith("; asking again in 2 s")
    assert second.endswith("; asking again in 8 s")
    assert web_server.variables == {RELEASE_VARIABLE: RELEASE}
    bodies = [request["body"] for request in web_server.requests]
    assert bodies == [f"variables set {RELEASE_VARIABLE} {RELEASE}"] * 3 + [
        f"variables get {RELEASE_VARIABLE}"
    ]


def test_a_web_server_busy_for_longer_fails_with_its_answer(web_server, waits):
    web_server.busy = 3
    with pytest.raises(DeployError, match=r"answered HTTP 503: .*Service Unavailable"):
        set_variable(web_server, RELEASE)
    assert web_server.variables == {}
    assert len(web_server.requests) == 3


def test_an_untrusted_certificate_is_refused(web_server, waits, monkeypatch, tmp_path):
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-bundle.pem"))
    with pytest.raises(DeployError, match=r"cannot reach .*CERTIFICATE_VERIFY_FAILED"):
        set_variable(web_server, RELEASE)
    assert web_server.variables == {}
    assert waits == [], "a certificate that fails once fails again"
