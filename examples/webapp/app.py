"""A small Flask application that embeds teamcrm.

It shows the three things most applications need first:

* ``POST /leads`` — a public web form creates a lead: the contact is created
  *in the pool's source bucket* in one unit of work, so it is routed (and the
  assignee notified) in the same transaction, or not at all;
* ``GET /follow-ups`` — the signed-in member's follow-up list;
* ``GET /dashboard`` — the routing dashboard (admins and managers).

How it uses teamcrm:

* **One** :class:`teamcrm.CRM` **per process**, opened when the app is made
  and shared by every request thread (stores are thread-safe; the SQLite
  store keeps a connection per thread, the PostgreSQL store a pool).
* **One call, one unit of work.** Every teamcrm method is its own
  transaction, so a handler never holds a transaction open across requests;
  a write that must be atomic is one call (``create_contacts(...,
  bucket_id=...)`` creates and routes together).
* **Errors map to HTTP statuses** in one handler: ``ValidationError`` 400,
  ``PermissionDenied`` 403, ``NotFound`` 404, ``ConcurrencyError`` 409
  (after :func:`teamcrm.retry_on_conflict` gave up), ``StoreError`` 503.
* **Who is asking** comes from your login system.  This example takes the
  member id from an ``X-Member`` header (or ``?as=`` in a browser) as a
  stand-in; never trust that in production.

Run it (a demo team is made on first start)::

    pip install teamcrm flask
    python examples/webapp/app.py sqlite:///webapp.db   # then open http://127.0.0.1:5000/

``tests/interface/test_example_webapp.py`` drives it through Flask's test client.
"""

from __future__ import annotations

import html
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from flask import Flask, Response, g, jsonify, request

import teamcrm

__all__ = ["DemoTeam", "create_app", "demo_team"]

#: HTTP status for each kind of teamcrm error (the most specific class wins).
STATUS: dict[type[teamcrm.TeamCRMError], int] = {
    teamcrm.ValidationError: 400,
    teamcrm.PermissionDenied: 403,
    teamcrm.NotFound: 404,
    teamcrm.AlreadyExists: 409,
    teamcrm.ConcurrencyError: 409,
    teamcrm.StoreError: 503,
}

FORM = """<!doctype html>
<title>Contact us</title>
<h1>Tell us about your move</h1>
<form method="post" action="/leads">
  <label>First name <input name="first_name" required></label>
  <label>Last name <input name="last_name"></label>
  <label>Email <input name="email" type="email"></label>
  <label>Phone <input name="phone"></label>
  <button>Send</button>
</form>
"""


class DemoTeam:
    """The ids an app needs: the form's intake member and the pool's source bucket."""

    def __init__(self, intake_member_id: str, source_bucket_id: str) -> None:
        self.intake_member_id = intake_member_id
        self.source_bucket_id = source_bucket_id


def demo_team(crm: teamcrm.CRM) -> DemoTeam:
    """Make a small team with a round-robin pool fed by a 'Web leads' bucket."""
    _, admin = crm.create_team("Parkside Realty", admin_name="Alice")
    alice = crm.as_member(admin.id)
    agents = [alice.add_member(name, role="agent").id for name in ("Bradley", "Susan")]
    web = alice.create_bucket("Web leads")
    alice.create_pool(
        "Website", source_bucket_ids=[web.id], member_ids=agents, method="round_robin"
    )
    return DemoTeam(admin.id, web.id)


def status_of(error: teamcrm.TeamCRMError) -> int:
    """The HTTP status for *error*: that of its nearest class in :data:`STATUS`."""
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(v or ''))}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _wants_json() -> bool:
    return request.args.get("format") == "json" or request.accept_mimetypes.best == (
        "application/json"
    )


def create_app(crm: teamcrm.CRM, team: DemoTeam) -> Flask:
    """Return the Flask app serving *team* from *crm* (one CRM per process)."""
    app = Flask(__name__)

    def member() -> teamcrm.MemberSession:
        """The signed-in member's session (stand-in for the application's login)."""
        member_id = request.headers.get("X-Member") or request.args.get("as")
        if not member_id:
            raise teamcrm.PermissionDenied(None, "use this page", "sign in first")
        return crm.as_member(member_id)

    @app.errorhandler(teamcrm.TeamCRMError)
    def refused(error: teamcrm.TeamCRMError) -> tuple[Response, int]:
        body: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
        if isinstance(error, teamcrm.ValidationError):
            body["field"] = error.field
        return jsonify(body), status_of(error)

    @app.get("/")
    def form() -> str:
        return FORM

    @app.post("/leads")
    def new_lead() -> tuple[Any, int]:
        draft: dict[str, Any] = {
            "first_name": request.form.get("first_name", "").strip(),
            "last_name": request.form.get("last_name", "").strip(),
            "source": "website",
        }
        if request.form.get("email"):
            draft["emails"] = [request.form["email"].strip()]
        if request.form.get("phone"):
            draft["phones"] = [request.form["phone"].strip()]
        intake = crm.as_member(team.intake_member_id)
        # One unit: the contact is created in the source bucket and routed, or nothing is.
        (contact,) = teamcrm.retry_on_conflict(
            lambda: intake.create_contacts([draft], bucket_id=team.source_bucket_id)
        )
        if _wants_json():
            return jsonify({"contact_id": contact.id}), 201
        return f"<p>Thank you, {html.escape(contact.display_name)}: we will be in touch.</p>", 201

    @app.get("/follow-ups")
    def follow_ups() -> Any:
        rows = member().follow_ups(limit=int(request.args.get("limit", 50)))
        if _wants_json():
            return jsonify(teamcrm.unstructure(rows))
        return _table(
            ["contact", "due", "days overdue"],
            ([r.contact.display_name, r.due_on, r.days_overdue] for r in rows),
        )

    @app.get("/dashboard")
    def dashboard() -> Any:
        g.session = member()
        rows = g.session.routing_dashboard()
        if _wants_json():
            return jsonify(teamcrm.unstructure(rows))
        return _table(
            ["lead", "contact", "pool", "status", "assignee", "assigned"],
            (
                [
                    r.lead_id,
                    r.contact_name,
                    r.pool_name,
                    r.status.value,
                    r.assignee_name,
                    r.assigned_at,
                ]
                for r in rows
            ),
        )

    return app


def main(argv: Sequence[str] = ()) -> None:  # pragma: no cover - runs a server
    """Serve the app on http://127.0.0.1:5000/ (a demo team on first start)."""
    url = argv[0] if argv else "memory://"
    crm = teamcrm.open(url)
    team = demo_team(crm)
    print(f"admin (dashboard): http://127.0.0.1:5000/dashboard?as={team.intake_member_id}")
    create_app(crm, team).run()


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
