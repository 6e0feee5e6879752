"""Senders: where email digests go.

teamcrm composes messages (:class:`~teamcrm.digest.OutgoingEmail`) and hands
them to a :class:`Sender` the application configures:

* :class:`SMTPSender` speaks SMTP with the standard library (``smtplib``):
  plain, STARTTLS or implicit TLS, optional login, timeouts;
* :class:`MemorySender` keeps the messages in a list (tests, notebooks);
* anything else with a ``send(message)`` method (an HTTP email API, a queue).

A sender either delivers the message to the next hop and returns, or raises.
:class:`SMTPSender` turns every ``smtplib``/socket/TLS failure into a
:class:`DeliveryError`, so callers handle one teamcrm error class.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, formatdate, make_msgid
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from teamcrm.digest import OutgoingEmail
from teamcrm.errors import TeamCRMError, ValidationError
from teamcrm.validation import check_email, check_text

if TYPE_CHECKING:  # imported when a message is sent: ~12 ms that `import teamcrm` never pays
    import smtplib
    import ssl

__all__ = [
    "DeliveryError",
    "MemorySender",
    "SMTPSender",
    "Sender",
    "build_mime",
    "load_sender",
]


class DeliveryError(TeamCRMError):
    """A message could not be handed over for delivery.

    :ivar recipient: the address the message was for.
    :ivar reason: what went wrong, in words (the server's reply when there was one).
    :ivar permanent: true when the server refused for good (an SMTP 5xx reply,
        a refused login); retrying the same message will not help without a
        change of address or configuration.
    :ivar code: the SMTP reply code, when the server gave one.
    """

    def __init__(
        self, recipient: str, reason: str, *, permanent: bool = False, code: int | None = None
    ) -> None:
        self.recipient = recipient
        self.reason = reason
        self.permanent = permanent
        self.code = code
        kind = "permanently refused" if permanent else "failed"
        super().__init__(f"delivery to {recipient!r} {kind}: {reason}")


@runtime_checkable
class Sender(Protocol):
    """Anything that delivers an :class:`~teamcrm.digest.OutgoingEmail`."""

    def send(self, message: OutgoingEmail) -> None:
        """Hand *message* over for delivery, or raise (preferably :class:`DeliveryError`)."""
        ...


def load_sender(spec: str) -> Sender:
    """Return the sender named by *spec*, ``"package.module:name"``.

    *name* (dotted attributes allowed) is a :class:`Sender` — any object with a
    ``send(message)`` method — or a callable taking no arguments that returns
    one (a class, a factory reading the application's settings).  This is how
    ``teamcrm programs run --sender`` plugs in the application's own delivery
    (an HTTP email API, a queue) without teamcrm knowing it.

    >>> load_sender("teamcrm.sender:MemorySender")  # doctest: +ELLIPSIS
    <teamcrm.sender.MemorySender object at ...>

    :raises ValidationError: (field ``sender``) when *spec* is not of that
        form, its module cannot be imported, the name is missing, or what it
        names is not (and does not make) a sender.
    """
    import importlib

    if not isinstance(spec, str):
        raise ValidationError("sender", spec, 'must be a string like "package.module:name"')
    module_name, sep, attribute = spec.partition(":")
    if not sep or not module_name.strip() or not attribute.strip():
        raise ValidationError("sender", spec, 'must look like "package.module:name"')
    try:
        found: Any = importlib.import_module(module_name.strip())
    except Exception as exc:  # the application's module: any import failure is named, not raised
        raise ValidationError(
            "sender", spec, f"its module cannot be imported: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attribute.strip().split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValidationError("sender", spec, f"{part!r} is not found there") from None
    if not isinstance(found, Sender) or isinstance(found, type):
        if not callable(found):
            raise ValidationError("sender", spec, "is neither a sender nor a factory of one")
        try:
            found = found()
        except TeamCRMError:
            raise
        except Exception as exc:  # the application's factory failed: say so, with the cause
            raise ValidationError(
                "sender", spec, f"its factory failed: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(found, Sender) or isinstance(found, type):
            raise ValidationError(
                "sender", spec, f"made {type(found).__name__}, which has no send(message) method"
            )
    return found


def _require_message(message: Any) -> OutgoingEmail:
    if not isinstance(message, OutgoingEmail):
        raise ValidationError("message", message, "must be an OutgoingEmail")
    return message


def build_mime(
    message: OutgoingEmail, *, from_addr: str, reply_to: str | None = None
) -> EmailMessage:
    """Return *message* as a standard-library ``EmailMessage``.

    With an HTML body it is ``multipart/alternative`` (text first, HTML
    second, so clients that cannot show HTML show the text).  The
    ``Message-ID`` is derived from the message's ``key`` when it has one
    (the same key gives the same ``Message-ID``, so a retried send is
    recognisable).  The message's own ``reply_to`` wins over *reply_to*;
    its ``from_name`` is shown with *from_addr*.
    """
    message = _require_message(message)
    from_addr = check_email("from_addr", from_addr)
    mime = EmailMessage()
    mime["From"] = formataddr((message.from_name, from_addr)) if message.from_name else from_addr
    mime["To"] = message.to
    if message.reply_to is not None:
        reply_to = message.reply_to
    if reply_to is not None:
        mime["Reply-To"] = check_email("reply_to", reply_to)
    mime["Subject"] = message.subject
    mime["Date"] = (
        formatdate(localtime=False, usegmt=True)
        if message.created_at is None
        else format_datetime(message.created_at, usegmt=True)
    )
    domain = from_addr.rpartition("@")[2]
    if message.key is not None and message.key.isascii() and message.key.isprintable():
        key = "".join(ch for ch in message.key if ch.isalnum() or ch in "._-")
        mime["Message-ID"] = f"<{key or 'digest'}.teamcrm@{domain}>"
    elif message.key is not None:  # still the same Message-ID for the same key
        digest = hashlib.sha256(message.key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        mime["Message-ID"] = f"<{digest}.teamcrm@{domain}>"
    else:
        mime["Message-ID"] = make_msgid(domain=domain)
    mime.set_content(message.text, subtype="plain", charset="utf-8")
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html", charset="utf-8")
    return mime


def _refused_error(recipient: str, refused: dict[str, tuple[int, bytes]]) -> DeliveryError:
    code, reply = next(iter(refused.values()), (0, b""))
    return DeliveryError(
        recipient,
        f"recipient refused ({code} {reply.decode('utf-8', 'replace')})".strip(),
        permanent=500 <= code < 600,
        code=code or None,
    )


def _close(smtp: smtplib.SMTP) -> None:
    """Say QUIT politely; a failure now must not turn a delivered message into an error."""
    import smtplib

    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


class SMTPSender:
    """Send messages over SMTP with the standard library; one connection per message.

    >>> sender = SMTPSender("smtp.example.com", from_addr="crm@example.com",
    ...                     starttls=True, username="crm", password="...")  # doctest: +SKIP

    :param host: the SMTP server.
    :param port: default 465 with ``use_ssl``, 587 with ``starttls``, else 25.
    :param from_addr: the envelope and ``From`` address.
    :param starttls: upgrade the connection with ``STARTTLS`` before login
        (refused by the server → :class:`DeliveryError`).
    :param use_ssl: connect with implicit TLS (``SMTP_SSL``); not with *starttls*.
    :param username: log in with this user (needs *password*, and TLS: *starttls*
        or *use_ssl*, unless *allow_plaintext_login* is true).
    :param password: the password; never shown by ``repr``.
    :param allow_plaintext_login: send the login over a connection without TLS
        (the password crosses the network in clear; only for a relay on the
        same host or a trusted network).  Without it, a login without
        *starttls* or *use_ssl* is refused with :class:`ValidationError`.
    :param timeout: seconds for the connection and for each SMTP command.
    :param ssl_context: TLS settings (default: ``ssl.create_default_context()``,
        which verifies the server's certificate).
    :param reply_to: optional ``Reply-To`` address.
    :param local_hostname: the name sent with ``EHLO`` (default: this host's FQDN).
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int | None = None,
        *,
        from_addr: str,
        starttls: bool = False,
        use_ssl: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        ssl_context: ssl.SSLContext | None = None,
        reply_to: str | None = None,
        local_hostname: str | None = None,
        allow_plaintext_login: bool = False,
    ) -> None:
        self.host = check_text("host", host, max_len=255)
        for name, flag in (
            ("starttls", starttls),
            ("use_ssl", use_ssl),
            ("allow_plaintext_login", allow_plaintext_login),
        ):
            if not isinstance(flag, bool):
                raise ValidationError(name, flag, "must be True or False")
        if starttls and use_ssl:
            raise ValidationError("starttls", starttls, "choose starttls or use_ssl, not both")
        if port is None:
            port = 465 if use_ssl else 587 if starttls else 25
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValidationError("port", port, "must be an integer from 1 to 65535")
        self.port = port
        self.from_addr = check_email("from_addr", from_addr)
        self.starttls = starttls
        self.use_ssl = use_ssl
        if (username is None) != (password is None):
            raise ValidationError("username", username, "username and password go together")
        self.username = None if username is None else check_text("username", username)
        if password is not None and not isinstance(password, str):
            raise ValidationError("password", "***", "must be a string")
        self._password = password
        if username is not None and not (starttls or use_ssl or allow_plaintext_login):
            raise ValidationError(
                "username",
                username,
                "a login needs TLS (starttls=True or use_ssl=True); the password would cross "
                "the network in clear - pass allow_plaintext_login=True to do it anyway",
            )
        self.allow_plaintext_login = allow_plaintext_login
        if isinstance(timeout, bool) or not isinstance(timeout, int | float):
            raise ValidationError("timeout", timeout, "must be a number of seconds")
        if not 0 < timeout <= 600:
            raise ValidationError("timeout", timeout, "must be more than 0 and at most 600 seconds")
        self.timeout = float(timeout)
        if ssl_context is not None:
            import ssl

            if not isinstance(ssl_context, ssl.SSLContext):
                raise ValidationError("ssl_context", ssl_context, "must be an ssl.SSLContext")
        self._ssl_context = ssl_context
        self.reply_to = None if reply_to is None else check_email("reply_to", reply_to)
        self.local_hostname = (
            None if local_hostname is None else check_text("local_hostname", local_hostname)
        )

    def _context(self) -> ssl.SSLContext:
        import ssl

        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _connect(self) -> smtplib.SMTP:
        import smtplib

        if self.use_ssl:
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self._context(),
            )
        return smtplib.SMTP(
            self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
        )

    def send(self, message: OutgoingEmail) -> None:
        """Deliver *message* to the SMTP server, or raise :class:`DeliveryError`."""
        import smtplib
        import ssl

        message = _require_message(message)
        mime = build_mime(message, from_addr=self.from_addr, reply_to=self.reply_to)
        to = message.to
        try:
            smtp = self._connect()
            try:
                if self.starttls:
                    smtp.starttls(context=self._context())
                if self.username is not None and self._password is not None:
                    smtp.login(self.username, self._password)
                refused = smtp.send_message(mime, from_addr=self.from_addr, to_addrs=[to])
            finally:
                _close(smtp)
        except smtplib.SMTPRecipientsRefused as exc:
            raise _refused_error(to, exc.recipients) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(
                to, f"login refused ({exc.smtp_code})", permanent=True, code=exc.smtp_code
            ) from exc
        except smtplib.SMTPResponseException as exc:
            reply = exc.smtp_error
            text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
            raise DeliveryError(
                to,
                f"server replied {exc.smtp_code} {text}".strip(),
                permanent=500 <= exc.smtp_code < 600,
                code=exc.smtp_code,
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryError(
                to, f"the server does not support it: {exc}", permanent=True
            ) from exc
        except smtplib.SMTPException as exc:
            raise DeliveryError(to, f"SMTP failed: {type(exc).__name__}: {exc}") from exc
        except ssl.SSLError as exc:
            raise DeliveryError(to, f"TLS failed: {exc}") from exc
        except TimeoutError as exc:
            raise DeliveryError(to, f"timed out after {self.timeout:g} s") from exc
        except OSError as exc:
            where = f"{self.host}:{self.port}"
            raise DeliveryError(to, f"cannot reach {where}: {type(exc).__name__}: {exc}") from exc
        except UnicodeError as exc:
            raise DeliveryError(
                to, f"the message cannot be encoded: {exc}", permanent=True
            ) from exc
        if refused:
            raise _refused_error(to, refused)

    def __repr__(self) -> str:
        mode = "ssl" if self.use_ssl else "starttls" if self.starttls else "plain"
        user = f", username={self.username!r}" if self.username else ""
        return (
            f"SMTPSender({self.host!r}, {self.port}, mode={mode!r}, "
            f"from_addr={self.from_addr!r}{user})"
        )


class MemorySender:
    """Keep sent messages in :attr:`sent` instead of delivering them (thread-safe).

    :param fail_for: recipients whose messages fail with a (temporary)
        :class:`DeliveryError`, to rehearse failures.
    """

    def __init__(self, *, fail_for: Iterable[str] = ()) -> None:
        self.sent: list[OutgoingEmail] = []
        if isinstance(fail_for, str | bytes):
            raise ValidationError("fail_for", fail_for, "must be a list of addresses")
        self.fail_for: set[str] = {check_email("fail_for", a) for a in fail_for}
        self._lock = threading.Lock()

    def send(self, message: OutgoingEmail) -> None:
        """Record *message* (or raise :class:`DeliveryError` for a failing recipient)."""
        message = _require_message(message)
        if message.to in self.fail_for:
            raise DeliveryError(message.to, "rehearsed failure (MemorySender.fail_for)")
        with self._lock:
            self.sent.append(message)

    def to(self, address: str) -> list[OutgoingEmail]:
        """Return the messages sent to *address*, in order."""
        address = check_email("address", address)
        with self._lock:
            return [m for m in self.sent if m.to == address]

    def clear(self) -> None:
        """Forget every recorded message."""
        with self._lock:
            self.sent.clear()

    def __repr__(self) -> str:
        return f"MemorySender(sent={len(self.sent)})"
