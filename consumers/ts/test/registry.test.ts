// Schema-id verification against a fake registry answering like Apicurio 3.3.3 and like Confluent.
import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";

import { create, toBinary } from "@bufbuild/protobuf";
import { DescriptorProtoSchema, FileDescriptorProtoSchema, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";
import { BidAskSchema, TickSchema } from "@txfstream/txf-contracts";

import { messageName, RegistryError, SchemaMismatchError, Verifier } from "../src/registry.js";
import { processRecord } from "../src/record.js";
import { encodeHeader } from "../src/wire.js";

const b64 = (fd: FileDescriptorProto): string => Buffer.from(toBinary(FileDescriptorProtoSchema, fd)).toString("base64");
const tick = b64(TickSchema.file.proto);
const bidask = b64(BidAskSchema.file.proto);

let server: Server;
let base = "";
let requests = 0;

before(async () => {
  server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? "/", "http://x");
    const serialized = url.searchParams.get("format") === "serialized";
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    switch (url.pathname) {
      case "/api/schemas/ids/2":
        return send(200, {
          schema: tick,
          schemaType: "PROTOBUF",
          references: [{ name: "txf/v1/common.proto", subject: "txf/v1/common.proto", version: 1 }],
        });
      case "/api/schemas/ids/3":
        return send(200, { schema: bidask, schemaType: "PROTOBUF" });
      case "/api/schemas/ids/4":
        return send(200, { schema: '{"type":"string"}', schemaType: "AVRO" });
      case "/api/schemas/ids/5":
        return serialized
          ? send(200, { schema: tick, schemaType: "PROTOBUF" })
          : send(200, { schema: 'syntax = "proto3";\npackage txf.v1;\nmessage Tick {}\n', schemaType: "PROTOBUF" });
      case "/api/schemas/ids/6":
        return send(500, { error_code: 50001, message: "boom" });
      default:
        return send(404, { error_code: 40403, message: "Schema not found" });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`;
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test("verifies once per id, Apicurio and Confluent answers", async () => {
  const v = new Verifier(base);
  requests = 0;
  for (let i = 0; i < 3; i++) {
    await v.verify(2, [0], "txf.v1.Tick");
  }
  assert.equal(requests, 1);
  await v.verify(3, [0], "txf.v1.BidAsk");
  await v.verify(5, [0], "txf.v1.Tick");
});

test("mismatches are SchemaMismatchError, cached", async () => {
  const v = new Verifier(base);
  const cases: [number, number[], string][] = [
    [3, [0], "txf.v1.Tick"],
    [2, [1], "txf.v1.Tick"],
    [2, [0, 0], "txf.v1.Tick"],
    [4, [0], "txf.v1.Tick"],
    [99, [0], "txf.v1.Tick"],
  ];
  for (const [id, idx, want] of cases) {
    await assert.rejects(v.verify(id, idx, want), SchemaMismatchError, `${id} ${idx} ${want}`);
  }
  requests = 0;
  await assert.rejects(v.verify(99, [0], "txf.v1.Tick"), SchemaMismatchError);
  assert.equal(requests, 0);
});

test("registry failures are RegistryError", async () => {
  await assert.rejects(new Verifier(base).verify(6, [0], "txf.v1.Tick"), (e: Error) => {
    assert.ok(e instanceof RegistryError && /HTTP 500/.test(e.message), e.message);
    return true;
  });
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  await assert.rejects(new Verifier(`http://127.0.0.1:${port}`).verify(2, [0], "txf.v1.Tick"), RegistryError);
});

test("messageName resolves nested paths", () => {
  const fd = create(FileDescriptorProtoSchema, {
    package: "a.b",
    messageType: [
      create(DescriptorProtoSchema, { name: "X" }),
      create(DescriptorProtoSchema, {
        name: "Y",
        nestedType: [create(DescriptorProtoSchema, { name: "P" }), create(DescriptorProtoSchema, { name: "Q" })],
      }),
    ],
  });
  assert.equal(messageName(fd, [0]), "a.b.X");
  assert.equal(messageName(fd, [1]), "a.b.Y");
  assert.equal(messageName(fd, [1, 1]), "a.b.Y.Q");
  assert.throws(() => messageName(fd, [2]), SchemaMismatchError);
});

test("processRecord: line, skip (malformed, mismatch), fatal (registry down)", async () => {
  const v = new Verifier(base);
  const value = Uint8Array.from([...encodeHeader(2), 0x0a, 0x01, 0x41]);
  const rec = { topic: "t", partition: 3, offset: "17", value };
  assert.deepEqual(await processRecord(rec, TickSchema, v), {
    kind: "line",
    text: '{"topic":"t","partition":3,"offset":17,"schemaId":2,"type":"txf.v1.Tick","message":{"code":"A"}}\n',
  });
  const bad = await processRecord({ ...rec, value: Uint8Array.from([0x7b]) }, TickSchema, v);
  assert.equal(bad.kind, "skip");
  assert.match((bad as { reason: string }).reason, /^skip topic=t partition=3 offset=17: magic byte 0x7b/);
  const other = await processRecord(rec, BidAskSchema, v);
  assert.match((other as { reason: string }).reason, /schema id 2 \[0\] is txf\.v1\.Tick, not txf\.v1\.BidAsk/);
  const down = Uint8Array.from([...encodeHeader(6), 0x0a, 0x01, 0x41]);
  await assert.rejects(processRecord({ ...rec, value: down }, TickSchema, v), RegistryError);
});
