"""Tools about the contract itself (openapi/api.yaml), not part of the service."""
