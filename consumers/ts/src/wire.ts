// Decodes Kafka record values in the Confluent Schema Registry wire format
// for protobuf, exactly as confluent-kafka's ProtobufSerializer writes them:
//
//   0x00 | schema id (uint32, big-endian) | message-index array | protobuf bytes
//
// The message-index array is a zig-zag varint count followed by that many
// zig-zag varint indexes (the message's path inside the schema file); the
// common case [0] is abbreviated to the single byte 0x00.
//
// Why hand-written instead of @confluentinc/schemaregistry's
// ProtobufDeserializer: it always fetches the writer schema with
// GET /schemas/ids/{id}?format=serialized, which Apicurio 3.3.3 answers with
// HTTP 500 for the schemas confluent-kafka registers (base64
// FileDescriptorProto), so every record fails with RestError
// "Syntax error in Tick.proto:1:1: unexpected label: ChF0eGYv...".
// (It also pulls in ~175 packages, 173 MB: the AWS, Azure, GCP and Vault KMS
// clients of its encryption rules.) Decoding into the generated schemas needs
// no registry at all; the framing is the few lines below.
import { fromBinary, toJson, type DescMessage, type JsonValue, type Message } from "@bufbuild/protobuf";

export const MAGIC_BYTE = 0x00;

/** A value that is not a well-formed framed message: skip the record. */
export class MalformedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MalformedError";
  }
}

export interface Frame {
  schemaId: number;
  /** Never empty: the abbreviated form 0x00 means [0]. */
  messageIndexes: number[];
  /** The protobuf bytes (a view of the input). */
  payload: Uint8Array;
}

/** Reads one zig-zag varint (Go's binary.Varint, Java's ByteUtils.readVarint). */
function readZigZag(buf: Uint8Array, pos: number, what: string): [value: bigint, next: number] {
  let raw = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= buf.length) {
      throw new MalformedError(`truncated ${what}`);
    }
    const b = buf[pos + i];
    if (i === 9 && b > 1) {
      throw new MalformedError(`${what} overflows 64 bits`);
    }
    raw |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (b < 0x80) {
      return [(raw >> 1n) ^ -(raw & 1n), pos + i + 1];
    }
  }
  throw new MalformedError(`${what} overflows 64 bits`);
}

/** Splits a record value into schema id, message indexes and payload; throws MalformedError. */
export function parseFrame(value: Uint8Array | null | undefined): Frame {
  if (!value || value.length === 0) {
    throw new MalformedError("empty value (tombstone?)");
  }
  if (value[0] !== MAGIC_BYTE) {
    throw new MalformedError(`magic byte 0x${value[0].toString(16).padStart(2, "0")}, want 0x00`);
  }
  if (value.length < 5) {
    throw new MalformedError(`truncated schema id: ${value.length} bytes, want at least 5`);
  }
  const schemaId = new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(1, false);
  let [count, pos] = readZigZag(value, 5, "message-index count");
  if (count === 0n) {
    return { schemaId, messageIndexes: [0], payload: value.subarray(pos) };
  }
  // Every index takes at least one byte, which bounds the allocation.
  if (count < 0n || count > BigInt(value.length - pos)) {
    throw new MalformedError(`message-index count ${count} with ${value.length - pos} bytes left`);
  }
  const messageIndexes: number[] = [];
  for (let i = 0n; i < count; i++) {
    const [idx, next] = readZigZag(value, pos, `message index ${i + 1n} of ${count}`);
    if (idx < 0n || idx > 0x7fffffffn) {
      throw new MalformedError(`message index ${idx} out of range`);
    }
    messageIndexes.push(Number(idx));
    pos = next;
  }
  return { schemaId, messageIndexes, payload: value.subarray(pos) };
}

/** The header ProtobufSerializer writes before a message (for tests and producers). */
export function encodeHeader(schemaId: number, messageIndexes: number[] = [0]): Uint8Array {
  const out = [MAGIC_BYTE, (schemaId >>> 24) & 0xff, (schemaId >>> 16) & 0xff, (schemaId >>> 8) & 0xff, schemaId & 0xff];
  const zigzag = (n: number): void => {
    let v = BigInt(n) >= 0n ? BigInt(n) << 1n : (-BigInt(n) << 1n) - 1n;
    while (v >= 0x80n) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
  };
  if (messageIndexes.length === 0 || (messageIndexes.length === 1 && messageIndexes[0] === 0)) {
    out.push(0);
  } else {
    zigzag(messageIndexes.length);
    messageIndexes.forEach(zigzag);
  }
  return Uint8Array.from(out);
}

export interface Decoded {
  frame: Frame;
  message: Message;
}

/** Parses the frame and the payload as a message of `schema`; throws MalformedError. */
export function decode(value: Uint8Array | null | undefined, schema: DescMessage): Decoded {
  const frame = parseFrame(value);
  return { frame, message: decodePayload(frame.payload, schema) };
}

/** Decodes a frame's payload as a message of `schema`; throws MalformedError. */
export function decodePayload(payload: Uint8Array, schema: DescMessage): Message {
  try {
    return fromBinary(schema, payload);
  } catch (e) {
    throw new MalformedError(`invalid ${schema.typeName} payload: ${(e as Error).message}`);
  }
}

/** Proto3 canonical JSON: lowerCamelCase names, 64-bit integers as strings, enums by name, defaults omitted. */
export function canonicalJson(schema: DescMessage, message: Message): JsonValue {
  return toJson(schema, message);
}

export interface Line {
  topic: string;
  partition: number;
  /** Kafka offsets are int64: kept as the decimal string KafkaJS gives, written as a JSON number. */
  offset: string;
  schemaId: number;
  type: string;
  message: JsonValue;
}

/** One output line, with its newline: {"topic":..,"partition":..,"offset":..,"schemaId":..,"type":..,"message":{..}} */
export function formatLine(l: Line): string {
  if (!/^(0|[1-9][0-9]*)$/.test(l.offset)) {
    throw new Error(`offset ${JSON.stringify(l.offset)} is not a non-negative integer`);
  }
  return (
    `{"topic":${JSON.stringify(l.topic)},"partition":${l.partition},"offset":${l.offset},` +
    `"schemaId":${l.schemaId},"type":${JSON.stringify(l.type)},"message":${JSON.stringify(l.message)}}\n`
  );
}
