"""A real SMTP server for the email channel's tests (aiosmtpd, Debian's python3-aiosmtpd).

Every message it accepts is decoded with Python's email package and written to
OUT/NNNN.json (envelope, headers, decoded plain-text body, whether TLS and AUTH were
used), so tests can assert exactly what a person would read.

    smtp_sink.py --out DIR [--port N] [--mode plain|starttls|tls] [--cert PEM --key PEM]
                 [--auth USER:PASSWORD]

--port 0 (the default) picks a free port. The port is printed as "LISTENING <port>"
on stdout once the server accepts connections. The server exits when its stdin
closes, so it never outlives the test that started it.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import os
import ssl
import sys
import threading
import warnings

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def header(msg, name):
    value = msg[name]
    return None if value is None else str(value)


class Sink:
    def __init__(self, out):
        self.out = out
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": header(msg, "From"),
            "to": header(msg, "To"),
            "subject": header(msg, "Subject"),
            "message_id": header(msg, "Message-ID"),
            "in_reply_to": header(msg, "In-Reply-To"),
            "references": header(msg, "References"),
            "date": header(msg, "Date"),
            "mime_version": header(msg, "MIME-Version"),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": body.get_content().replace("\r\n", "\n") if body is not None else None,
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
        }
        with self.lock:
            self.count += 1
            name = os.path.join(self.out, "%04d.json" % self.count)
        with open(name + ".tmp", "w") as f:
            json.dump(record, f, indent=1)
        os.rename(name + ".tmp", name)
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--mode", choices=["plain", "starttls", "tls"], default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    args = ap.parse_args()
    # aiosmtpd warns about its own deprecated Session.login_data on every login, and
    # about AUTH without STARTTLS in implicit-TLS mode, where TLS is there all along.
    warnings.simplefilter("ignore")
    # Handshakes that tests make fail on purpose would print tracebacks otherwise.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)

    ctx = None
    if args.mode != "plain":
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(args.cert, args.key)

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (
                isinstance(auth_data, LoginPassword)
                and auth_data.login.decode() == user
                and auth_data.password.decode() == password
            )
            # handled=False: aiosmtpd answers a failure with 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    sink = Sink(args.out)

    def factory():
        return SMTP(
            sink,
            hostname="sink.test",
            tls_context=ctx if args.mode == "starttls" else None,
            require_starttls=args.mode == "starttls",
            authenticator=authenticator,
            auth_required=authenticator is not None,
            # With implicit TLS every connection is encrypted, but aiosmtpd only
            # counts STARTTLS as TLS for AUTH.
            auth_require_tls=args.mode != "tls",
        )

    async def serve():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            factory, "127.0.0.1", args.port, ssl=ctx if args.mode == "tls" else None
        )
        port = server.sockets[0].getsockname()[1]
        print("LISTENING %d" % port, flush=True)
        await asyncio.Event().wait()

    def exit_with_parent():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    asyncio.run(serve())


if __name__ == "__main__":
    main()
