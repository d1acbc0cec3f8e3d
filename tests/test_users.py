"""/users/{userId}."""

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize(
    ("user_id", "name"), [(1, "john"), (2, "steve"), (3, "bill"), (4, "admin")]
)
def test_user_is_the_tutorials_shape(client: TestClient, user_id: int, name: str) -> None:
    response = client.get(f"/users/{user_id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {str(user_id): name}


def test_user_2_is_exactly_steve(client: TestClient) -> None:
    assert client.get("/users/2").text == '{"2": "steve"}'


def test_unknown_user_is_the_tutorials_404(client: TestClient) -> None:
    response = client.get("/users/99?x=1")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Not Found"
    assert problem["message"] == "Not Found: http://testserver/users/99?x=1"
