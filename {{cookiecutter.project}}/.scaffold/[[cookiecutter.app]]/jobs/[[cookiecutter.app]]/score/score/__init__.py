"""Score every customer from their orders: `python -m score --source_path ... --result_path ...`."""
