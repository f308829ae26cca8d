"""TLS and SASL settings of the Kafka consumer, checked before the sidecar starts.

Every value comes from a `foresight run` flag or its FORESIGHT_KAFKA_* env var; an error
names both and the value. The SASL password is read only from the env var
FORESIGHT_KAFKA_SASL_PASSWORD or a file, never from a flag (a flag shows in `ps`), and
the dataclass's repr leaves it out, so it never reaches a log line.
"""
import os
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from kafka.net.sasl.oauth import AbstractTokenProvider

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
PASSWORD_ENV = "FORESIGHT_KAFKA_SASL_PASSWORD"
PROBE_TIMEOUT = 10.0  # seconds a TLS handshake may take before the listener is taken for plaintext

# field -> (flag, env var): how errors name a setting.
SOURCES = {
    "protocol": ("--kafka-security-protocol", "FORESIGHT_KAFKA_SECURITY_PROTOCOL"),
    "cafile": ("--kafka-ssl-cafile", "FORESIGHT_KAFKA_SSL_CAFILE"),
    "certfile": ("--kafka-ssl-certfile", "FORESIGHT_KAFKA_SSL_CERTFILE"),
    "keyfile": ("--kafka-ssl-keyfile", "FORESIGHT_KAFKA_SSL_KEYFILE"),
    "check_hostname": ("--kafka-ssl-check-hostname", "FORESIGHT_KAFKA_SSL_CHECK_HOSTNAME"),
    "mechanism": ("--kafka-sasl-mechanism", "FORESIGHT_KAFKA_SASL_MECHANISM"),
    "username": ("--kafka-sasl-username", "FORESIGHT_KAFKA_SASL_USERNAME"),
    "password_file": ("--kafka-sasl-password-file", "FORESIGHT_KAFKA_SASL_PASSWORD_FILE"),
    "oauth_token_file": ("--kafka-sasl-oauth-token-file", "FORESIGHT_KAFKA_SASL_OAUTH_TOKEN_FILE"),
}


class KafkaSecurityError(ValueError):
    """A TLS or SASL setting that cannot work; the message names the flag, env var and value."""


class KafkaTLSError(ConnectionError):
    """No TLS handshake with any bootstrap server; the message says why for each."""


def named(name: str) -> str:
    flag, env = SOURCES[name]
    return f"{flag} (env {env})"


def parse_bool(name: str, text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off"):
        return False
    raise KafkaSecurityError(f"{named(name)}: {text!r} is not true or false")


class FileTokenProvider(AbstractTokenProvider):
    """OAUTHBEARER token read from a file at every connection, so a rotated token is picked up."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path

    def token(self) -> str:
        return Path(self.path).read_text().strip()


@dataclass(frozen=True)
class KafkaSecurity:
    protocol: str = "PLAINTEXT"
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""
    check_hostname: bool = True
    mechanism: str = ""
    username: str = ""
    password: str = field(default="", repr=False)  # from env or password_file only; never printed
    password_file: str = ""
    oauth_token_file: str = ""
    handshake_timeout: float = PROBE_TIMEOUT  # seconds; see probe

    @classmethod
    def build(cls, protocol: str = "PLAINTEXT", cafile: str = "", certfile: str = "", keyfile: str = "",
              check_hostname: str | bool = True, mechanism: str = "", username: str = "", password_file: str = "",
              oauth_token_file: str = "", environ=None) -> "KafkaSecurity":
        """Settings from flag values (strings as given); the password from `password_file` or the
        env var FORESIGHT_KAFKA_SASL_PASSWORD. KafkaSecurityError on anything that cannot work."""
        environ = os.environ if environ is None else environ
        wanted = protocol.strip().upper()
        if wanted not in PROTOCOLS:
            raise KafkaSecurityError(f"{named('protocol')}: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if isinstance(check_hostname, str):
            check_hostname = parse_bool("check_hostname", check_hostname)
        password = environ.get(PASSWORD_ENV, "")
        if password_file:
            if password:
                raise KafkaSecurityError(f"{named('password_file')} and {PASSWORD_ENV} are both set: give one")
            password = _read_secret("password_file", password_file)
        security = cls(protocol=wanted, cafile=cafile, certfile=certfile, keyfile=keyfile,
                       check_hostname=check_hostname, mechanism=mechanism.strip().upper(), username=username,
                       password=password, password_file=password_file, oauth_token_file=oauth_token_file)
        security.check()
        return security

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def check(self):
        """Rules across fields, and the files: each present, readable and of the right kind."""
        tls_files = [name for name in ("cafile", "certfile", "keyfile") if getattr(self, name)]
        if tls_files and not self.tls:
            raise KafkaSecurityError(f"{named(tls_files[0])} is set to {getattr(self, tls_files[0])!r} but "
                                     f"{named('protocol')} is {self.protocol}, without TLS: use SSL or SASL_SSL")
        if self.tls:
            self._check_tls_files()
        if self.sasl:
            self._check_sasl()
        else:
            given = [name for name in ("mechanism", "username", "password_file", "oauth_token_file")
                     if getattr(self, name)]
            if given:
                raise KafkaSecurityError(f"{named(given[0])} is set but {named('protocol')} is {self.protocol}, "
                                         f"without SASL: use SASL_PLAINTEXT or SASL_SSL")

    def _check_tls_files(self):
        context = ssl.create_default_context()
        if self.cafile:
            _require_file("cafile", self.cafile)
            try:
                context.load_verify_locations(cafile=self.cafile)
            except ssl.SSLError as exc:
                raise KafkaSecurityError(f"{named('cafile')}: {self.cafile!r} is not a PEM CA certificate "
                                         f"({exc.reason or exc})") from None
        if self.keyfile and not self.certfile:
            raise KafkaSecurityError(f"{named('keyfile')} is set to {self.keyfile!r} without "
                                     f"{named('certfile')}: a client key needs its certificate")
        if self.certfile:
            _require_file("certfile", self.certfile)
            if self.keyfile:
                _require_file("keyfile", self.keyfile)
            try:
                context.load_cert_chain(self.certfile, self.keyfile or None)
            except ssl.SSLError as exc:
                raise KafkaSecurityError(
                    f"{named('certfile')} {self.certfile!r} with {named('keyfile')} {self.keyfile or '(none)'!r}: "
                    f"not a PEM certificate and its private key ({exc.reason or exc})") from None

    def _check_sasl(self):
        if not self.mechanism:
            raise KafkaSecurityError(f"{named('protocol')} is {self.protocol}: set {named('mechanism')} to one of "
                                     f"{', '.join(MECHANISMS)}")
        if self.mechanism not in MECHANISMS:
            raise KafkaSecurityError(f"{named('mechanism')}: {self.mechanism!r} is not one of {', '.join(MECHANISMS)}")
        if self.mechanism == "OAUTHBEARER":
            if not self.oauth_token_file:
                raise KafkaSecurityError(f"{named('mechanism')} is OAUTHBEARER: set {named('oauth_token_file')}")
            _read_secret("oauth_token_file", self.oauth_token_file)
            return
        if not self.username:
            raise KafkaSecurityError(f"{named('mechanism')} is {self.mechanism}: set {named('username')}")
        if not self.password:
            raise KafkaSecurityError(f"{named('mechanism')} is {self.mechanism}: set the password in the env var "
                                     f"{PASSWORD_ENV} or a file named by {named('password_file')}")

    def consumer_options(self) -> dict:
        """kafka-python KafkaConsumer keyword arguments for these settings."""
        options: dict = {"security_protocol": self.protocol}
        if self.tls:
            options["ssl_check_hostname"] = self.check_hostname
            for name in ("cafile", "certfile", "keyfile"):
                if getattr(self, name):
                    options[f"ssl_{name}"] = getattr(self, name)
        if self.sasl:
            options["sasl_mechanism"] = self.mechanism
            if self.mechanism == "OAUTHBEARER":
                options["sasl_oauth_token_provider"] = FileTokenProvider(self.oauth_token_file)
            else:
                options["sasl_plain_username"] = self.username
                options["sasl_plain_password"] = self.password
        return options

    def describe(self) -> str:
        """For the log: the protocol, mechanism and user, never the password."""
        parts = [self.protocol]
        if self.sasl:
            parts.append(f"{self.mechanism}" + (f" as {self.username}" if self.username else ""))
        return ", ".join(parts)

    def probe(self, servers: list[str], timeout: float | None = None):
        """With TLS on: a TLS handshake with the bootstrap servers, in turn, until one answers.

        kafka-python's own handshake waits without a deadline, so a plaintext listener would
        hang the consumer's start; this fails instead, with KafkaTLSError saying why."""
        if not self.tls:
            return
        timeout = self.handshake_timeout if timeout is None else timeout
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # as kafka-python builds it
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.check_hostname = self.check_hostname
        if self.cafile:
            context.load_verify_locations(cafile=self.cafile)
        else:
            context.load_default_certs()
        if self.certfile:
            context.load_cert_chain(self.certfile, self.keyfile or None)
        failures = []
        for server in servers:
            host, _, port = server.strip().rpartition(":")
            host = host.strip("[]")  # [::1]:9093
            try:
                raw = socket.create_connection((host, int(port)), timeout=timeout)
            except (OSError, ValueError) as exc:
                failures.append(f"{server}: not reachable ({exc})")
                continue
            try:
                with context.wrap_socket(raw, server_hostname=host):
                    return  # the handshake is done when wrap_socket returns
            except ssl.SSLCertVerificationError as exc:
                if "mismatch" in str(exc.verify_message):  # trusted, but made out to another name
                    hint = f"connect by a name the certificate holds, or set {named('check_hostname')} false"
                else:
                    hint = f"give the CA that signed it with {named('cafile')}"
                failures.append(f"{server}: its certificate is not accepted ({exc.verify_message}); {hint}")
            except (socket.timeout, TimeoutError):
                failures.append(f"{server}: no TLS answer within {timeout:g}s; is it a plaintext listener? "
                                f"{named('protocol')} is {self.protocol}")
            except (ssl.SSLError, OSError) as exc:
                reason = getattr(exc, "reason", None) or exc
                failures.append(f"{server}: TLS handshake failed ({reason}); is it a plaintext listener, or does "
                                f"it want a client certificate ({named('certfile')})? {named('protocol')} is "
                                f"{self.protocol}")
            finally:
                raw.close()
        raise KafkaTLSError("Kafka over TLS: " + "; ".join(failures))


def _require_file(name: str, path: str):
    if not Path(path).is_file():
        raise KafkaSecurityError(f"{named(name)}: {path!r} does not exist or is not a file")
    if not os.access(path, os.R_OK):
        raise KafkaSecurityError(f"{named(name)}: {path!r} is not readable")


def _read_secret(name: str, path: str) -> str:
    _require_file(name, path)
    try:
        text = Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise KafkaSecurityError(f"{named(name)}: cannot read {path!r} ({exc})") from None
    if not text:
        raise KafkaSecurityError(f"{named(name)}: {path!r} is empty")
    return text
