"""The team's namespace on Kubernetes, rendered from one environment's settings.

`make k8s-manifests ENVIRONMENT=<env> | kubectl apply -f -` creates or updates: the namespace
(Pod Security "restricted"), the service account the job pods run as (with their IAM role),
a ResourceQuota and a LimitRange, the Role that lets Airflow run pods and Jobs there and nothing
else, and a NetworkPolicy that denies all traffic but DNS and HTTPS out.
"""

from __future__ import annotations

import argparse
import sys

import yaml
from kubernetes.client import ApiClient
from kubernetes.client import models as k8s

from {{ cookiecutter.package }}.configs import ConfigError
from {{ cookiecutter.package }}.settings import TEAM, Settings, environments, load_settings

# What Airflow's KubernetesPodOperator and KubernetesJobOperator call, and nothing more:
# start, follow, label (marks a finished pod as handled) and remove pods and Jobs, stream
# logs, and read events to explain a pod that does not start.
AIRFLOW_RULES = (
    ("", "pods", ("create", "get", "list", "watch", "patch", "delete")),
    ("", "pods/log", ("get",)),
    ("", "events", ("list",)),
    ("batch", "jobs", ("create", "get", "list", "watch", "patch", "delete")),
    ("batch", "jobs/status", ("get",)),
)
RBAC = "rbac.authorization.k8s.io"
# The instance metadata service: pods get AWS credentials from their role (IRSA), not the node's.
INSTANCE_METADATA = "169.254.169.254/32"
# A NetworkPolicy is accepted by every cluster and enforced only by a network plugin that
# implements it: without one, the namespace's traffic is not restricted at all.
NETWORK_POLICY_NOTE = (
    "note: the NetworkPolicy restricts traffic only where the cluster enforces NetworkPolicy: on "
    "EKS, turn on the VPC CNI's network policy support (the vpc-cni add-on's configuration "
    '{"enableNetworkPolicy": "true"}) or run Calico or Cilium; elsewhere, a plugin that enforces it'
)


def manifests(settings: Settings) -> list[object]:
    """Every object of the namespace, in the order `kubectl apply` needs them."""
    return [
        namespace(settings),
        service_account(settings),
        resource_quota(settings),
        limit_range(settings),
        *airflow_role(settings),
        network_policy(settings),
    ]


def metadata(settings: Settings, name: str) -> k8s.V1ObjectMeta:
    return k8s.V1ObjectMeta(name=name, namespace=settings.K8S_NAMESPACE, labels={"team": TEAM})


def namespace(settings: Settings) -> k8s.V1Namespace:
    labels = {"team": TEAM, "pod-security.kubernetes.io/enforce": "restricted"}
    return k8s.V1Namespace(
        api_version="v1",
        kind="Namespace",
        metadata=k8s.V1ObjectMeta(name=settings.K8S_NAMESPACE, labels=labels),
    )


def service_account(settings: Settings) -> k8s.V1ServiceAccount:
    """The jobs' identity. Their AWS role comes from IRSA; they never call the Kubernetes API."""
    meta = metadata(settings, settings.K8S_SERVICE_ACCOUNT)
    if settings.K8S_SERVICE_ACCOUNT_ROLE_ARN:
        meta.annotations = {"eks.amazonaws.com/role-arn": settings.K8S_SERVICE_ACCOUNT_ROLE_ARN}
    return k8s.V1ServiceAccount(
        api_version="v1",
        kind="ServiceAccount",
        metadata=meta,
        automount_service_account_token=False,
    )


def resource_quota(settings: Settings) -> k8s.V1ResourceQuota:
    return k8s.V1ResourceQuota(
        api_version="v1",
        kind="ResourceQuota",
        metadata=metadata(settings, "jobs"),
        spec=k8s.V1ResourceQuotaSpec(hard=settings.K8S_QUOTA),
    )


def limit_range(settings: Settings) -> k8s.V1LimitRange:
    limits = settings.K8S_CONTAINER_LIMITS
    container = k8s.V1LimitRangeItem(
        type="Container",
        max=limits["max"],
        default=limits["default"],
        default_request=limits["default"],
    )
    return k8s.V1LimitRange(
        api_version="v1",
        kind="LimitRange",
        metadata=metadata(settings, "jobs"),
        spec=k8s.V1LimitRangeSpec(limits=[container]),
    )


def airflow_role(settings: Settings) -> tuple[k8s.V1Role, k8s.V1RoleBinding]:
    """Airflow's identities (K8S_AIRFLOW_SUBJECTS: the workers start and follow pods and Jobs, the
    triggerer follows them for deferred waits) may run pods and Jobs in this namespace only."""
    rules = [
        k8s.V1PolicyRule(api_groups=[group], resources=[resource], verbs=list(verbs))
        for group, resource, verbs in AIRFLOW_RULES
    ]
    role = k8s.V1Role(
        api_version=f"{RBAC}/v1",
        kind="Role",
        metadata=metadata(settings, "airflow-runs-jobs"),
        rules=rules,
    )
    binding = k8s.V1RoleBinding(
        api_version=f"{RBAC}/v1",
        kind="RoleBinding",
        metadata=metadata(settings, "airflow-runs-jobs"),
        role_ref=k8s.V1RoleRef(api_group=RBAC, kind="Role", name=role.metadata.name),
        subjects=[
            k8s.RbacV1Subject(
                kind=subject["kind"],
                name=subject["name"],
                namespace=subject.get("namespace"),
                api_group=None if subject["kind"] == "ServiceAccount" else RBAC,
            )
            for subject in settings.K8S_AIRFLOW_SUBJECTS
        ],
    )
    return role, binding


def network_policy(settings: Settings) -> k8s.V1NetworkPolicy:
    """Nothing gets in; out, only DNS (the cluster's resolver) and HTTPS (S3, STS, other AWS
    APIs), never the node's instance metadata."""
    dns = k8s.V1NetworkPolicyEgressRule(
        to=[
            k8s.V1NetworkPolicyPeer(
                namespace_selector=k8s.V1LabelSelector(
                    match_labels={"kubernetes.io/metadata.name": "kube-system"}
                )
            )
        ],
        ports=[k8s.V1NetworkPolicyPort(protocol=protocol, port=53) for protocol in ("UDP", "TCP")],
    )
    https = k8s.V1NetworkPolicyEgressRule(
        to=[
            k8s.V1NetworkPolicyPeer(
                ip_block=k8s.V1IPBlock(cidr="0.0.0.0/0", _except=[INSTANCE_METADATA])
            )
        ],
        ports=[k8s.V1NetworkPolicyPort(protocol="TCP", port=443)],
    )
    return k8s.V1NetworkPolicy(
        api_version="networking.k8s.io/v1",
        kind="NetworkPolicy",
        metadata=metadata(settings, "jobs-deny-all-but-dns-and-https-out"),
        spec=k8s.V1NetworkPolicySpec(
            pod_selector=k8s.V1LabelSelector(),
            policy_types=["Ingress", "Egress"],
            egress=[dns, https],
        ),
    )


def as_data(objects: list[object]) -> list[dict]:
    """The objects as the API server reads them (camelCase keys, no empty fields)."""
    client = ApiClient()
    return [client.sanitize_for_serialization(obj) for obj in objects]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make k8s-manifests", description=__doc__)
    parser.add_argument("environment", help="dev, staging or prod (environments/<name>.json)")
    args = parser.parse_args(argv)
    if args.environment not in environments():
        known = ", ".join(environments())
        print(f"error: unknown environment {args.environment!r} (known: {known})", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.environment)
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(yaml.safe_dump_all(as_data(manifests(settings)), sort_keys=False))
    print(NETWORK_POLICY_NOTE, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
