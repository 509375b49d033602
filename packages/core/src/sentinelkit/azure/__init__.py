"""Azure access on azure-core pipelines. Imported on first use only (Azure SDKs are slow to import)."""
