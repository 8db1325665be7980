"""Job and cluster configs: every kind of mistake stops the DAG with the file, key and problem."""

import json
import tempfile
import textwrap

import pytest
from airflow.dag_processing.dagbag import DagBag

from {{ cookiecutter.package }} import configs
from {{ cookiecutter.package }}.configs import ConfigError, load_config
from {{ cookiecutter.package }}.settings import PACKAGE
{% raw %}
JOB = {
    "$schema": "../../../schemas/job_config.schema.json",
    "SparkArgs": {"--deploy-mode": "cluster", "--conf": ["spark.a=1", "spark.b=2"]},
    "ScriptPath": "{{ config.DEPLOYMENT_BUCKET }}/my_app/my_job.py",
    "JobParams": {"--date": "{{ ds }}", "verbose": True, "--limit": 10},
}
PRIMARY = {"InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}
CLUSTER = {
    "ReleaseLabel": "emr-7.12.0",
    "Applications": [{"Name": "Spark"}],
    "Instances": {
        "InstanceGroups": [PRIMARY, PRIMARY | {"InstanceRole": "CORE", "InstanceCount": 2}],
        "Ec2KeyName": "ops",
    },
    "BootstrapActions": [
        {"Name": "deps", "ScriptBootstrapAction": {"Path": "s3://b/install.sh", "Args": ["-q"]}}
    ],
    "Configurations": [
        {
            "Classification": "spark-env",
            "Configurations": [{"Classification": "export", "Properties": {"A": "1"}}],
        }
    ],
    "Tags": [{"Key": "cost-center", "Value": "42"}],
    "LogUri": "{{ config.DATA_BUCKET }}/emr-logs/",
    "AutoTerminationPolicy": {"IdleTimeout": 3600},
}
FLEETS = {
    "InstanceFleets": [
        {
            "InstanceFleetType": "MASTER",
            "TargetOnDemandCapacity": 1,
            "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge"}],
        }
    ]
}


def without(config: dict, key: str) -> dict:
    return {k: v for k, v in config.items() if k != key}


def with_instances(**changes) -> dict:
    return CLUSTER | {"Instances": CLUSTER["Instances"] | changes}


def write(tmp_path, config, name="config.json"):
    path = tmp_path / name
    path.write_text(json.dumps(config) if isinstance(config, dict) else config)
    return path


def test_valid_configs_load_without_their_schema_reference(tmp_path):
    assert load_config(write(tmp_path, JOB), "job_config") == without(JOB, "$schema")
    assert load_config(write(tmp_path, CLUSTER), "cluster_config") == CLUSTER
    fleets = CLUSTER | {"Instances": FLEETS}
    assert load_config(write(tmp_path, fleets), "cluster_config")["Instances"] == FLEETS


def test_json_booleans_load(tmp_path):
    # The provider's own .json template loading (ast.literal_eval) fails on true and false.
    text = json.dumps(with_instances(UnhealthyNodeReplacement=True) | {"VisibleToAllUsers": False})
    assert "true" in text and "false" in text
    assert load_config(write(tmp_path, text), "cluster_config")["VisibleToAllUsers"] is False


# (schema, config, JSON path, problem) for each kind of mistake.
BAD_CONFIGS = {
    "job-missing-script": (
        "job_config",
        without(JOB, "ScriptPath"),
        "$",
        "'ScriptPath' is a required",
    ),
    "job-script-not-string": (
        "job_config",
        JOB | {"ScriptPath": 3},
        "$.ScriptPath",
        "not of type 'string'",
    ),
    "job-spark-args-list": (
        "job_config",
        JOB | {"SparkArgs": ["--deploy-mode", "cluster"]},
        "$.SparkArgs",
        "is not of type 'object'",
    ),
    "job-param-object": (
        "job_config",
        JOB | {"JobParams": {"--date": {"day": 1}}},
        "$.JobParams['--date']",
        "is not valid under any of the given schemas",
    ),
    "job-spark-arg-without-dashes": (
        "job_config",
        JOB | {"SparkArgs": {"deploy-mode": "cluster"}},
        "$.SparkArgs",
        "'deploy-mode' does not match '^--",
    ),
    "job-unknown-key": ("job_config", JOB | {"Script": "x.py"}, "$", "('Script' was unexpected)"),
    "cluster-steps": ("cluster_config", CLUSTER | {"Steps": []}, "$", "('Steps' was unexpected)"),
    "cluster-release-label": (
        "cluster_config",
        CLUSTER | {"ReleaseLabel": "7.12"},
        "$.ReleaseLabel",
        "'7.12' does not match",
    ),
    "cluster-without-spark": (
        "cluster_config",
        CLUSTER | {"Applications": [{"Name": "Hive"}]},
        "$.Applications",
        "does not contain items matching",
    ),
    "cluster-count-string": (
        "cluster_config",
        with_instances(InstanceGroups=[PRIMARY | {"InstanceCount": "1"}]),
        "$.Instances.InstanceGroups[0].InstanceCount",
        "'1' is not of type 'integer'",
    ),
    "cluster-termination-protected": (
        "cluster_config",
        with_instances(TerminationProtected=True),
        "$.Instances.TerminationProtected",
        "False was expected",
    ),
    "cluster-groups-and-fleets": (
        "cluster_config",
        with_instances(**FLEETS),
        "$.Instances",
        "is not valid under any of the given schemas",
    ),
    "cluster-property-not-string": (
        "cluster_config",
        CLUSTER | {"Configurations": [{"Classification": "spark", "Properties": {"x": 1}}]},
        "$.Configurations[0].Properties.x",
        "1 is not of type 'string'",
    ),
    # Roles, network and security come from the environment settings (EMR_*), never a config.
    "cluster-legacy-role": (
        "cluster_config",
        CLUSTER | {"ServiceRole": "EMR_DefaultRole"},
        "$",
        "('ServiceRole' was unexpected)",
    ),
    "cluster-own-subnet": (
        "cluster_config",
        with_instances(Ec2SubnetId="subnet-0123"),
        "$.Instances",
        "('Ec2SubnetId' was unexpected)",
    ),
}


@pytest.mark.parametrize(
    ("schema", "config", "where", "problem"), BAD_CONFIGS.values(), ids=BAD_CONFIGS.keys()
)
def test_bad_config_names_file_path_and_problem(tmp_path, schema, config, where, problem):
    path = write(tmp_path, config, f"bad_{schema}.json")
    with pytest.raises(ConfigError) as raised:
        load_config(path, schema)
    message = str(raised.value)
    assert message.startswith(f"{path}: does not match the {schema} schema")
    assert f"{where}: " in message and problem in message, message


@pytest.mark.parametrize("schema", ["job_config", "cluster_config"])
def test_invalid_json_names_line_and_column(tmp_path, schema):
    path = write(tmp_path, '{\n  "ScriptPath": "x.py",\n}', f"broken_{schema}.json")
    with pytest.raises(ConfigError, match=r"broken_\w+\.json: invalid JSON at line 3 column 1"):
        load_config(path, schema)


def test_a_bad_config_is_an_import_error_of_the_dag_file(tmp_path):
    app = tmp_path / "my_app"
    (app / "cluster_configs").mkdir(parents=True)
    (app / "job_configs").mkdir()
    write(app / "cluster_configs", CLUSTER, "my_cluster.json")
    write(app / "job_configs", JOB | {"SparkArgs": "--deploy-mode cluster"}, "my_job.json")
    (app / "my_app_dag.py").write_text(
        textwrap.dedent(
            """
            from airflow.sdk import DAG
            from {package}.emr import Cluster

            with DAG(dag_id="my_app", schedule=None) as dag:
                cluster = Cluster(dag=dag, cluster_name="my_cluster")
                cluster.add_step(job_config_file="my_job.json")
                cluster.build_sequential_flow()
            """
        ).format(package=PACKAGE)
    )
    errors = DagBag(dag_folder=str(app), safe_mode=False).import_errors
    [error] = errors.values()
    assert "job_configs/my_job.json: does not match the job_config schema" in error
    assert "$.SparkArgs: '--deploy-mode cluster' is not of type 'object'" in error


def test_a_config_is_validated_once_per_version(tmp_path, monkeypatch):
    """Each DAG processor parse is a fresh process: validating unchanged content again is waste,
    but any change to the content is validated, and an invalid config is never remembered."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # a private folder of its own
    path = write(tmp_path, JOB, "my_job.json")
    assert load_config(path, "job_config") == without(JOB, "$schema")

    def validator_not_needed(schema_name):
        raise AssertionError(f"{schema_name}: validated again")

    with monkeypatch.context() as patched:
        patched.setattr(configs, "validator", validator_not_needed)
        assert load_config(path, "job_config") == without(JOB, "$schema")
    bad = write(tmp_path, without(JOB, "ScriptPath"), "my_job.json")
    for _ in range(2):
        with pytest.raises(ConfigError, match="'ScriptPath' is a required property"):
            load_config(bad, "job_config")
{% endraw %}