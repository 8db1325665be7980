import json

import pytest

from {{ cookiecutter.package }} import settings
from {{ cookiecutter.package }}.configs import ConfigError, load_config
from {{ cookiecutter.package }}.defaults import (
    DEFAULT_ARGS,
    EMR_POOL,
    TAGS,
    app_dag_id,
    macros,
)

from scripts.deploy.layout import EMR_POOL as DEPLOYED_EMR_POOL


@pytest.mark.parametrize("env", settings.environments())
def test_every_environment_file_is_valid_and_names_its_environment(env):
    """The team's own files, whatever their values: the schema, and ENV as the file is named."""
    assert settings.load_settings(env).ENV == env


def test_environment_variable_selects_the_environment(monkeypatch):
    monkeypatch.setenv(settings.ENVIRONMENT_VARIABLE, "staging")
    settings.load_settings.cache_clear()
    try:
        assert settings.load_settings().ENV == "staging"
    finally:
        settings.load_settings.cache_clear()


def test_unset_environment_is_an_error_not_a_default(monkeypatch):
    monkeypatch.delenv(settings.ENVIRONMENT_VARIABLE)
    settings.load_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match=f"{settings.ENVIRONMENT_VARIABLE} is not set"):
            settings.load_settings()
    finally:
        settings.load_settings.cache_clear()


def test_unknown_environment_is_named(monkeypatch):
    with pytest.raises(ValueError, match=r"'nowhere'.*environments: dev, local, prod, staging"):
        settings.load_settings("nowhere")


def test_bad_environment_file_names_file_and_key(tmp_path):
    bad = json.loads((settings.ENVIRONMENTS_DIR / "dev.json").read_text())
    bad["K8S_ON_FINISH_ACTION"] = "delete_everything"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(ConfigError, match=r"bad\.json.*\$\.K8S_ON_FINISH_ACTION"):
        load_config(path, "environment")


def test_invalid_json_names_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "ENV": "dev",\n}')
    with pytest.raises(ConfigError, match=r"broken\.json: invalid JSON at line 3"):
        load_config(path, "environment")


def dev_with(**changes) -> dict:
    """A valid environment's settings (dev's) with `changes`; a None value removes the key."""
    dev = json.loads((settings.ENVIRONMENTS_DIR / "dev.json").read_text()) | changes
    return {key: value for key, value in dev.items() if value is not None}


# A broken environment file, and what its one-line error says after the file's name.
BAD_FILES = {
    "empty": ("", "empty file, expected a JSON object"),
    "not-an-object": ("[]", "$: [] is not of type 'object'"),
    "unknown-key": (dev_with(TEAM="x"), "$: Additional properties are not allowed ('TEAM'"),
    "missing-key": (dev_with(K8S_NAMESPACE=None), "$: 'K8S_NAMESPACE' is a required property"),
    "bad-bucket": (dev_with(DATA_BUCKET="s3://Bad Bucket"), "$.DATA_BUCKET: 's3://Bad Bucket'"),
    "dot-segment": (dev_with(DATA_BUCKET="s3://data/../x"), "$.DATA_BUCKET: 's3://data/../x'"),
    "kube-system": (dev_with(K8S_NAMESPACE="kube-system"), "$.K8S_NAMESPACE: 'kube-system'"),
    "default": (dev_with(K8S_NAMESPACE="default"), "$.K8S_NAMESPACE: 'default' should not"),
    "iso-region": (dev_with(AWS_REGION="us-iso-east-1"), "$.AWS_REGION: 'us-iso-east-1'"),
}


@pytest.mark.parametrize(("content", "message"), BAD_FILES.values(), ids=BAD_FILES)
def test_a_bad_environment_file_is_one_line_naming_file_and_key(tmp_path, content, message):
    path = tmp_path / "dev.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    with pytest.raises(ConfigError) as raised:
        load_config(path, "environment")
    assert str(raised.value).startswith(f"{path}: ") and message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_environment_is_a_file_name_not_a_path():
    with pytest.raises(ValueError, match=r"'\.\./environments/dev' names no file of"):
        settings.load_settings("../environments/dev")


def test_team_defaults():
    assert DEFAULT_ARGS["owner"] == settings.TEAM
    assert DEFAULT_ARGS["retries"] >= 1
    assert settings.TEAM in TAGS
    dag_file = f"/x/dags/{settings.PACKAGE}/apps/my_app/my_app_dag.py"
    assert app_dag_id(dag_file) == f"{settings.PACKAGE}.my_app"
    assert macros()["config"].ENV == "dev"


def test_the_deploy_creates_the_pool_the_clusters_take():
    assert DEPLOYED_EMR_POOL == EMR_POOL
