"""Every app's DAG file parses without errors, the way the DAG processor parses it."""


def test_no_import_errors(dagbag):
    errors = "\n\n".join(f"{path}:\n{trace}" for path, trace in dagbag.import_errors.items())
    assert not dagbag.import_errors, f"DAG files failed to import:\n{errors}"


def test_dag_ids_are_namespaced_by_package(dagbag):
    for dag_id in dagbag.dag_ids:
        assert dag_id.startswith("{{ cookiecutter.package }}."), dag_id
