// One Kafka record -> one output line, or a reason to skip it.
import type { DescMessage } from "@bufbuild/protobuf";

import { SchemaMismatchError, type Verifier } from "./registry.js";
import { canonicalJson, decodePayload, formatLine, MalformedError, parseFrame } from "./wire.js";

export interface RecordIn {
  topic: string;
  partition: number;
  offset: string;
  value: Uint8Array | null;
}

export type Outcome = { kind: "line"; text: string } | { kind: "skip"; reason: string };

/**
 * Decodes a record's value as `schema`. Bad data (framing, protobuf, schema id
 * of another type) is a "skip"; a registry that cannot be asked rejects (RegistryError).
 */
export async function processRecord(rec: RecordIn, schema: DescMessage, verifier?: Verifier): Promise<Outcome> {
  try {
    const frame = parseFrame(rec.value);
    // The schema id first: a record of another type is reported as such,
    // not as whatever its bytes happen to do to the expected type.
    if (verifier) {
      await verifier.verify(frame.schemaId, frame.messageIndexes, schema.typeName);
    }
    const message = decodePayload(frame.payload, schema);
    let json;
    try {
      json = canonicalJson(schema, message);
    } catch (e) {
      throw new MalformedError(`cannot render ${schema.typeName} as JSON: ${(e as Error).message}`);
    }
    const text = formatLine({
      topic: rec.topic,
      partition: rec.partition,
      offset: rec.offset,
      schemaId: frame.schemaId,
      type: schema.typeName,
      message: json,
    });
    return { kind: "line", text };
  } catch (e) {
    if (e instanceof MalformedError || e instanceof SchemaMismatchError) {
      return { kind: "skip", reason: `skip topic=${rec.topic} partition=${rec.partition} offset=${rec.offset}: ${e.message}` };
    }
    throw e;
  }
}
