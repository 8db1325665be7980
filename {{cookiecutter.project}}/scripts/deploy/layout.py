"""What there is to deploy, found from the repository layout, and where it goes.

Apps and jobs are discovered by their folders (see the README's Layout), so a new app ships
without touching the pipeline. Per-environment targets come from
`dags/<package>/environments/<env>.json`, the file Airflow reads too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from {{ cookiecutter.package }}.configs import ConfigError, load_config

from scripts.deploy import BadInput, DeployError

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "{{ cookiecutter.package }}"
RELEASE = re.compile(r"^[0-9a-f]{40}$")
# The `INFRA` settings deploy commands read besides `make infra`, and what for.
INFRA_USES = {
    "DAGS_S3_URI": "the S3 DAGs folder sync-dags syncs to",
    "MWAA_ENVIRONMENT": "the MWAA environment whose Variables set-release sets",
}
S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)/?(?P<prefix>.*)$")


def dags_constant(module: str, name: str, root: Path = REPO) -> str:
    """A constant of `dags/<package>/<module>.py`, read as data: the deploy's environment has no
    Airflow to import the DAGs package with."""
    for node in ast.parse((root / "dags" / PACKAGE / f"{module}.py").read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", "") for t in node.targets] == [name]:
            return ast.literal_eval(node.value)
    raise DeployError(f"dags/{PACKAGE}/{module}.py defines no {name}")


# The Airflow Variable naming the live release, and the pool every create-cluster task takes a
# slot of: the deploy sets both.
RELEASE_VARIABLE = dags_constant("release", "VARIABLE")
EMR_POOL = dags_constant("defaults", "EMR_POOL")


@dataclass(frozen=True)
class Environment:
    """The deploy targets of one environment."""

    name: str
    aws_region: str
    deployment_bucket: str
    image_registry: str
    emr_max_clusters: int
    image_platform: str
    # The file's INFRA block: `make infra` creates the stack from it, and scopes the deploy role
    # to the S3 DAGs folder and the MWAA environment it names.
    infra: Mapping[str, object] = field(default_factory=dict)

    def infra_setting(self, name: str) -> str:
        """One of `INFRA_USES`, which environments that do not use it leave null."""
        value = self.infra.get(name)
        if not value:
            where = f"dags/{PACKAGE}/environments/{self.name}.json"
            raise BadInput(f"set INFRA.{name} ({INFRA_USES[name]}) in {where}")
        return str(value)


@dataclass(frozen=True)
class ContainerJob:
    """`jobs/<app>/<job>/Dockerfile`: one image, `<app>-<job>`, built from its own folder."""

    app: str
    job: str
    context: Path

    @property
    def image(self) -> str:
        return f"{self.app}-{self.job}"

    def reference(self, environment: Environment, release: str) -> str:
        return f"{environment.image_registry}/{self.image}:{release}"


def environments_dir(root: Path = REPO) -> Path:
    return root / "dags" / PACKAGE / "environments"


def environment_names(root: Path = REPO) -> list[str]:
    return sorted(path.stem for path in environments_dir(root).glob("*.json"))


def read_settings(name: str, root: Path = REPO) -> dict:
    """The settings file of environment `name`, checked against its schema as Airflow reads it."""
    known = environment_names(root)
    if name not in known:
        raise BadInput(f"unknown environment {name!r}: no {name}.json (known: {', '.join(known)})")
    try:
        return load_config(environments_dir(root) / f"{name}.json", "environment")
    except ConfigError as error:
        raise BadInput(str(error)) from None


def load_environment(name: str, root: Path = REPO) -> Environment:
    settings = read_settings(name, root)
    return Environment(
        name=name,
        aws_region=settings["AWS_REGION"],
        deployment_bucket=settings["DEPLOYMENT_BUCKET"],
        image_registry=settings["IMAGE_REGISTRY"],
        emr_max_clusters=settings["EMR_MAX_CLUSTERS"],
        image_platform=settings["IMAGE_PLATFORM"],
        infra=settings.get("INFRA", {}),
    )


def image_platform(root: Path = REPO) -> str:
    """The one platform the images are built for: every deployed environment runs the same
    image (built once, promoted by digest), so their IMAGE_PLATFORM settings must agree."""
    names = environment_names(root)
    platforms = {name: read_settings(name, root)["IMAGE_PLATFORM"] for name in names}
    if len(set(platforms.values())) != 1:
        found = ", ".join(f"{name}: {platform}" for name, platform in platforms.items())
        raise DeployError(f"IMAGE_PLATFORM differs ({found}): one image serves every environment")
    return next(iter(platforms.values()))


def container_jobs(root: Path = REPO) -> list[ContainerJob]:
    return [
        ContainerJob(
            app=dockerfile.parent.parent.name, job=dockerfile.parent.name, context=dockerfile.parent
        )
        for dockerfile in sorted((root / "jobs").glob("*/*/Dockerfile"))
    ]


def spark_scripts(root: Path = REPO) -> list[Path]:
    """`jobs/<app>/spark/<script>.py`: each one self-contained, as spark-submit runs it."""
    return sorted(
        path for path in (root / "jobs").glob("*/spark/*.py") if path.name != "conftest.py"
    )


def script_key(script: Path) -> str:
    """Where a Spark script lands under its release's prefix: `<app>/<script>.py`."""
    return f"{script.parent.parent.name}/{script.name}"


def check_release(release: str) -> str:
    if not RELEASE.match(release):
        raise DeployError(f"release must be a full 40-character commit SHA, got {release!r}")
    return release


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> (`bucket`, `some/prefix/`); the prefix is empty or ends in /."""
    match = S3_URI.match(uri)
    if not match:
        raise DeployError(f"not an S3 URI: {uri!r} (expected s3://<bucket>[/<prefix>])")
    prefix = match["prefix"].strip("/")
    return match["bucket"], f"{prefix}/" if prefix else ""
