"""Application Insights: the ingestion endpoint (``track``) that telemetry SDKs and the OpenTelemetry
exporter post to, storing into the workspace of a workspace-based component."""
