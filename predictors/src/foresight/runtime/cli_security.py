"""The Kafka TLS and SASL flags of `foresight run` and `foresight check`, and the warnings
about telemetry or credentials sent in clear to another host."""
import ipaddress
import os
from pathlib import Path
from urllib.parse import urlparse

import yaml

from foresight.config import ConfigError, Fields
from foresight.feedback import FeedbackSettings
from foresight.sources.kafka_security import PASSWORD_ENV, PROTOCOLS, SOURCES, KafkaSecurity

TRUSTED_ENV = "FORESIGHT_TRUSTED_NETWORK"
_HELP = {
    "protocol": f"how to talk to Kafka: {', '.join(PROTOCOLS)} (default PLAINTEXT)",
    "cafile": "PEM file of the CA that signed the brokers' certificates (default: the system's CAs)",
    "certfile": "PEM client certificate, for brokers that ask for one (mutual TLS)",
    "keyfile": "PEM private key of --kafka-ssl-certfile, if not in that file",
    "check_hostname": "check that a broker's certificate names the host connected to: true or false (default true)",
    "mechanism": "SASL mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
    "username": "SASL user name for PLAIN and SCRAM",
    "password_file": f"file holding the SASL password (or set the env var {PASSWORD_ENV}; there is no password flag)",
    "oauth_token_file": "file holding the OAUTHBEARER token, read again at every connection",
}


def add_kafka_security_arguments(parser):
    """One flag per KafkaSecurity field, each falling back to its FORESIGHT_KAFKA_* env var.
    No value is shown in --help: a default may come from the environment."""
    group = parser.add_argument_group("Kafka TLS and SASL (README: Security)")
    for name, (flag, env) in SOURCES.items():
        group.add_argument(flag, dest=f"kafka_{name}", default=os.environ.get(env, ""), metavar="VALUE",
                           help=f"{_HELP[name]} (env {env})")


def add_trusted_network_argument(parser):
    parser.add_argument("--trusted-network", action="store_true",
                        default=os.environ.get(TRUSTED_ENV, "").strip().lower() in ("1", "true", "yes", "on"),
                        help="the network to Kafka and Grafana is private (as compose's own network is): no "
                             f"warning about plaintext connections to other hosts (env {TRUSTED_ENV}=true)")


def kafka_security_from_args(args) -> KafkaSecurity:
    """KafkaSecurityError (a ValueError naming the flag, env var and value) when a setting cannot work."""
    values = {name: getattr(args, f"kafka_{name}") for name in SOURCES}
    values["protocol"] = values["protocol"] or "PLAINTEXT"
    values["check_hostname"] = values["check_hostname"] or "true"
    return KafkaSecurity.build(**values)


def is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: not resolved here, so it counts as another host


def plaintext_warnings(bootstrap: str, security: KafkaSecurity, grafana_url: str = "",
                       trusted: bool = False) -> list[str]:
    """One line per connection to another host without TLS: Kafka brokers, and Grafana (which
    gets the feedback loop's API token). None when the network is declared trusted."""
    warnings = []
    if trusted:
        return warnings
    if not security.tls:
        remote = [s.strip() for s in bootstrap.split(",") if s.strip() and not is_loopback(s.strip().rpartition(":")[0])]
        if remote:
            what = "telemetry and the SASL password" if security.sasl and security.mechanism == "PLAIN" else "telemetry"
            warnings.append(f"Kafka at {', '.join(remote)} with security_protocol {security.protocol}: {what} "
                            f"cross the network unencrypted; use SSL or SASL_SSL (--kafka-security-protocol)")
    if grafana_url:
        url = urlparse(grafana_url)
        if url.scheme == "http" and url.hostname and not is_loopback(url.hostname):
            warnings.append(f"Grafana at {grafana_url} over http: the feedback loop's API token and annotations "
                            f"cross the network unencrypted; use an https:// grafana_url")
    if warnings:
        warnings.append(f"if this network is private (e.g. compose's own), say so with --trusted-network "
                        f"(env {TRUSTED_ENV}=true) to silence these warnings")
    return warnings


def read_feedback(path: str):
    """FeedbackSettings from the --feedback file, None without one; ConfigError naming the file."""
    if not path:
        return None
    try:
        return FeedbackSettings.read(Fields(yaml.safe_load(Path(path).read_text()), path, FeedbackSettings.block))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(path, "", str(exc)) from None
