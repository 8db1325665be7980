"""Helpers of the deploy tests: test data, a docker stand-in, a free port, the local Airflow
api-server's handle and a self-signed certificate."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest

# Releases are commit SHAs.
RELEASE = hashlib.sha1(b"the release being deployed", usedforsecurity=False).hexdigest()
EARLIER_RELEASE = hashlib.sha1(b"the release before", usedforsecurity=False).hexdigest()
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team"


class FakeDocker:
    """A `docker` executable on PATH that records its calls and keeps a registry of pushes.

    There is no Docker engine in CI's unit-test stage; what is tested is which commands the
    deploy runs, in which order, with which arguments and input. The registry maps each pushed
    reference to its digest, which depends on the image and tag only: a copy keeps it.
    """

    SCRIPT = """\
        import hashlib, json, os, sys
        args = sys.argv[1:]
        stdin = sys.stdin.read() if "--password-stdin" in args else None
        with open(os.environ["FAKE_DOCKER_LOG"], "a") as log:
            log.write(json.dumps({"args": args, "stdin": stdin}) + "\\n")
        registry = os.environ["FAKE_DOCKER_REGISTRY"]
        pushed = json.loads(open(registry).read() or "{}")
        if args[0] == os.environ.get("FAKE_DOCKER_FAIL"):
            sys.exit(3)
        if args[:2] == ["manifest", "inspect"]:
            sys.exit(0 if args[2] in pushed else 1)
        if args[:3] == ["buildx", "imagetools", "inspect"]:
            if args[-1] not in pushed:
                sys.exit(1)
            print(json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json",
                              "digest": pushed[args[-1]]}))
        if args[0] == "push":
            image = args[1].rsplit("/", 1)[-1]
            pushed[args[1]] = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        if args[:3] == ["buildx", "imagetools", "create"]:
            pushed[args[4]] = args[5].split("@")[1]
        open(registry, "w").write(json.dumps(pushed))
    """

    def __init__(self, directory: Path, monkeypatch) -> None:
        executable = directory / "bin" / "docker"
        executable.parent.mkdir(parents=True)
        self.log = directory / "calls.jsonl"
        self.registry = directory / "registry.txt"
        self.registry.write_text("{}")
        executable.write_text(f"#!{sys.executable}\n" + textwrap.dedent(self.SCRIPT))
        executable.chmod(0o755)
        monkeypatch.setenv("PATH", f"{executable.parent}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.setenv("FAKE_DOCKER_LOG", str(self.log))
        monkeypatch.setenv("FAKE_DOCKER_REGISTRY", str(self.registry))

    @property
    def calls(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def commands(self) -> list[list[str]]:
        return [call["args"] for call in self.calls]

    def push(self, *references: str) -> None:
        """Put `references` in the stand-in's registry, as `docker push` does."""
        pushed = json.loads(self.registry.read_text())
        for reference in references:
            image = reference.rsplit("/", 1)[-1]
            pushed[reference] = "sha256:" + hashlib.sha256(image.encode()).hexdigest()
        self.registry.write_text(json.dumps(pushed))

    def mirror_to_ecr(self, ecr) -> None:
        """Put each image of the stand-in's registry in moto's ECR too, with the same digest."""
        for reference, digest in json.loads(self.registry.read_text()).items():
            repository, _, tag = reference.partition("/")[2].rpartition(":")
            known = {
                found["repositoryName"] for found in ecr.describe_repositories()["repositories"]
            }
            if repository not in known:
                ecr.create_repository(repositoryName=repository)
            manifest = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "tag": tag}
            ecr.put_image(
                repositoryName=repository,
                imageManifest=json.dumps(manifest),
                imageTag=tag,
                imageDigest=digest,
            )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class AirflowServer:
    url: str
    username: str
    password: str = field(repr=False)
    viewer: str
    viewer_password: str = field(repr=False)
    env: dict[str, str] = field(repr=False)

    def variable(self, key: str, method: str = "GET") -> str | None:
        """The Variable's value as the API server has it, None when it is not set."""
        from scripts.deploy.airflow_variable import RestApi

        token = RestApi(self.url, self.username, self.password).token()
        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/api/v2/variables/{key}",
            method=method,
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())["value"] if method == "GET" else None
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def delete_variable(self, key: str) -> None:
        self.variable(key, method="DELETE")

    def pool_slots(self, name: str) -> int | None:
        """The pool's slots as the API server has them, None when there is no such pool."""
        from scripts.deploy.airflow_variable import RestApi

        token = RestApi(self.url, self.username, self.password).token()
        request = urllib.request.Request(  # noqa: S310
            f"{self.url}/api/v2/pools/{name}", headers={"Authorization": f"Bearer {token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read())["slots"]
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, seconds: int = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"airflow api-server exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"airflow api-server not ready after {seconds} s:\n{log.read_text()[-5000:]}")


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for `localhost`, trusted by clients that load it (SSL_CERT_FILE)."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    certificate_path, key_path = directory / "certificate.pem", directory / "key.pem"
    certificate_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate_path, key_path


def create_bucket(s3, bucket: str) -> None:
    """Create `bucket` in the client's region (us-east-1 refuses a location constraint)."""
    region = s3.meta.region_name
    if region == "us-east-1":
        s3.create_bucket(Bucket=bucket)
    else:
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def data_key(template: str, settings, dag_id: str = "app") -> str:
    """The key of a file under the data path `template` (paths.py) as `settings`' runs render it."""
    from jinja2 import Template

    from scripts.deploy.layout import split_s3_uri

    dag = SimpleNamespace(dag_id=dag_id)
    uri = Template(template).render(config=settings, dag=dag, ds="2026-01-31")
    return f"{split_s3_uri(uri)[1]}part-0.parquet"
