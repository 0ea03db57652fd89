"""One module per workflow: orchestration only. `workflows.registry` lists what the worker runs."""
