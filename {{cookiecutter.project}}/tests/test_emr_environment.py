"""Every cluster runs with its environment's roles, network and security (the EMR_* settings)."""

import json

import boto3
import pendulum
import pytest
from airflow.sdk import DAG
from moto import mock_aws

from {{ cookiecutter.package }} import emr, settings

from tests.conftest import CLUSTER_CONFIG

NETWORK = {
    "EMR_SUBNET_IDS": ("subnet-0a1b2c",),
    "EMR_SECURITY_GROUPS": {
        "EmrManagedMasterSecurityGroup": "sg-0aa",
        "EmrManagedSlaveSecurityGroup": "sg-0bb",
        "AdditionalMasterSecurityGroups": ["sg-0cc"],
    },
    "EMR_SECURITY_CONFIGURATION": "encrypted-at-rest",
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


# The settings these tests are about, as baked: no network and no security configuration.
BAKED = {"EMR_SUBNET_IDS": (), "EMR_SECURITY_GROUPS": {}, "EMR_SECURITY_CONFIGURATION": None}
DEV = settings.load_settings("dev").replace(**BAKED)


def cluster_request(tmp_path, monkeypatch, config=CLUSTER_CONFIG, **changes) -> dict:
    """The RunJobFlow request a Cluster makes with the settings DEV changed by `changes`."""
    monkeypatch.setattr(emr, "load_settings", lambda: DEV.replace(**changes))
    (tmp_path / "cluster_configs").mkdir()
    (tmp_path / "cluster_configs" / "c.json").write_text(json.dumps(config))
    dag = DAG(dag_id="team.app", schedule=None, start_date=pendulum.datetime(2026, 1, 1))
    dag.fileloc = str(tmp_path / "app_dag.py")
    return emr.Cluster(dag=dag, cluster_name="c").create_task.job_flow_overrides


def test_roles_come_from_the_environment_and_nothing_else_by_default(tmp_path, monkeypatch):
    request = cluster_request(tmp_path, monkeypatch)
    assert request["ServiceRole"] == DEV.EMR_SERVICE_ROLE
    assert request["JobFlowRole"] == DEV.EMR_INSTANCE_PROFILE
    assert "SecurityConfiguration" not in request
    assert "Ec2SubnetId" not in request["Instances"]
    assert request["Instances"]["InstanceGroups"] == CLUSTER_CONFIG["Instances"]["InstanceGroups"]


def test_network_and_security_reach_emr(tmp_path, monkeypatch):
    request = cluster_request(tmp_path, monkeypatch, **NETWORK)
    with mock_aws():
        client = boto3.client("emr", region_name="eu-west-1")
        cluster_id = client.run_job_flow(**request)["JobFlowId"]
        cluster = client.describe_cluster(ClusterId=cluster_id)["Cluster"]
    instances = cluster["Ec2InstanceAttributes"]
    assert instances["Ec2SubnetId"] == "subnet-0a1b2c"
    assert instances["EmrManagedMasterSecurityGroup"] == "sg-0aa"
    assert instances["EmrManagedSlaveSecurityGroup"] == "sg-0bb"
    assert instances["AdditionalMasterSecurityGroups"] == ["sg-0cc"]
    assert instances["IamInstanceProfile"] == DEV.EMR_INSTANCE_PROFILE
    assert cluster["ServiceRole"] == DEV.EMR_SERVICE_ROLE
    assert cluster["SecurityConfiguration"] == "encrypted-at-rest"


def test_instance_fleets_spread_over_every_subnet(tmp_path, monkeypatch):
    subnets = ("subnet-0a", "subnet-0b")
    config = CLUSTER_CONFIG | {"Instances": FLEETS}
    request = cluster_request(tmp_path, monkeypatch, config, EMR_SUBNET_IDS=subnets)
    assert request["Instances"]["Ec2SubnetIds"] == list(subnets)


def test_instance_groups_in_several_subnets_is_explained(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"EMR_SUBNET_IDS of dev lists 2 subnets.*InstanceFleets"):
        cluster_request(tmp_path, monkeypatch, EMR_SUBNET_IDS=("subnet-0a", "subnet-0b"))
