"""The HTTP layer's shared parts: problems, negotiation, security callbacks, request context."""
