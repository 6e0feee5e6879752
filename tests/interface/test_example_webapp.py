"""examples/webapp: a Flask app embedding teamcrm, driven through Flask's test client."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import teamcrm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES / "webapp"))
import app as webapp  # noqa: E402

sys.path.remove(str(EXAMPLES / "webapp"))


@pytest.fixture(params=["memory://", "sqlite"])
def world(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Any, webapp.DemoTeam]]:
    url = request.param if request.param == "memory://" else f"sqlite:///{tmp_path / 'web.db'}"
    with teamcrm.open(url) as crm:
        team = webapp.demo_team(crm)
        app = webapp.create_app(crm, team)
        app.config["TESTING"] = True
        yield app.test_client(), team


def _post(client: Any, **form: str) -> Any:
    return client.post("/leads", data=form, headers={"Accept": "application/json"})


def test_the_form_page_is_served(world: tuple[Any, webapp.DemoTeam]) -> None:
    client, _ = world
    page = client.get("/")
    assert page.status_code == 200
    assert b'<form method="post" action="/leads">' in page.data


def test_a_form_post_creates_a_lead_routed_in_the_same_unit(
    world: tuple[Any, webapp.DemoTeam],
) -> None:
    client, team = world
    first = _post(client, first_name="Maria", email="maria@example.com")
    second = _post(client, first_name="Omar", phone="+1 617 555 0101")
    assert first.status_code == second.status_code == 201
    rows = client.get("/dashboard?format=json", headers={"X-Member": team.intake_member_id})
    assert rows.status_code == 200
    by_contact = {r["contact_name"]: r for r in rows.get_json()}
    assert set(by_contact) == {"Maria", "Omar"}
    assert {r["status"] for r in by_contact.values()} == {"assigned"}
    # Round robin: one each.
    assert Counter(r["assignee_name"] for r in by_contact.values()) == {"Bradley": 1, "Susan": 1}


def test_html_answers_escape_what_users_typed(world: tuple[Any, webapp.DemoTeam]) -> None:
    client, team = world
    thanks = client.post("/leads", data={"first_name": "<b>Eve</b>"})
    assert thanks.status_code == 201
    assert b"&lt;b&gt;Eve&lt;/b&gt;" in thanks.data
    table = client.get("/dashboard", headers={"X-Member": team.intake_member_id})
    assert b"&lt;b&gt;Eve&lt;/b&gt;" in table.data
    assert b"<b>Eve</b>" not in table.data


def test_errors_become_statuses_with_the_field_named(world: tuple[Any, webapp.DemoTeam]) -> None:
    client, team = world
    bad = _post(client, first_name="Bo", email="not-an-address")
    assert bad.status_code == 400
    assert bad.get_json()["error"] == "ValidationError"
    assert bad.get_json()["field"] == "EmailAddress.address"
    assert client.get("/dashboard?format=json").status_code == 403  # nobody signed in
    unknown = client.get("/follow-ups?as=mb_" + "0" * 26)
    assert unknown.status_code == 404
    assert client.get("/follow-ups?as=nonsense").status_code == 400
    # Nothing was half-written by the refused post.
    rows = client.get("/dashboard?format=json", headers={"X-Member": team.intake_member_id})
    assert rows.get_json() == []


def test_a_member_reads_their_own_follow_ups(world: tuple[Any, webapp.DemoTeam]) -> None:
    client, team = world
    _post(client, first_name="Maria", email="maria@example.com")
    got = client.get("/follow-ups?format=json", headers={"X-Member": team.intake_member_id})
    assert got.status_code == 200
    assert isinstance(got.get_json(), list)
    assert client.get("/follow-ups", headers={"X-Member": team.intake_member_id}).status_code == 200


def test_request_threads_share_one_crm(world: tuple[Any, webapp.DemoTeam]) -> None:
    client, team = world
    errors: list[BaseException] = []

    def post(i: int) -> None:
        try:
            response = _post(client, first_name=f"Lead{i}", email=f"lead{i}@example.com")
            assert response.status_code == 201, response.data
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = client.get("/dashboard?format=json", headers={"X-Member": team.intake_member_id})
    owners = Counter(r["assignee_name"] for r in rows.get_json())
    assert owners == {"Bradley": 4, "Susan": 4}
