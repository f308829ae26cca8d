"""Kafka TLS and SASL settings: the kafka-python options they give, the errors bad values
give, and TLS against real handshakes.

The local broker, tansu 0.6.0, cannot serve TLS or SASL here: its `--cert` flag refuses
`--key`, and with a combined PEM it still answers in plaintext (a TLS ClientHello is read
as a Kafka frame and the connection waits). So TLS is tested two ways:
- the sidecar's SSL consumer against tansu's plaintext listener must fail with an error
  that says so, within its handshake timeout (kafka-python alone waited over 60 s there:
  its TLS handshake has no deadline, which is why KafkaSource probes first);
- a TLS terminator written here (Python's ssl, certificates made with openssl) in front of
  tansu: a consumer with the sidecar's options reads over TLS what a producer sent over
  TLS, with a trusted CA, and is refused with an untrusted one or the wrong host name.
SASL is tested against kafka-python's documented keyword arguments only.
"""
import dataclasses
import shutil
import socket
import ssl
import subprocess
import threading
import time

import pytest
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from foresight.sources.kafka import KafkaSource
from foresight.sources.kafka_security import (PASSWORD_ENV, FileTokenProvider, KafkaSecurity, KafkaSecurityError,
                                              KafkaTLSError)
from foresight_dev.devstack.processes import Process, find_binary, free_port

OPENSSL = shutil.which("openssl")


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True)


def signed(folder, name: str, subject: str, san: str, ca: str = "ca"):
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={subject}", cwd=folder)
    (folder / f"{name}.ext").write_text(f"subjectAltName={san}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=folder)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throwaway CA; a broker certificate for localhost/127.0.0.1 and one for another name; a
    client certificate; and a stranger CA nobody trusts."""
    if OPENSSL is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "stranger"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out", f"{ca}.pem",
                "-days", "2", "-subj", f"/CN=Foresight test {ca}", cwd=folder)
    signed(folder, "broker", "localhost", "DNS:localhost,IP:127.0.0.1")
    signed(folder, "elsewhere", "kafka.example", "DNS:kafka.example")
    signed(folder, "client", "foresight", "DNS:foresight")
    (folder / "not-a-cert.pem").write_text("hello\n")
    return folder


class TLSTerminator:
    """Accepts TLS on a port and, with a target, passes the plaintext on to it both ways."""

    def __init__(self, cert, key, target_port: int | None = None, client_ca=None, port: int | None = None):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(str(cert), str(key))
        if client_ca:
            self.context.verify_mode = ssl.CERT_REQUIRED
            self.context.load_verify_locations(str(client_ca))
        self.target_port, self.handshakes = target_port, 0
        self.listener = socket.create_server(("127.0.0.1", port or 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        self.handshakes += 1
        if self.target_port is None:
            tls.close()
            return
        plain = socket.create_connection(("127.0.0.1", self.target_port))
        threading.Thread(target=_pump, args=(tls, plain), daemon=True).start()
        _pump(plain, tls)

    def close(self):
        self.listener.close()


def _pump(source, sink):
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.close()
            except OSError:
                pass


def eventually(check, timeout: float = 5.0) -> bool:
    """The server side counts a handshake a moment after the client has finished it."""
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


def tls(pki, **extra) -> KafkaSecurity:
    return KafkaSecurity.build("SSL", cafile=str(pki / "ca.pem"), **extra)


# -- options ---------------------------------------------------------------------------

def test_plaintext_gives_only_the_protocol():
    assert KafkaSecurity.build().consumer_options() == {"security_protocol": "PLAINTEXT"}


def test_tls_options_name_the_files_as_kafka_python_takes_them(pki):
    security = KafkaSecurity.build("ssl", cafile=str(pki / "ca.pem"), certfile=str(pki / "client.pem"),
                                   keyfile=str(pki / "client.key"), check_hostname="false")
    assert security.consumer_options() == {
        "security_protocol": "SSL", "ssl_check_hostname": False, "ssl_cafile": str(pki / "ca.pem"),
        "ssl_certfile": str(pki / "client.pem"), "ssl_keyfile": str(pki / "client.key")}


def test_sasl_password_comes_from_env_or_file_and_is_never_printed(tmp_path):
    env = {PASSWORD_ENV: "s3cret-from-env"}
    security = KafkaSecurity.build("SASL_PLAINTEXT", mechanism="scram-sha-512", username="foresight", environ=env)
    assert security.consumer_options() == {
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "foresight", "sasl_plain_password": "s3cret-from-env"}
    secret_file = tmp_path / "password"
    secret_file.write_text("s3cret-from-file\n")
    from_file = KafkaSecurity.build("SASL_PLAINTEXT", mechanism="PLAIN", username="foresight",
                                    password_file=str(secret_file), environ={})
    assert from_file.consumer_options()["sasl_plain_password"] == "s3cret-from-file"
    for shown in (repr(security), str(security), security.describe(), repr(from_file), from_file.describe()):
        assert "s3cret" not in shown
    assert security.describe() == "SASL_PLAINTEXT, SCRAM-SHA-512 as foresight"


def test_oauthbearer_reads_its_token_file_at_each_connection(tmp_path):
    token = tmp_path / "token"
    token.write_text("first\n")
    options = KafkaSecurity.build("SASL_PLAINTEXT", mechanism="OAUTHBEARER", oauth_token_file=str(token),
                                  environ={}).consumer_options()
    provider = options["sasl_oauth_token_provider"]
    assert isinstance(provider, FileTokenProvider) and provider.token() == "first"
    token.write_text("rotated")
    assert provider.token() == "rotated"


# -- errors name the flag, the env var and the value ---------------------------------------

@pytest.mark.parametrize("kwargs, expected", [
    (dict(protocol="TLS"), ["--kafka-security-protocol", "FORESIGHT_KAFKA_SECURITY_PROTOCOL", "'TLS'",
                            "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL"]),
    (dict(protocol="SSL", cafile="/nowhere/ca.pem"), ["--kafka-ssl-cafile", "FORESIGHT_KAFKA_SSL_CAFILE",
                                                      "'/nowhere/ca.pem'", "does not exist"]),
    (dict(protocol="SSL", check_hostname="maybe"), ["--kafka-ssl-check-hostname", "'maybe'", "true or false"]),
    (dict(protocol="PLAINTEXT", cafile="ca.pem"), ["--kafka-ssl-cafile", "'ca.pem'", "PLAINTEXT", "SSL or SASL_SSL"]),
    (dict(protocol="SASL_SSL"), ["--kafka-sasl-mechanism", "FORESIGHT_KAFKA_SASL_MECHANISM", "PLAIN"]),
    (dict(protocol="SASL_PLAINTEXT", mechanism="GSSAPI"), ["--kafka-sasl-mechanism", "'GSSAPI'", "SCRAM-SHA-256"]),
    (dict(protocol="SASL_PLAINTEXT", mechanism="PLAIN"), ["--kafka-sasl-username", "FORESIGHT_KAFKA_SASL_USERNAME"]),
    (dict(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="u"), [PASSWORD_ENV, "--kafka-sasl-password-file"]),
    (dict(protocol="SASL_PLAINTEXT", mechanism="PLAIN", username="u", password_file="/nowhere/pw"),
     ["--kafka-sasl-password-file", "FORESIGHT_KAFKA_SASL_PASSWORD_FILE", "'/nowhere/pw'"]),
    (dict(protocol="SASL_PLAINTEXT", mechanism="OAUTHBEARER"), ["--kafka-sasl-oauth-token-file"]),
    (dict(protocol="SSL", mechanism="PLAIN"), ["--kafka-sasl-mechanism", "without SASL"]),
])
def test_a_setting_that_cannot_work_is_refused_by_name(kwargs, expected):
    with pytest.raises(KafkaSecurityError) as caught:
        KafkaSecurity.build(**kwargs, environ={})
    for part in expected:
        assert part in str(caught.value)


def test_tls_files_must_be_what_they_claim(pki, tmp_path):
    with pytest.raises(KafkaSecurityError, match=r"--kafka-ssl-cafile .*'.*not-a-cert.pem' is not a PEM CA"):
        KafkaSecurity.build("SSL", cafile=str(pki / "not-a-cert.pem"))
    with pytest.raises(KafkaSecurityError, match="a client key needs its certificate"):
        tls(pki, keyfile=str(pki / "client.key"))
    with pytest.raises(KafkaSecurityError, match="not a PEM certificate and its private key"):
        tls(pki, certfile=str(pki / "client.pem"), keyfile=str(pki / "broker.key"))  # a key of another cert
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(KafkaSecurityError, match=r"FORESIGHT_KAFKA_SASL_PASSWORD_FILE\): '.*empty' is empty"):
        KafkaSecurity.build("SASL_SSL", mechanism="PLAIN", username="u", password_file=str(empty), environ={})
    with pytest.raises(KafkaSecurityError, match="both set"):
        KafkaSecurity.build("SASL_SSL", mechanism="PLAIN", username="u", password_file=str(pki / "ca.pem"),
                            environ={PASSWORD_ENV: "x"})


# -- TLS handshakes ---------------------------------------------------------------------

def test_probe_passes_a_trusted_broker_and_names_what_is_wrong_otherwise(pki):
    broker = TLSTerminator(pki / "broker.pem", pki / "broker.key")
    elsewhere = TLSTerminator(pki / "elsewhere.pem", pki / "elsewhere.key")
    mutual = TLSTerminator(pki / "broker.pem", pki / "broker.key", client_ca=pki / "ca.pem")
    try:
        tls(pki).probe([f"localhost:{broker.port}"])
        assert eventually(lambda: broker.handshakes == 1)
        with pytest.raises(KafkaTLSError, match=r"not accepted .*give the CA that signed it with --kafka-ssl-cafile"):
            KafkaSecurity.build("SSL", cafile=str(pki / "stranger.pem")).probe([f"127.0.0.1:{broker.port}"])
        with pytest.raises(KafkaTLSError, match=r"mismatch.*--kafka-ssl-check-hostname \(env .*\) false"):
            tls(pki).probe([f"127.0.0.1:{elsewhere.port}"])
        tls(pki, check_hostname="false").probe([f"127.0.0.1:{elsewhere.port}"])  # trusted CA, name not checked
        # The first server is down: the next one answers.
        tls(pki, certfile=str(pki / "client.pem"), keyfile=str(pki / "client.key")).probe(
            [f"127.0.0.1:{free_port()}", f"127.0.0.1:{mutual.port}"])
        assert eventually(lambda: mutual.handshakes == 1)
        down = f"127.0.0.1:{free_port()}"
        with pytest.raises(KafkaTLSError, match=rf"{down}: not reachable"):
            tls(pki).probe([down])
    finally:
        for server in (broker, elsewhere, mutual):
            server.close()


@pytest.fixture(scope="module")
def tansu(tmp_path_factory):
    """tansu on a plaintext port, advertising the port a TLSTerminator will take."""
    listen, advertised = free_port(), free_port()
    proc = Process("tansu", [find_binary("tansu"), "broker", "--listener-url", f"tcp://127.0.0.1:{listen}",
                             "--advertised-listener-url", f"tcp://127.0.0.1:{advertised}"],
                   tmp_path_factory.mktemp("tansu"))
    try:
        proc.wait_tcp(listen)
        yield listen, advertised
    finally:
        proc.stop()


@pytest.mark.integration
def test_an_ssl_consumer_on_a_plaintext_listener_fails_clearly_and_soon(tansu):
    listen, _ = tansu
    security = KafkaSecurity.build("SSL", check_hostname="false")
    security = dataclasses.replace(security, handshake_timeout=3.0)
    started = time.monotonic()
    with pytest.raises(KafkaTLSError) as caught:
        KafkaSource(f"127.0.0.1:{listen}", "tls-test", security=security)
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert f"127.0.0.1:{listen}" in message and "plaintext listener" in message and "SSL" in message


@pytest.mark.integration
def test_a_consumer_reads_over_tls_with_the_sidecars_options(pki, tansu):
    listen, advertised = tansu
    terminator = TLSTerminator(pki / "broker.pem", pki / "broker.key", target_port=listen, port=advertised)
    bootstrap = f"localhost:{advertised}"
    security = tls(pki)
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, **security.consumer_options())
        admin.create_topics([NewTopic("otlp_logs", 1, 1)])
        admin.close()
        producer = KafkaProducer(bootstrap_servers=bootstrap, **security.consumer_options())
        for n in range(3):
            producer.send("otlp_logs", f"over tls {n}".encode())
        producer.flush()
        producer.close()
        source = KafkaSource(bootstrap, "tls-test", topics={"logs": "otlp_logs"}, security=security)
        try:
            got, deadline = [], time.monotonic() + 30
            while len(got) < 3 and time.monotonic() < deadline:
                got += source.poll(timeout_ms=500)
        finally:
            source.close()
        assert [message[1] for message in got] == [f"over tls {n}".encode() for n in range(3)]
        assert eventually(lambda: terminator.handshakes >= 2)  # the producer's and the consumer's connections
        with pytest.raises(KafkaTLSError, match="not accepted"):
            KafkaSource(bootstrap, "tls-test", security=KafkaSecurity.build("SSL", cafile=str(pki / "stranger.pem")))
    finally:
        terminator.close()
