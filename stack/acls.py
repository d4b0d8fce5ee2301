"""The secured profile's ACLs, derived from the topic map: who may do what to which topic and group.

Literal ACLs on every topic the topic map declares (under a topic prefix, capture legs included),
never a wildcard, so a principal reaches exactly the project's topics:

- the producer (role "producer") writes the topics a producer writes: the data and dead-letter
  topics and the load-test topic, canonical and each capture leg's copy (WRITE implies DESCRIBE;
  an idempotent producer needs no cluster-wide grant since Kafka 2.8, KIP-679);
- a consumer (role "consumer") reads every declared topic and uses consumer groups whose names
  start with its own name (READ on a PREFIXED group pattern): it cannot write, create or configure;
- the registration job (role "registrar", `txf-registry register --topics` / `topics`) creates
  the declared topics and reads and changes their configuration; nobody else may.

The broker's own principal is a super user (stack/secure.py) and needs no ACL.
"""

from __future__ import annotations

from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from stack.config import StackConfig
from stack.secure import BROKER_USER, PRINCIPALS, client_config

#: topic-map roles whose topics a producer writes
WRITTEN = ("data", "dead_letter", "load_test")
TOPIC_OPS = {
    "producer": (AclOperation.WRITE,),
    "consumer": (AclOperation.READ,),
    "registrar": (
        AclOperation.CREATE,
        AclOperation.DESCRIBE,
        AclOperation.DESCRIBE_CONFIGS,
        AclOperation.ALTER_CONFIGS,
    ),
}


def declared_topics(topic_prefix: str = "") -> list[tuple[str, str]]:
    """(topic name, role) of every topic the topic map declares under `topic_prefix`, capture legs included."""
    from txf_registry.topicmap import load_capture, load_topic_map

    entries = load_topic_map()
    capture = load_capture()
    topics = [(topic_prefix + e.name, e.role) for e in entries]
    topics += [
        (topic_prefix + capture.prefix_of(leg) + e.name, e.role)
        for leg in capture.legs
        for e in entries
        if capture.carries(e)
    ]
    return topics


def bindings(topic_prefix: str = "") -> list[AclBinding]:
    """Every ALLOW binding the secured profile needs for the topics under `topic_prefix`."""
    out: list[AclBinding] = []
    topics = declared_topics(topic_prefix)
    for p in PRINCIPALS:
        who = f"User:{p.name}"
        for topic, role in topics:
            if p.role == "producer" and role not in WRITTEN:
                continue
            for op in TOPIC_OPS.get(p.role, ()):
                out.append(_allow(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, who, op))
        if p.role == "consumer":
            out.append(_allow(ResourceType.GROUP, p.name, ResourcePatternType.PREFIXED, who, AclOperation.READ))
    return out


def _allow(kind: ResourceType, name: str, pattern: ResourcePatternType, who: str, op: AclOperation) -> AclBinding:
    return AclBinding(kind, name, pattern, who, "*", op, AclPermissionType.ALLOW)


def grant(cfg: StackConfig, topic_prefix: str = "", timeout: float = 30.0) -> int:
    """Create the bindings for `topic_prefix` on the secured broker (as its super user); returns how many.
    Idempotent: an ACL that exists already is left as it is."""
    admin = AdminClient(client_config(cfg, BROKER_USER))
    wanted = bindings(topic_prefix)
    for future in admin.create_acls(wanted, request_timeout=timeout).values():
        future.result(timeout=timeout)
    return len(wanted)
