"""The testing kit for pack authors: pytest fixtures (``plugin``) and the contract tests (``contract``)."""
