// Which message type a topic carries.
import type { DescMessage } from "@bufbuild/protobuf";
import { BidAskSchema, TickSchema } from "@txfstream/txf-contracts";

/** The txf message types this program can decode, by full name. */
export const KNOWN_TYPES: ReadonlyMap<string, DescMessage> = new Map<string, DescMessage>([
  [BidAskSchema.typeName, BidAskSchema],
  [TickSchema.typeName, TickSchema],
]);

/** The contract's topics (schema-registry/subjects.toml). */
export const DEFAULT_TOPIC_TYPES: Readonly<Record<string, string>> = {
  "txf-tick": "txf.v1.Tick",
  "txfr2-tick": "txf.v1.Tick",
  "txf-bidask": "txf.v1.BidAsk",
};

/** DEFAULT_TOPIC_TYPES plus overrides (topic -> full message name); throws on an unknown type. */
export function topicTypes(overrides: Readonly<Record<string, string>> = {}): Map<string, DescMessage> {
  const out = new Map<string, DescMessage>();
  for (const [topic, name] of Object.entries({ ...DEFAULT_TOPIC_TYPES, ...overrides })) {
    const schema = KNOWN_TYPES.get(name);
    if (!schema) {
      throw new Error(`topic ${topic}: unknown message type "${name}" (known: ${[...KNOWN_TYPES.keys()].sort().join(", ")})`);
    }
    out.set(topic, schema);
  }
  return out;
}
