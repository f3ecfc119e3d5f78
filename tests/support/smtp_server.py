"""A real SMTP server on loopback for the tests: prints its port, then writes
every accepted message to <dir>/<n>.eml. Recipients decide the reply:
`later@...` gets 451 (try again), `never@...` gets 550 (refused).

Uses the standard library's smtpd (Python 3.11 and older, as on these machines).
"""
import os
import sys
import warnings

OUT = sys.argv[1]
count = 0


def verdict(rcpttos, data):
    global count
    if any(r.startswith("later@") for r in rcpttos):
        return "451 4.3.0 try again later"
    if any(r.startswith("never@") for r in rcpttos):
        return "550 5.1.1 no such user"
    count += 1
    body = data if isinstance(data, bytes) else data.encode()
    envelope = ("X-Envelope-To: " + ",".join(rcpttos) + "\r\n").encode()
    with open(os.path.join(OUT, f"{count}.eml.tmp"), "wb") as f:
        f.write(envelope + body)
    os.rename(os.path.join(OUT, f"{count}.eml.tmp"), os.path.join(OUT, f"{count}.eml"))
    return None


warnings.simplefilter("ignore", DeprecationWarning)
import asyncore  # noqa: E402
import smtpd  # noqa: E402


class Server(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        return verdict(rcpttos, data)


server = Server(("127.0.0.1", 0), None, decode_data=False)
print(server.socket.getsockname()[1], flush=True)
asyncore.loop()
