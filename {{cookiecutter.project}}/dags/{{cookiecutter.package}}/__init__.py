"""{{ cookiecutter.package }}: the scheduling code of {{ cookiecutter.project }}.

Deployed as `<airflow dags folder>/{{ cookiecutter.package }}/`, so every import is namespaced
by this package and several team repositories can share one Airflow.
"""
