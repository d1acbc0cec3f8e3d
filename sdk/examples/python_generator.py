"""Every operation of the Articles API through the client openapi-generator's `python` makes.

    make sdk                                   # generates build/sdk/python-generator/
    pip install build/sdk/python-generator     # the package articles_api_openapi
    make run &                                 # the API on http://127.0.0.1:8080
    python sdk/examples/python_generator.py    # ARTICLES_API_URL, ADMIN_PASSWORD to change

No setting is needed: this client asks for the first JSON type an operation lists, and the
spec lists JSON first (an operation that has only text, such as GET /secrets, answers its
text whatever the Accept). Each step checks what it got and prints a line; the first mismatch
stops the script with an AssertionError.

What openapi-generator 7.26 cannot express here: a message's body in any type but its first
(JSON): text, binary and multipart messages are not sent; and the v2 forms (it types the first
media type of a response; `_headers={"Accept": ...}` gets them as raw data).
"""

from __future__ import annotations

import os
import warnings

from articles_api_openapi import ApiClient, Configuration
from articles_api_openapi.api import (
    ArticlesApi,
    AuthApi,
    IndexApi,
    MessagesApi,
    OperationsApi,
    TutorialApi,
    UsersApi,
)
from articles_api_openapi.exceptions import ApiException
from articles_api_openapi.models import (
    ApiIndex,
    Article,
    ArticleInput,
    ArticlePage,
    ArticlePatch,
    Echo,
    Health,
    Hello,
    IssuedToken,
    Message,
    MessagePage,
    TokenPage,
    TokenRequest,
    UserInput,
    UserPage,
    UserProfile,
)

BASE_URL = os.environ.get("ARTICLES_API_URL", "http://127.0.0.1:8080")
ADMIN_PASSWORD = os.environ.get("ADMIN_PASSWORD", "secret")
SECRET = "Shhh this is top secret spy stuff!"


def step(name: str) -> None:
    print(f"ok {name}", flush=True)


def status_of(call: object) -> int:
    """The status of a call expected to fail (the client raises ApiException on non-2xx)."""
    try:
        call()  # type: ignore[operator]
    except ApiException as error:
        return int(error.status)
    raise AssertionError("the call succeeded")


def tutorial(anonymous: ApiClient) -> None:
    hello = TutorialApi(anonymous).get_hello(name="Luis")
    assert isinstance(hello, Hello) and (hello.hello, hello.number) == ("Luis", 3), hello
    index = IndexApi(anonymous).get_index()
    assert isinstance(index, ApiIndex) and index.links["articles"].href == "/articles", index
    step("hello, index")
    echo = TutorialApi(anonymous)
    for method, answer in [
        ("GET", echo.get_echo()),
        ("DELETE", echo.delete_echo()),
        ("POST", echo.post_echo({"greeting": "hi"})),
        ("PUT", echo.put_echo({"n": 1})),
        ("PATCH", echo.patch_echo({})),
    ]:
        assert isinstance(answer, Echo) and answer.method == method, answer
    step("echo, every method")


def articles(admin: ApiClient) -> None:
    api = ArticlesApi(admin)
    created = api.post_article_with_http_info(ArticleInput(title="Hello", body="First article."))
    assert created.status_code == 201
    article = created.data
    assert isinstance(article, Article) and article.author == "admin", article
    assert created.headers is not None
    etag = created.headers["etag"]
    assert created.headers["location"] == f"/articles/{article.id}"
    read = api.get_article(article.id)
    assert isinstance(read, Article) and read.body == "First article.", read
    page = api.list_articles(limit=10)
    assert isinstance(page, ArticlePage) and article.id in [a.id for a in page.items], page
    step("articles: create (Location, ETag), read, list")
    replaced = api.put_article_with_http_info(
        article.id, ArticleInput(title="Hello again", body="Edited."), if_match=etag
    )
    assert isinstance(replaced.data, Article) and replaced.data.title == "Hello again"
    assert replaced.headers is not None and replaced.headers["etag"] != etag
    stale = ArticleInput(title="Lost", body="Stale.")
    assert status_of(lambda: api.put_article(article.id, stale, if_match=etag)) == 412
    patched = api.patch_article_with_http_info(
        article.id, ArticlePatch(body="Patched."), if_match=replaced.headers["etag"]
    )
    assert isinstance(patched.data, Article) and patched.data.body == "Patched.", patched
    assert patched.headers is not None
    deleted = api.delete_article_with_http_info(article.id, if_match=patched.headers["etag"])
    assert deleted.status_code == 204
    assert status_of(lambda: api.get_article(article.id)) == 404
    step("articles: replace with If-Match, 412 when stale, merge-patch, delete")


def messages(anonymous: ApiClient) -> None:
    api = MessagesApi(anonymous)
    stored = api.post_message({"message": "Hello Data"})
    assert isinstance(stored, Message) and stored.media_type == "application/json", stored
    content = api.get_message(stored.id)
    assert isinstance(content, bytes) and b'"Hello Data"' in content, content
    listing = api.list_messages(limit=100)
    assert isinstance(listing, MessagePage) and stored.id in [m.id for m in listing.items]
    assert api.delete_message_with_http_info(stored.id).status_code == 204
    step("messages: JSON, read back, deleted")


def users(anonymous: ApiClient, admin: ApiClient) -> None:
    assert UsersApi(anonymous).get_user(2) == {"2": "steve"}
    page = UsersApi(anonymous).list_users(limit=3)
    assert isinstance(page, UserPage), page
    assert [user.username for user in page.items] == ["admin", "john", "steve"]
    grace = UsersApi(admin).post_user(UserInput(username="grace", password="correct-hor5e"))
    assert isinstance(grace, UserProfile) and grace.username == "grace", grace
    assert UsersApi(admin).delete_user_with_http_info(grace.id).status_code == 204
    step("users: GET /users/2 is {'2': 'steve'}, list, create and delete")


def tokens_and_secrets(admin: ApiClient) -> None:
    assert AuthApi(admin).get_secret() == SECRET
    issued = AuthApi(admin).post_token(token_request=TokenRequest(expires_in=600))
    assert isinstance(issued, IssuedToken), issued
    with ApiClient(Configuration(host=BASE_URL, access_token=issued.access_token)) as bearer:
        assert AuthApi(bearer).get_secret() == SECRET
        listing = AuthApi(bearer).list_tokens()
        assert isinstance(listing, TokenPage) and issued.id in [t.id for t in listing.items]
        assert AuthApi(bearer).delete_token_with_http_info(issued.id).status_code == 204
        assert status_of(AuthApi(bearer).get_secret) == 401
    step("secrets with Basic and Bearer; tokens issued, listed, revoked")


def probes(anonymous: ApiClient) -> None:
    operations = OperationsApi(anonymous)
    for probe in (operations.get_livez(), operations.get_readyz()):
        assert isinstance(probe, Health) and probe.status == "ok", probe
    # /healthz is /livez under its deprecated name: the client warns, the answer says until when.
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        old = operations.get_healthz_with_http_info()
    assert [str(w.message) for w in warned] == ["GET /healthz is deprecated."]
    assert isinstance(old.data, Health) and old.data.status == "ok"
    # Its headers are a plain dict, with the names as they came (lower case, over ASGI).
    assert old.headers is not None and old.headers["deprecation"] == "@1796169600"
    assert old.headers["sunset"] == "Fri, 31 Dec 2027 00:00:00 GMT"
    assert "http_requests_total" in operations.get_metrics()
    step("health probes (and /healthz deprecated) and metrics")


def main() -> None:
    admin_settings = Configuration(host=BASE_URL, username="admin", password=ADMIN_PASSWORD)
    with ApiClient(Configuration(host=BASE_URL)) as anonymous, ApiClient(admin_settings) as admin:
        tutorial(anonymous)
        articles(admin)
        messages(anonymous)
        users(anonymous, admin)
        tokens_and_secrets(admin)
        probes(anonymous)
    print("done", flush=True)


if __name__ == "__main__":
    main()
