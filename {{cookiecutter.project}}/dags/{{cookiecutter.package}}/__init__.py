"""{{ cookiecutter.package }}: the scheduling code of {{ cookiecutter.project }}.

Deployed as `<airflow dags folder>/{{ cookiecutter.package }}/`, so every import is namespaced
by this package and several team repositories can share one Airflow.
Its modules are compiled once per version, not at every parse (parse_cache.py).
"""

from {{ cookiecutter.package }}.parse_cache import load_modules_cached

load_modules_cached(__path__)
