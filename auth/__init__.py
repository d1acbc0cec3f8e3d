"""Authentication: password hashing, tokens and who may do what."""
