"""Pages need a login; Django's login page at /accounts/login/ gives one."""

import pytest

from tests.web.conftest import ALICE_PASSWORD


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


@pytest.mark.django_db
def test_the_login_page_has_username_and_password_fields(client):
    response = client.get("/accounts/login/?next=/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html


def test_alice_logs_in_and_sees_the_overview(client, alice):
    from django.contrib.auth.models import Group

    alice.groups.add(Group.objects.get(name="viewer"))  # the overview needs the view permission
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": ALICE_PASSWORD, "next": "/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    page = client.get("/")
    assert page.status_code == 200
    assert "alice" in page.content.decode()


def test_a_wrong_password_is_refused(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode() or "didn't match" in (
        response.content.decode()
    )


@pytest.mark.django_db
def test_static_files_are_served_by_the_app(client):
    response = client.get("/static/css/fluxweb.css")
    assert response.status_code == 200
