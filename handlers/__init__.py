"""Thin functions named by the spec's operationIds: parse, call the domain, shape the response."""
