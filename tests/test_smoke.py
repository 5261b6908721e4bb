"""Smoke: the home page renders for visitors."""


def test_home_page_invites_visitors_to_join(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Join the club" in response.data
