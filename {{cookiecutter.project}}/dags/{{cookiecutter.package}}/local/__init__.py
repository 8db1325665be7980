"""The local runtime of `make run-local`: the same DAGs, tasks and commands, run on this machine.

environments/local.json plugs it in as its RUNTIME (runtime.py): the libraries build each task
from the local twin of its operator (twins.py), the production operator with only `execute`
replaced. Task ids, dependencies, setups and teardowns, rendered configs and arguments stay
those of production, and the DAG validation suite holds as it does there.

| production                          | local                                                |
|-------------------------------------|------------------------------------------------------|
| create / wait for / terminate EMR   | no-ops, same tasks (emr.py)                          |
| EMR step: spark-submit on a cluster | the same spark-submit on local Spark (emr.py)        |
| container job: a pod on Kubernetes  | the image's entrypoint as a local process (k8s.py)   |
| `s3://<bucket>/<key>`               | `.local-data/<bucket>/<key>` (paths.py)              |

Scheduling code still never imports business code: jobs run as child processes, each in its
own locked uv environment under jobs/.
"""
