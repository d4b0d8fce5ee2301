// Which message type a topic carries.
import type { DescMessage } from "@bufbuild/protobuf";
import * as contracts from "@txfstream/txf-contracts";

import { TOPIC_MESSAGES } from "./topicmap.gen.js";

/** The txf message types this program can decode, by full name: every message the contract package exports. */
export const KNOWN_TYPES: ReadonlyMap<string, DescMessage> = new Map<string, DescMessage>(
  (Object.values(contracts) as unknown[])
    .filter((x): x is DescMessage => typeof x === "object" && x !== null && (x as DescMessage).kind === "message")
    .map((m) => [m.typeName, m]),
);

/** The topic map's topics and their messages (kit/txf_kit/subjects.toml, via `make gen`). */
export const DEFAULT_TOPIC_TYPES: Readonly<Record<string, string>> = TOPIC_MESSAGES;

/** The topic-map topic `topic` is a copy of after a prefix ending in '.', '-' or '_' (prod.txf-tick). */
function baseTopic(topic: string): string | undefined {
  return Object.keys(DEFAULT_TOPIC_TYPES).find(
    (name) => topic.length > name.length && topic.endsWith(name) && ".-_".includes(topic[topic.length - name.length - 1]),
  );
}

/**
 * DEFAULT_TOPIC_TYPES plus overrides (topic -> full message name), plus each of `topics` that is a
 * topic-map topic under a prefix; throws on an unknown type.
 */
export function topicTypes(
  overrides: Readonly<Record<string, string>> = {},
  topics: readonly string[] = [],
): Map<string, DescMessage> {
  const names: Record<string, string> = { ...DEFAULT_TOPIC_TYPES, ...overrides };
  for (const topic of topics) {
    const base = names[topic] === undefined ? baseTopic(topic) : undefined;
    if (base !== undefined) {
      names[topic] = names[base];
    }
  }
  const out = new Map<string, DescMessage>();
  for (const [topic, name] of Object.entries(names)) {
    const schema = KNOWN_TYPES.get(name);
    if (!schema) {
      throw new Error(`topic ${topic}: unknown message type "${name}" (known: ${[...KNOWN_TYPES.keys()].sort().join(", ")})`);
    }
    out.set(topic, schema);
  }
  return out;
}
