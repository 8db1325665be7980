"""{{ cookiecutter.package }}: the scheduling code of {{ cookiecutter.project }}.

Deployed as `<airflow dags folder>/{{ cookiecutter.package }}/`, so every import is namespaced
by this package and several team repositories can share one Airflow.
"""

import gc

# The DAG processor parses each file in a process forked from one that has imported Airflow and
# the providers. Frozen, those objects are left out of the parser's garbage collections: a full
# one would sweep them all (~100 ms) and copy their memory pages (README: DAG parse cost).
gc.freeze()
