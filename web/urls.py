"""Where each resource is: the one place its URL is written, for `Location`, `Link` and links in
bodies alike. Every URL here matches a path of openapi/api.yaml (tests/contract/test_urls.py),
except the two documents connexion serves beside the spec's paths."""

INDEX = "/"
ARTICLES = "/articles"
HELLO = "/hello"
ECHO = "/echo"
MESSAGES = "/messages"
USERS = "/users"
SECRETS = "/secrets"
TOKENS = "/tokens"
LIVEZ = "/livez"
READYZ = "/readyz"

# Served by connexion (web.patches.spec_as_written), not paths of the spec.
SPEC_DOCUMENT = "/openapi.json"
DOCS = "/ui/"


def article(article_id: int) -> str:
    """/articles/{articleId}."""
    return f"{ARTICLES}/{article_id}"


def message(message_id: int) -> str:
    """/messages/{messageId}."""
    return f"{MESSAGES}/{message_id}"


def user(user_id: int) -> str:
    """/users/{userId}."""
    return f"{USERS}/{user_id}"


def token(token_id: int) -> str:
    """/tokens/{tokenId}."""
    return f"{TOKENS}/{token_id}"
