// The framing decoder: golden vectors (tests/vectors/txf_v1.json) framed as
// confluent-kafka's ProtobufSerializer frames them, and malformed values.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import type { JsonValue } from "@bufbuild/protobuf";

import { DEFAULT_TOPIC_TYPES, topicTypes } from "../src/types.js";
import { canonicalJson, decode, encodeHeader, formatLine, MalformedError, parseFrame } from "../src/wire.js";

interface Vector {
  name: string;
  type: string;
  hex: string;
  json: JsonValue;
}

const vectorsPath =
  process.env.TXF_VECTORS ?? fileURLToPath(new URL("../../../../tests/vectors/txf_v1.json", import.meta.url));
const vectors: Vector[] = JSON.parse(readFileSync(vectorsPath, "utf-8")).vectors;
const types = topicTypes();
// a topic of each message type, from the topic map
const topicOf: Record<string, string> = Object.fromEntries(Object.entries(DEFAULT_TOPIC_TYPES).map(([t, m]) => [m, t]));
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s.replace(/ /g, ""), "hex"));
const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => Uint8Array.from([...a, ...b]);

test("vector file is not empty", () => {
  assert.ok(vectors.length > 0);
});

for (const v of vectors) {
  for (const indexes of [[0], [2, 1]]) {
    test(`golden vector ${v.name} framed with indexes [${indexes}]`, () => {
      const schema = types.get(topicOf[v.type]);
      assert.ok(schema, `no type for ${v.type}`);
      assert.equal(schema.typeName, v.type);
      const value = concat(encodeHeader(0x01020304, indexes), hex(v.hex));
      const { frame, message } = decode(value, schema);
      assert.equal(frame.schemaId, 0x01020304);
      assert.deepEqual(frame.messageIndexes, indexes);
      assert.deepEqual(canonicalJson(schema, message), v.json);
    });
  }
}

test("bytes exactly as confluent-kafka's ProtobufSerializer wrote them", () => {
  const value = hex("00 00000002 00 0a05 5458464b36"); // schema id 2, Tick{code:"TXFK6"}
  const { frame, message } = decode(value, types.get("txf-tick")!);
  assert.equal(frame.schemaId, 2);
  assert.deepEqual(frame.messageIndexes, [0]);
  assert.deepEqual(canonicalJson(types.get("txf-tick")!, message), { code: "TXFK6" });
  assert.deepEqual(encodeHeader(2), value.subarray(0, 6));
  // [1, 2]: count 2 -> 0x04, 1 -> 0x02, 2 -> 0x04 (zig-zag), as Confluent writes it.
  assert.deepEqual(encodeHeader(9, [1, 2]), hex("00 00000009 04 02 04"));
  assert.deepEqual(parseFrame(hex("00 ffffffff 04 02 04 99")), {
    schemaId: 0xffffffff,
    messageIndexes: [1, 2],
    payload: hex("99"),
  });
});

const malformed: Record<string, string> = {
  empty: "",
  "bad magic (JSON)": "7b22636f6465223a317d",
  "magic byte 1 (GUID form)": "01 00000002 00",
  "only magic": "00",
  "truncated id": "00 000000",
  "no index array": "00 00000002",
  "truncated count varint": "00 00000002 80",
  "negative count": "00 00000002 01",
  "count beyond data": "00 00000002 7e 00",
  "truncated index": "00 00000002 02 80",
  "negative index": "00 00000002 02 03",
  "overlong varint": "00 00000002 ffffffffffffffffffff01",
  "truncated payload": "00 00000002 00 0a05 5458",
  "invalid wire type": "00 00000002 00 0f",
  "invalid utf-8 string": "00 00000002 00 0a02 c328",
};
for (const [name, h] of Object.entries(malformed)) {
  test(`malformed: ${name}`, () => {
    assert.throws(() => decode(hex(h), types.get("txf-tick")!), MalformedError);
  });
}

test("null value (tombstone) is malformed", () => {
  assert.throws(() => parseFrame(null), MalformedError);
});

test("no input makes the decoder throw anything other than MalformedError", () => {
  let seed = 42;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
  for (let i = 0; i < 20000; i++) {
    const len = Math.floor(rnd() * 24);
    const value = Uint8Array.from({ length: len }, (_, j) => (j === 0 && rnd() < 0.8 ? 0 : Math.floor(rnd() * 256)));
    try {
      const { frame } = decode(value, types.get("txf-bidask")!);
      assert.ok(frame.messageIndexes.length > 0 && value.length >= 6);
    } catch (e) {
      assert.ok(e instanceof MalformedError, `${Buffer.from(value).toString("hex")}: ${e}`);
    }
  }
});

test("topic types: defaults, overrides, unknown", () => {
  const t = topicTypes({ "my-topic": "txf.v1.BidAsk", "txf-tick": "txf.v1.BidAsk" });
  assert.equal(t.get("txf-tick")?.typeName, "txf.v1.BidAsk");
  assert.equal(t.get("txfr2-tick")?.typeName, "txf.v1.Tick");
  assert.equal(t.get("txf-bidask")?.typeName, "txf.v1.BidAsk");
  assert.equal(t.get("my-topic")?.typeName, "txf.v1.BidAsk");
  assert.equal(t.get("txf-gaps")?.typeName, "txf.v1.Gap");
  assert.equal(t.get("other"), undefined);
  assert.throws(() => topicTypes({ x: "txf.v1.Nope" }), /known: (txf\.v1\.\w+, )*txf\.v1\.BidAsk, txf\.v1\.Gap, txf\.v1\.Tick/);
  const prefixed = topicTypes({}, ["prod.txf-bidask", "leg-a.txfr2-tick", "x_txf-gaps", "mytxf-tick", "txf-tick.x"]);
  assert.equal(prefixed.get("prod.txf-bidask")?.typeName, "txf.v1.BidAsk");
  assert.equal(prefixed.get("leg-a.txfr2-tick")?.typeName, "txf.v1.Tick");
  assert.equal(prefixed.get("x_txf-gaps")?.typeName, "txf.v1.Gap");
  assert.equal(prefixed.get("mytxf-tick"), undefined);
  assert.equal(prefixed.get("txf-tick.x"), undefined);
});

test("output line: field order, int64 offset, compact JSON", () => {
  const line = formatLine({
    topic: "txf-tick",
    partition: 0,
    offset: "9007199254740993",
    schemaId: 2,
    type: "txf.v1.Tick",
    message: { code: "A<B", close: "7", tickType: "TICK_TYPE_SELL" },
  });
  assert.equal(
    line,
    '{"topic":"txf-tick","partition":0,"offset":9007199254740993,"schemaId":2,"type":"txf.v1.Tick",' +
      '"message":{"code":"A<B","close":"7","tickType":"TICK_TYPE_SELL"}}\n',
  );
  assert.throws(() => formatLine({ topic: "t", partition: 0, offset: "-1", schemaId: 1, type: "x", message: {} }));
});
