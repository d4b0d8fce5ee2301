// Golden-vector test of the TypeScript binding: every vector in
// tests/vectors/txf_v1.json decodes to its canonical JSON and re-encodes to
// the same bytes.
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from "@bufbuild/protobuf";

import * as txf from "../src/index.js";

interface Vector {
  name: string;
  type: string;
  hex: string;
  json: JsonValue;
}

const vectorsPath =
  process.env.TXF_VECTORS ?? fileURLToPath(new URL("../../../../tests/vectors/txf_v1.json", import.meta.url));
const vectors: Vector[] = JSON.parse(readFileSync(vectorsPath, "utf-8")).vectors;
// Every message schema the package exports, by full name: a message added to the contract needs no change here.
const schemas: Record<string, DescMessage> = Object.fromEntries(
  (Object.values(txf) as unknown[])
    .filter((x): x is DescMessage => typeof x === "object" && x !== null && (x as DescMessage).kind === "message")
    .map((m) => [m.typeName, m]),
);

test("vector file is not empty", () => {
  assert.ok(vectors.length > 0);
});

for (const v of vectors) {
  test(`golden vector ${v.name}`, () => {
    const schema = schemas[v.type];
    assert.ok(schema, `unknown message type ${v.type}`);
    const raw = Buffer.from(v.hex, "hex");
    const msg = fromBinary(schema, raw);
    assert.deepEqual(toJson(schema, msg), v.json);
    assert.equal(Buffer.from(toBinary(schema, msg)).toString("hex"), v.hex);
    const parsed = fromJson(schema, v.json);
    assert.equal(Buffer.from(toBinary(schema, parsed)).toString("hex"), v.hex);
  });
}
