"""The runtime of `make run-local` (runtime.py): each production operator the libraries build
tasks from, and its local twin. environments/local.json names this module as its RUNTIME."""

from __future__ import annotations

from airflow.providers.cncf.kubernetes.operators.job import KubernetesJobOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

from {{ cookiecutter.package }}.emr import (
    AddStep,
    ClusterReadySensor,
    CreateCluster,
    StepSensor,
    TerminateClusters,
)
from {{ cookiecutter.package }}.local.emr import (
    LocalClusterReady,
    LocalCreateCluster,
    LocalSparkStep,
    LocalStepDone,
    LocalTerminateCluster,
)
from {{ cookiecutter.package }}.local.k8s import LocalJob, LocalPod
from {{ cookiecutter.package }}.local.release import LocalPinRelease
from {{ cookiecutter.package }}.release import PinRelease

TWINS = {
    CreateCluster: LocalCreateCluster,
    ClusterReadySensor: LocalClusterReady,
    AddStep: LocalSparkStep,
    StepSensor: LocalStepDone,
    TerminateClusters: LocalTerminateCluster,
    KubernetesPodOperator: LocalPod,
    KubernetesJobOperator: LocalJob,
    PinRelease: LocalPinRelease,
}
