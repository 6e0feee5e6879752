"""SMTPSender against a real SMTP server on 127.0.0.1 (aiosmtpd), and its error translation."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("aiosmtpd")

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer  # noqa: N811
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

import teamcrm
from teamcrm import DeliveryError, OutgoingEmail, SettableClock, SMTPSender, ValidationError
from teamcrm.notification import Notification, NotificationKind, new_notification_id
from teamcrm.sender import build_mime

# the login tests run AUTH over plain text on 127.0.0.1 on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Recorder:
    """An aiosmtpd handler that keeps every message and can refuse recipients."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("later@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append((str(envelope.mail_from), list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"

    def parsed(self, index: int = -1) -> EmailMessage:
        msg = email.message_from_bytes(self.messages[index][2], policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        return msg


def _authenticator(
    server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"crm"
        and auth_data.password == b"s3cret"
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server replies 535


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def auth_server() -> Iterator[tuple[Recorder, int]]:
    handler = Recorder()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=_authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def message(to: str = "bo@example.com", **kw: Any) -> OutgoingEmail:
    args: dict[str, Any] = {
        "to": to,
        "subject": "[Acme] 1 new notification: 1 lead assigned",
        "text": "Hello Bo,\nNew lead: <Maria> & Co\n",
        "html": "<p>New lead: &lt;Maria&gt; &amp; Co</p>",
        "key": "dg_0123456789abcdef0123456789",
        "created_at": datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    }
    args.update(kw)
    return OutgoingEmail(**args)


def parts(msg: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in msg.walk()
        if not part.is_multipart()
    }


def test_send_delivers_text_and_html_parts(smtp_server: tuple[Recorder, int]) -> None:
    handler, port = smtp_server
    sender = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example", timeout=5)
    sender.send(message())
    assert len(handler.messages) == 1
    mail_from, rcpt_tos, _ = handler.messages[0]
    assert mail_from == "crm@acme.example"
    assert rcpt_tos == ["bo@example.com"]
    msg = handler.parsed()
    assert msg["To"] == "bo@example.com"
    assert msg["From"] == "crm@acme.example"
    assert msg["Subject"] == "[Acme] 1 new notification: 1 lead assigned"
    assert msg["Message-ID"] == "<dg_0123456789abcdef0123456789.teamcrm@acme.example>"
    assert msg["Date"].datetime == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert msg.get_content_type() == "multipart/alternative"
    body = parts(msg)
    assert set(body) == {"text/plain", "text/html"}
    assert "New lead: <Maria> & Co" in body["text/plain"]
    assert "&lt;Maria&gt; &amp; Co" in body["text/html"]


def test_a_digest_from_send_digests_arrives_escaped(
    smtp_server: tuple[Recorder, int], clock: SettableClock
) -> None:
    handler, port = smtp_server
    crm = teamcrm.open("memory://", clock=clock)
    team, ana = crm.create_team("Acme & Sons", admin_name="Ana", admin_email="ana@example.com")
    bo = crm.as_member(ana.id).add_member("Bo <Boss>", email="bo@example.com")
    evil = '<script>alert("pwned")</script> New lead: Zoë'
    with crm.store.unit_of_work() as uow:
        uow.notifications.add_many(
            [
                Notification(
                    id=new_notification_id(),
                    team_id=team.id,
                    member_id=bo.id,
                    kind=NotificationKind.LEAD_ASSIGNED,
                    subject_id="ld_1",
                    message=evil,
                    created_at=clock.now(),
                )
            ]
        )
        uow.commit()
    sender = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example", timeout=5)
    report = crm.send_digests(None, sender)
    assert report.members_emailed == 1
    assert report.failures == ()
    msg = handler.parsed()
    assert msg["To"] == "bo@example.com"
    assert msg["Subject"] == "[Acme & Sons] 1 new notification: 1 lead assigned"
    body = parts(msg)
    html = body["text/html"]
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; New lead: Zoë" in html
    assert "Hello Bo &lt;Boss&gt;," in html
    assert evil in body["text/plain"]
    crm.close()


def test_login(auth_server: tuple[Recorder, int]) -> None:
    handler, port = auth_server
    good = SMTPSender(
        "127.0.0.1",
        port,
        from_addr="crm@acme.example",
        username="crm",
        password="s3cret",
        allow_plaintext_login=True,  # a test server on 127.0.0.1 without TLS
    )
    good.send(message())
    assert len(handler.messages) == 1
    bad = SMTPSender(
        "127.0.0.1",
        port,
        from_addr="crm@acme.example",
        username="crm",
        password="wrong",
        timeout=5,
        allow_plaintext_login=True,
    )
    with pytest.raises(DeliveryError) as info:
        bad.send(message())
    assert info.value.permanent
    assert info.value.code == 535
    assert "wrong" not in str(info.value)
    assert "wrong" not in repr(bad)
    anonymous = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example")
    with pytest.raises(DeliveryError) as info:
        anonymous.send(message())
    assert info.value.code == 530
    assert info.value.permanent
    assert len(handler.messages) == 1


def test_refused_recipients_are_permanent_or_temporary(
    smtp_server: tuple[Recorder, int],
) -> None:
    handler, port = smtp_server
    sender = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example", timeout=5)
    with pytest.raises(DeliveryError) as info:
        sender.send(message("gone@example.com"))
    assert info.value.permanent
    assert info.value.code == 550
    assert info.value.recipient == "gone@example.com"
    with pytest.raises(DeliveryError) as info:
        sender.send(message("later@example.com"))
    assert not info.value.permanent
    assert info.value.code == 451
    assert handler.messages == []


def test_starttls_refused_by_a_plain_server(smtp_server: tuple[Recorder, int]) -> None:
    handler, port = smtp_server
    sender = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example", starttls=True)
    with pytest.raises(DeliveryError, match=r"(?i)starttls") as info:
        sender.send(message())
    assert info.value.permanent
    assert handler.messages == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_starttls_with_a_verified_certificate(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    handler = Recorder()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        client_ctx = ssl.create_default_context(cafile=str(cert))
        sender = SMTPSender(
            "127.0.0.1",
            port,
            from_addr="crm@acme.example",
            starttls=True,
            ssl_context=client_ctx,
            username="crm",
            password="s3cret",
            timeout=5,
        )
        sender.send(message())
        assert len(handler.messages) == 1
        # a client that does not trust the certificate refuses it
        untrusting = SMTPSender(
            "127.0.0.1", port, from_addr="crm@acme.example", starttls=True, timeout=5
        )
        with pytest.raises(DeliveryError, match="TLS") as info:
            untrusting.send(message())
        assert not info.value.permanent
        assert len(handler.messages) == 1
    finally:
        controller.stop()


def test_connection_refused_is_a_delivery_error() -> None:
    sender = SMTPSender("127.0.0.1", free_port(), from_addr="crm@acme.example", timeout=2)
    with pytest.raises(DeliveryError, match=r"cannot reach 127\.0\.0\.1") as info:
        sender.send(message())
    assert not info.value.permanent


def test_a_silent_server_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts the TCP connection, never greets
        port = listener.getsockname()[1]
        sender = SMTPSender("127.0.0.1", port, from_addr="crm@acme.example", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(DeliveryError) as info:
            sender.send(message())
        assert time.monotonic() - started < 5
    assert not info.value.permanent
    assert "timed out" in str(info.value)


def test_configuration_is_checked() -> None:
    ok = {"from_addr": "crm@acme.example"}
    cases: list[tuple[str, dict[str, Any]]] = [
        ("port", {"port": 0}),
        ("port", {"port": 70000}),
        ("port", {"port": True}),
        ("from_addr", {"from_addr": "nobody"}),
        ("starttls", {"starttls": True, "use_ssl": True}),
        ("starttls", {"starttls": "yes"}),
        ("username", {"username": "crm"}),
        ("username", {"password": "x"}),
        ("timeout", {"timeout": 0}),
        ("timeout", {"timeout": "5"}),
        ("host", {"host": ""}),
        ("ssl_context", {"ssl_context": "tls"}),
    ]
    for field, change in cases:
        with pytest.raises(ValidationError) as info:
            SMTPSender(**{**ok, **change})
        assert info.value.field == field, change
    assert SMTPSender(**ok).port == 25
    assert SMTPSender(starttls=True, **ok).port == 587
    assert SMTPSender(use_ssl=True, **ok).port == 465
    with_password = SMTPSender(username="crm", password="hunter2", starttls=True, **ok)
    assert "hunter2" not in repr(with_password)


def test_login_without_tls_is_refused_unless_asked_for_by_name(
    auth_server: tuple[Recorder, int],
) -> None:
    handler, port = auth_server
    plain = {"from_addr": "crm@acme.example", "username": "crm", "password": "s3cret"}
    with pytest.raises(ValidationError) as info:
        SMTPSender("127.0.0.1", port, **plain)
    assert info.value.field == "username"
    assert "allow_plaintext_login" in str(info.value)
    assert "s3cret" not in str(info.value)
    with pytest.raises(ValidationError) as info:
        SMTPSender("127.0.0.1", port, allow_plaintext_login="yes", **plain)  # type: ignore[arg-type]
    assert info.value.field == "allow_plaintext_login"
    assert handler.messages == []
    # TLS on: accepted without the opt-in; the opt-in sends in clear on purpose
    assert SMTPSender("127.0.0.1", port, starttls=True, **plain).starttls
    assert SMTPSender("127.0.0.1", port, use_ssl=True, **plain).use_ssl
    opted = SMTPSender("127.0.0.1", port, allow_plaintext_login=True, **plain)
    opted.send(message())
    assert len(handler.messages) == 1


def test_send_refuses_anything_but_an_outgoing_email() -> None:
    sender = SMTPSender("127.0.0.1", 1, from_addr="crm@acme.example")
    with pytest.raises(ValidationError):
        sender.send("hello")  # type: ignore[arg-type]


def test_build_mime_text_only_and_reply_to() -> None:
    mime = build_mime(
        OutgoingEmail(to="bo@example.com", subject="s", text="only text"),
        from_addr="crm@acme.example",
        reply_to="team@acme.example",
    )
    assert mime.get_content_type() == "text/plain"
    assert mime["Reply-To"] == "team@acme.example"
    assert mime["Message-ID"].endswith("@acme.example>")
