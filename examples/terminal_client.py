#!/usr/bin/env python3
"""A reference payment terminal for Passerelle, in Python's standard library.

It speaks the terminal protocol of docs/terminal-protocol.md (messages in
docs/schema/): it pairs with a code and pins the gateway's certificate, or
says hello with the token it stored; presses a key; answers the screens;
runs a simulated card step that approves; prints what it is asked to
print; and reports the approval. The WebSocket client (RFC 6455) is
written on the socket below, to show all there is to it.

First run, with what `passerelle terminal code` prints (the pairing link
carries the addresses, the certificate's fingerprint and the code):

    python3 terminal_client.py --link 'passerelle://pair?addr=...&fp=...&code=123456' \\
        --state terminal.json --key F2 --table 5

Later runs need only --state (the token and the pinned certificate are
there) and an address. Exit status: 0 once a payment is approved and the
scenario is done, 1 otherwise, 2 for a certificate that is not the pinned
one (an impostor: nothing was sent to it).
"""

import argparse
import base64
import datetime
import hashlib
import json
import os
import random
import socket
import ssl
import struct
import sys
import urllib.parse

SUBPROTOCOL = "passerelle.v1"
PATH = "/ws/terminal"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_MESSAGE = 1 << 20
READ_TIMEOUT = 90  # seconds: beyond the gateway's 20 s pings


class Impostor(Exception):
    """The gateway's certificate is not the one pinned."""


class Closed(Exception):
    """The connection ended."""


# --- WebSocket, client side ---------------------------------------------


class WebSocket:
    def __init__(self, host, port, pin=None, use_tls=True):
        """Connects, checks the certificate against pin (hex SHA-256, or its
        first 16+ characters) before anything is sent, and upgrades."""
        sock = socket.create_connection((host, port), timeout=10)
        self.fingerprint = None
        if use_tls:
            # A self-signed certificate names no CA: the pin is the trust.
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            sock = ctx.wrap_socket(sock, server_hostname=host)
            self.fingerprint = hashlib.sha256(sock.getpeercert(binary_form=True)).hexdigest()
            if not pin or len(pin) < 16 or not self.fingerprint.startswith(pin):
                sock.close()
                raise Impostor(f"certificate {self.fingerprint} is not the pinned {pin}")
        self.sock = sock
        self.buf = b""
        self.closed = False
        self._handshake(f"[{host}]" if ":" in host else host, port)
        sock.settimeout(READ_TIMEOUT)

    def _handshake(self, host, port):
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((
            f"GET {PATH} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 16384:
                raise Closed("handshake: answer too long")
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines if ":" in l)}
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if status.split(" ")[1:2] != ["101"]:
            raise Closed(f"handshake: {status}")
        if headers.get("sec-websocket-accept") != accept:
            raise Closed("handshake: wrong Sec-WebSocket-Accept")
        if headers.get("sec-websocket-protocol") != SUBPROTOCOL:
            raise Closed(f"handshake: the gateway does not speak {SUBPROTOCOL}")

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise Closed("connection closed")
        self.buf += data

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_frame(self, opcode, payload):
        # A client masks every frame it sends (RFC 6455, 5.3).
        head = bytes([0x80 | opcode])
        n = len(payload)
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 1 << 16:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send(self, text):
        self._send_frame(0x1, text.encode("utf-8"))

    def recv(self):
        """Returns the next text message; answers pings on the way."""
        message = b""
        while True:
            b0, b1 = self._take(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if b1 & 0x80:
                raise Closed("the gateway masked a frame")
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            if n > MAX_MESSAGE or len(message) + n > MAX_MESSAGE:
                raise Closed("message too large")
            payload = self._take(n)
            if opcode == 0x9:  # ping
                self._send_frame(0xA, payload)
            elif opcode == 0x8:  # close: answer it, then stop
                self._send_frame(0x8, payload[:2])
                self.closed = True
                raise Closed("closed by the gateway")
            elif opcode in (0x1, 0x0):  # text, continuation
                message += payload
                if fin:
                    return message.decode("utf-8")
            elif opcode != 0xA:  # pongs are ignored; binary is not the protocol
                raise Closed(f"unexpected frame opcode {opcode}")

    def close(self):
        if not self.closed:
            self.closed = True
            try:
                self._send_frame(0x8, struct.pack("!H", 1000))
            except OSError:
                pass
        self.sock.close()


# --- The terminal -----------------------------------------------------------


def load_state(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return {}


def save_state(path, state):
    # Readable by this user only: it holds the terminal's token.
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def card_step(pay):
    """A simulated bank kernel that approves."""
    auth = f"{random.randrange(10**6):06d}"
    return {
        "type": "payment_result", "payment_id": pay["payment_id"], "status": "approved",
        "amount": pay["amount"], "tip": pay.get("tip", 0), "currency": pay["currency"],
        "card": {"scheme": "CB", "masked_pan": "############4242", "entry": "chip"},
        "auth_code": auth, "transaction_ref": auth + "PY",
        "merchant_id": "0000015000", "terminal_id": "PYTERM01",
        "at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "receipt": ["CARTE BANCAIRE", "DEBIT", f"{euros(pay['amount'])} {pay['currency']}"],
    }


def euros(cents):
    return f"{cents // 100},{cents % 100:02d}"


class Terminal:
    def __init__(self, args):
        self.args = args
        self.state = load_state(args.state)
        self.ws = None
        self.approved = None  # the acknowledged approval, to report

    def send(self, msg):
        text = json.dumps(msg, ensure_ascii=False)
        if self.args.trace:
            print("> " + text, file=sys.stderr)
        self.ws.send(text)

    def recv(self):
        text = self.ws.recv()
        if self.args.trace:
            print("< " + text.strip(), file=sys.stderr)
        return json.loads(text)

    def connect(self, addrs, pin, code):
        """Says hello to the first address that answers. A terminal that has
        paired keeps its pinned certificate: only a re-pairing changes it."""
        last = None
        for addr in addrs:
            host, _, port = addr.rpartition(":")
            try:
                self.ws = WebSocket(host.strip("[]"), int(port), pin, not self.args.no_tls)
                self.state["addr"] = addr
                break
            except (OSError, Closed) as e:
                last = e
        else:
            raise Closed(f"no address answered: {last}")
        hello = {"type": "hello", "serial": self.state.setdefault("serial", f"PY{random.randrange(10**8):08d}"),
                 "model": "python-reference", "app_version": "1",
                 "display": {"cols": 16, "rows": 8}, "printer": {"cols": self.args.printer_cols},
                 "keys": ["F1", "F2"]}
        if self.state.get("token"):
            hello["token"] = self.state["token"]
        else:
            hello["pairing_code"] = code
        self.send(hello)
        welcome = self.recv()
        if welcome["type"] != "welcome":
            raise Closed(f"hello refused: {welcome.get('code')}: {welcome.get('message')}")
        if "token" in welcome:  # paired: keep the token and pin what was seen
            self.state.update(token=welcome["token"], fingerprint=self.ws.fingerprint,
                              terminal_id=welcome["terminal_id"])
        save_state(self.args.state, self.state)
        print(f"connected as {welcome['name']} ({welcome['terminal_id']})")
        if "result" in self.state:  # a result the gateway never acked goes again
            self.send(self.state["result"])

    def answer(self, screen):
        kind = screen["kind"]
        print(f"== {screen['title']} ==")
        for line in screen.get("lines", []):
            print("   " + line)
        if kind == "input":
            value = self.args.table
        elif kind == "menu":
            value = screen["items"][0]["id"]
        elif kind == "ticket":
            ids = [c["id"] for c in screen["choices"]]
            if self.args.choice not in ids:
                self.send({"type": "cancel", "screen_id": screen["screen_id"]})
                return
            value = self.args.choice
        else:  # message: the waiter pressed OK
            value = ""
        print(f"   -> {value}")
        self.send({"type": "answer", "screen_id": screen["screen_id"], "value": value})

    def run(self):
        """Handles the gateway's messages until done; returns the exit status."""
        self.send({"type": "start", "key": self.args.key})
        while True:
            m = self.recv()
            t = m["type"]
            if t == "screen":
                self.answer(m)
            elif t == "pay":
                print(f"== {m['label']} {euros(m['amount'])} {m['currency']} == card approved")
                # Stored before it is sent: a terminal never loses a result.
                self.state["result"] = card_step(m)
                save_state(self.args.state, self.state)
                self.send(self.state["result"])
            elif t == "ack":
                result = self.state.get("result")
                if result and result["payment_id"] == m["payment_id"]:
                    if result["status"] == "approved":
                        self.approved = result
                    del self.state["result"]
                    save_state(self.args.state, self.state)
            elif t == "print":
                print("\n".join(m["lines"]))
                self.send({"type": "printed", "job_id": m["job_id"]})
            elif t in ("status_request", "abort"):
                # The card step here ends before the result is sent: there
                # is a stored result to send again, or nothing was started.
                result = self.state.get("result")
                if result and result["payment_id"] == m["payment_id"]:
                    self.send(result)
                else:
                    self.send({"type": "payment_state", "payment_id": m["payment_id"], "status": "not_found"})
            elif t == "done":  # not answered
                print(f"== {m['title']} ==")
                if self.approved:
                    a = self.approved
                    print(f"APPROVED {a['payment_id']} {a['amount']} {a['currency']} auth {a['auth_code']}")
                    return 0
                print("the scenario ended without an approval")
                return 1
            elif t == "error":
                print(f"error from the gateway: {m['code']}: {m.get('message', '')}", file=sys.stderr)
                return 1
            # welcome, payment_state and types added later: nothing to do


def parse_link(link):
    u = urllib.parse.urlsplit(link)
    if u.scheme != "passerelle" or u.netloc != "pair":
        raise SystemExit("--link: not a passerelle://pair? link")
    q = urllib.parse.parse_qs(u.query)
    one = lambda k: q.get(k, [""])[0]
    return [a for a in one("addr").split(",") if a], one("fp"), one("code")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--link", help="the pairing link: addresses, fingerprint and code")
    ap.add_argument("--addr", action="append", default=[], help="host:port to try first (repeatable)")
    ap.add_argument("--fingerprint", default="", help="the certificate's SHA-256, hex (spaces allowed)")
    ap.add_argument("--code", default="", help="the pairing code, the first time")
    ap.add_argument("--state", default="terminal.json", help="where the token and pinned certificate are kept")
    ap.add_argument("--key", default="F2", help="the key to press")
    ap.add_argument("--table", default="5", help="what to type on an input screen")
    ap.add_argument("--choice", default="full", help="the choice to take on the ticket screen")
    ap.add_argument("--printer-cols", type=int, default=32)
    ap.add_argument("--no-tls", action="store_true", help="for a gateway run with --no-tls")
    ap.add_argument("--trace", action="store_true", help="write every message to stderr (> sent, < received)")
    args = ap.parse_args()
    for stream in (sys.stdout, sys.stderr):  # screens are in French, whatever the locale
        stream.reconfigure(errors="backslashreplace")

    addrs, fp, code = list(args.addr), args.fingerprint, args.code
    if args.link:
        link_addrs, link_fp, link_code = parse_link(args.link)
        addrs += link_addrs
        fp, code = fp or link_fp, code or link_code
    term = Terminal(args)
    addrs += [term.state["addr"]] if "addr" in term.state else []
    pin = term.state.get("fingerprint") or "".join(c for c in fp.lower() if c in "0123456789abcdef")
    if not addrs or (not args.no_tls and not pin) or not (term.state.get("token") or code):
        raise SystemExit("need an address, the certificate's fingerprint and, the first time, a pairing code (--link gives all three)")
    try:
        term.connect(addrs, pin, code)
        return term.run()
    except Impostor as e:
        print(f"possible impostor, nothing sent: {e}", file=sys.stderr)
        return 2
    except (OSError, Closed) as e:
        print(f"connection: {e}", file=sys.stderr)
        return 1
    finally:
        if term.ws:
            term.ws.close()


if __name__ == "__main__":
    sys.exit(main())
