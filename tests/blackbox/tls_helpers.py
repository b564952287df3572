"""TLS helpers for the black-box tests: certificates made at test time with the openssl
CLI, and TLS versions of harness's clients (Python's ssl module). Standard library only."""
import os
import shutil
import socket
import ssl
import subprocess
import tempfile

from harness import TIMEOUT, LineClient

OPENSSL = shutil.which("openssl")


class CertFactory:
    """A temporary directory of CAs and server certificates. Call cleanup() when done."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="classchat-tls-")

    def path(self, name):
        return os.path.join(self.dir, name)

    def _run(self, *args):
        subprocess.run([OPENSSL, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)

    def ca(self, name):
        """A self-signed CA; returns the path of its certificate (name.pem)."""
        self._run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", self.path(name + ".key"), "-out", self.path(name + ".pem"),
                  "-days", "2", "-subj", "/CN=classchat test CA " + name)
        return self.path(name + ".pem")

    def server(self, name, ca, san="IP:127.0.0.1,DNS:localhost"):
        """A server certificate signed by CA `ca` (a name given to ca()); returns the paths
        (cert, key)."""
        cert, key, csr = (self.path(name + ext) for ext in (".pem", ".key", ".csr"))
        self._run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", csr, "-subj", "/CN=" + name)
        ext = self.path(name + ".ext")
        with open(ext, "w", encoding="ascii") as f:
            f.write("subjectAltName=" + san + "\n")
        self._run("x509", "-req", "-in", csr, "-CA", self.path(ca + ".pem"), "-CAkey",
                  self.path(ca + ".key"), "-CAcreateserial", "-out", cert, "-days", "2",
                  "-extfile", ext)
        return cert, key

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class CertificatesMixin:
    """For a TestCase class: a CA `ca`, an unrelated CA `other_ca`, and the server's `cert`
    and `key` signed by `ca`, made once for the class and removed after it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.certs = CertFactory()
        cls.ca = cls.certs.ca("ca")
        cls.other_ca = cls.certs.ca("other")
        cls.cert, cls.key = cls.certs.server("server", "ca")

    @classmethod
    def tearDownClass(cls):
        cls.certs.cleanup()
        super().tearDownClass()


def client_context(cafile):
    """A verifying client context that trusts only `cafile` (hostname checked)."""
    context = ssl.create_default_context(cafile=cafile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def wrap(port, cafile, host="127.0.0.1", server_hostname=None):
    """A TLS socket to the server, handshake done (raises ssl.SSLError if it fails)."""
    raw = socket.create_connection((host, port), timeout=TIMEOUT)
    try:
        return client_context(cafile).wrap_socket(raw, server_hostname=server_hostname or host)
    except BaseException:
        raw.close()
        raise


class TlsLineClient(LineClient):
    """harness.LineClient over TLS."""

    def __init__(self, port, cafile, first_bytes=None, host="127.0.0.1", server_hostname=None):
        # pylint: disable=super-init-not-called
        self.sock = wrap(port, cafile, host, server_hostname)
        self.sock.settimeout(TIMEOUT)
        self.buffer = b""
        if first_bytes is not None:
            self.send_raw(first_bytes)


def peer_certificate_serial(port, cafile, host="127.0.0.1"):
    """The serial number of the certificate the server presents to a new connection."""
    with wrap(port, cafile, host) as sock:
        return sock.getpeercert()["serialNumber"]


def listening_ports(pid):
    """The TCP ports process `pid` listens on (IPv4 and IPv6), from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{table}", encoding="ascii") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports
