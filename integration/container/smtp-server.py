#!/usr/bin/python3
"""The SMTP relay of the notification test (aiosmtpd, real SMTP server software).

With --tls CERT KEY it offers STARTTLS and requires it before anything else, and requires
AUTH (PLAIN or LOGIN) as USER:PASSWORD; without, it is a plain relay that offers neither.
Each message received is one JSON line in OUT: whether it came over TLS, who logged in, the
envelope, and the headers and body as the recipient would read them.

Usage: smtp-server.py --port N --out FILE [--tls CERT KEY --login USER:PASSWORD]
"""
import argparse
import email
import email.policy
import json
import ssl
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--login")
    args = parser.parse_args()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            record = {
                "tls": session.ssl is not None,
                "login": session.login_data.decode() if isinstance(session.login_data, bytes) else None,
                "mail_from": envelope.mail_from,
                "rcpt_tos": envelope.rcpt_tos,
                "from": str(message["From"]),
                "to": str(message["To"]),
                "subject": str(message["Subject"]),
                "body": message.get_content(),
            }
            with open(args.out, "a") as out:
                out.write(json.dumps(record) + "\n")
            return "250 OK"

    options = {}
    if args.tls:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*args.tls)
        user, password = args.login.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                user.encode(),
                password.encode(),
            )
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        options = dict(
            tls_context=context,
            require_starttls=True,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=True,
        )
    controller = Controller(Handler(), hostname="127.0.0.1", port=args.port, **options)
    controller.start()
    print("listening", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
