"""web/urls.py, the one map of resource URLs, against the spec's paths: a path renamed in the spec
and not in the map (or the other way round) fails here."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

import pytest
from starlette.testclient import TestClient

from app import load_spec
from web import urls

DOCUMENTS = {urls.SPEC_DOCUMENT, urls.DOCS}  # connexion's, beside the spec's paths


def spec_path_patterns() -> dict[str, re.Pattern[str]]:
    """Each path template of the spec as a regex: a `{parameter}` is one segment."""
    return {
        template: re.compile("^" + re.sub(r"\\\{[^}/]+\\\}", "[^/]+", re.escape(template)) + "$")
        for template in load_spec()["paths"]
    }


def map_functions() -> dict[str, Callable[[int], str]]:
    return {
        name: function
        for name, function in inspect.getmembers(urls, inspect.isfunction)
        if function.__module__ == urls.__name__
    }


def urls_the_map_makes() -> list[str]:
    """Every URL in the map: its constants, and each function's URL for an id."""
    constants = [value for name, value in vars(urls).items() if name.isupper()]
    assert all(isinstance(value, str) for value in constants)
    return [*constants, *(function(7) for function in map_functions().values())]


@pytest.mark.parametrize("url", sorted(set(urls_the_map_makes()) - DOCUMENTS))
def test_every_url_of_the_map_matches_a_path_of_the_spec(url: str) -> None:
    matching = [t for t, pattern in spec_path_patterns().items() if pattern.match(url)]
    assert matching, f"{url} matches no path of openapi/api.yaml"


def test_a_url_outside_the_spec_matches_no_path() -> None:
    patterns = spec_path_patterns().values()
    for url in ("/article/7", "/articles/7/comments", "/ui/", "/openapi.json"):
        assert not any(pattern.match(url) for pattern in patterns), url


@pytest.mark.parametrize("url", sorted(DOCUMENTS))
def test_the_documents_beside_the_spec_are_served(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 200
