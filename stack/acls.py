"""The secured profile's ACLs, derived from the topic map: who may do what to which topic and group.

Literal ACLs on every topic the topic map declares (under a topic prefix, capture legs included),
never a wildcard, so a principal reaches exactly the project's topics:

- the producer (role "producer") writes the topics a producer writes: the data and dead-letter
  topics and the load-test topic, canonical and each capture leg's copy (WRITE implies DESCRIBE;
  an idempotent producer needs no cluster-wide grant since Kafka 2.8, KIP-679), and reads its
  quote topics back (`txf-producer respool` skips what they hold already);
- a consumer (role "consumer") reads every declared topic and uses consumer groups whose names
  start with its own name (READ on a PREFIXED group pattern): it cannot write, create or configure;
- the arbiter (role "arbiter") reads the legs' quote topics and the canonical ones (it rebuilds its
  memory from their tail on takeover), writes the canonical quote topics, the gap ledger and the
  dead letters, and uses the groups that start with its group's name (txf_arbiter's default);
- the archiver (role "archiver", `txf-archive run` and `txf-archive bars`) reads every topic with a
  txf.v1 message, writes the bars topic through its transactional id and uses the groups that start
  with the archive's group name (txf_archive's defaults; the bar builder's group starts with it too);
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


def declared_topics(topic_prefix: str = "") -> list[tuple[str, str, bool]]:
    """(topic name, role, a capture leg's copy?) of every topic the topic map declares under
    `topic_prefix`, capture legs included."""
    from txf_kit.topicmap import load_capture, load_topic_map

    entries = load_topic_map()
    capture = load_capture()
    topics = [(topic_prefix + e.name, e.role, False) for e in entries]
    topics += [
        (topic_prefix + capture.prefix_of(leg) + e.name, e.role, True)
        for leg in capture.legs
        for e in entries
        if capture.carries(e)
    ]
    return topics


def _messages_of(topic_prefix: str) -> set[str]:
    """The topics that carry a txf.v1 message (what the archiver reads)."""
    from txf_kit.topicmap import load_topic_map

    return {topic_prefix + e.name for e in load_topic_map() if e.message}


def _topic_ops(role: str, topic: str, topic_role: str, leg_copy: bool, archived: set[str]) -> tuple[AclOperation, ...]:
    """What a principal of `role` may do to one declared topic."""
    if role == "producer":  # and reads back its quote topics: `respool` skips what they hold already
        if topic_role in WRITTEN:
            return (AclOperation.WRITE, AclOperation.READ) if topic_role == "data" else (AclOperation.WRITE,)
        return ()
    if role == "arbiter":
        if topic_role == "data":
            return (AclOperation.READ,) if leg_copy else (AclOperation.READ, AclOperation.WRITE)
        return (AclOperation.WRITE,) if topic_role in ("ledger", "dead_letter") and not leg_copy else ()
    if role == "archiver":
        ops = (AclOperation.READ,) if topic in archived else ()
        return ops + (AclOperation.WRITE,) if topic_role == "derived" else ops
    return TOPIC_OPS.get(role, ())


def group_prefixes(role: str, name: str, topic_prefix: str) -> list[str]:
    """The consumer-group (and transactional-id) name prefixes a principal may use."""
    if role == "consumer":
        return [name]
    if role == "arbiter":
        from txf_arbiter.settings import ArbiterSettings

        return [topic_prefix + str(ArbiterSettings.model_fields["arbiter_group"].default)]
    if role == "archiver":
        from txf_archive.settings import ArchiveSettings

        return [topic_prefix + str(ArchiveSettings.model_fields["archive_group"].default)]
    return []


def bindings(topic_prefix: str = "") -> list[AclBinding]:
    """Every ALLOW binding the secured profile needs for the topics under `topic_prefix`."""
    out: list[AclBinding] = []
    topics = declared_topics(topic_prefix)
    archived = _messages_of(topic_prefix)
    for p in PRINCIPALS:
        who = f"User:{p.name}"
        for topic, role, leg_copy in topics:
            for op in _topic_ops(p.role, topic, role, leg_copy, archived):
                out.append(_allow(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, who, op))
        for group in group_prefixes(p.role, p.name, topic_prefix):
            out.append(_allow(ResourceType.GROUP, group, ResourcePatternType.PREFIXED, who, AclOperation.READ))
        if p.role == "archiver":  # the bar builder's transactional id is its group's name
            from txf_archive.settings import ArchiveSettings

            tx = topic_prefix + str(ArchiveSettings.model_fields["bars_group"].default)
            out.append(_allow(ResourceType.TRANSACTIONAL_ID, tx, ResourcePatternType.LITERAL, who, AclOperation.WRITE))
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
