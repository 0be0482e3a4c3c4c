# The suite's listeners, run as root in the test container by cases.toml's setup:
# - TCP 8080 and UDP 5353 on every address: a connection or datagram that arrives on an address
#   other than loopback is written to /var/log/esc-hits (no jailed command of a grant without
#   network `any` may reach one: 198.18.0.1 on lo stands for another host, as in the jail tests);
# - TCP 127.0.0.1:8082: an endless HTTP response of zeros (the disk-filler cases).
import socket, threading

HITS = "/var/log/esc-hits"

def hit(kind, addr):
    if not addr.startswith("127.") and addr != "::1":
        with open(HITS, "a") as f:
            f.write(f"{kind} {addr}\n")

def tcp():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080))
    s.listen(64)
    while True:
        c, _ = s.accept()
        hit("tcp-8080", c.getsockname()[0])
        c.close()

def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("198.18.0.1", 5353))
    while True:
        s.recvfrom(2048)
        hit("udp-5353", "198.18.0.1")

def zeros():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 8082))
    s.listen(16)
    block = b"\0" * 65536
    def serve(c):
        try:
            c.recv(4096)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            while True:
                c.sendall(block)
        except OSError:
            pass
        finally:
            c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

for f in (tcp, udp, zeros):
    threading.Thread(target=f, daemon=True).start()
threading.Event().wait()
