// Another team's check of the installed npm package @txfstream/txf-contracts (from a release's
// dist/npm tarball): every golden vector decodes to its canonical JSON and re-encodes to the same
// bytes, through the package's public entry point only. Prints {"version", "tickFields"} as JSON.
// Usage: node check.mjs <vectors.json>   (run where the tarball was `npm install`ed)
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";

import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import * as contracts from "@txfstream/txf-contracts";

const { TickSchema } = contracts;
// every message schema the package exports, by full name
const schemas = Object.fromEntries(
  Object.values(contracts).filter((x) => x && x.kind === "message").map((m) => [m.typeName, m]),
);
const vectors = JSON.parse(readFileSync(process.argv[2], "utf-8")).vectors;
assert.ok(vectors.length > 0, "no vectors");
for (const v of vectors) {
  const schema = schemas[v.type];
  assert.ok(schema, `unknown type ${v.type}`);
  const msg = fromBinary(schema, Buffer.from(v.hex, "hex"));
  assert.deepEqual(toJson(schema, msg), v.json, v.name);
  assert.equal(Buffer.from(toBinary(schema, msg)).toString("hex"), v.hex, v.name);
  assert.equal(Buffer.from(toBinary(schema, fromJson(schema, v.json))).toString("hex"), v.hex, v.name);
}
const pkg = JSON.parse(readFileSync("node_modules/@txfstream/txf-contracts/package.json", "utf-8"));
console.log(JSON.stringify({ version: pkg.version, vectors: vectors.length,
                             tickFields: TickSchema.fields.map((f) => f.name) }));
