"""One-command local stack: FalkorDB, Redis, PostgreSQL, Temporal, SeaweedFS S3, Prometheus,
Alertmanager and the backup exporter, no Docker (`python -m ops.stack`, see cli.py).

One module per server (config.py holds paths, ports and secrets; server.py the process base class;
supervisor.py brings them up and down together).
"""
