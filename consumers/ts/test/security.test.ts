// The TXF_KAFKA_* / TXF_REGISTRY_* vocabulary: what KafkaJS is given, what is refused, and that no error
// message carries a password.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

import { EXIT_CONFIG, EXIT_NOT_AUTHORIZED, kafkaSecurity, refusalCode, registryAuth } from "../src/security.js";

const dir = mkdtempSync(join(tmpdir(), "txf-sec-"));
const ca = join(dir, "ca.pem");
const pw = join(dir, "pw");
writeFileSync(ca, "-----BEGIN CERTIFICATE-----\n");
writeFileSync(pw, "from-file\n");

test("PLAINTEXT by default: neither ssl nor sasl", () => {
  assert.deepEqual(kafkaSecurity({}), { user: "" });
});

test("SASL_SSL with a password file and a CA", () => {
  const s = kafkaSecurity({
    TXF_KAFKA_SECURITY_PROTOCOL: "SASL_SSL",
    TXF_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
    TXF_KAFKA_SASL_USERNAME: "reader-a",
    TXF_KAFKA_SASL_PASSWORD_FILE: pw,
    TXF_KAFKA_SSL_CA_LOCATION: ca,
  });
  assert.deepEqual(s.sasl, { mechanism: "scram-sha-512", username: "reader-a", password: "from-file" });
  assert.deepEqual(s.ssl, { ca: ["-----BEGIN CERTIFICATE-----\n"] });
});

test("wrong settings name the variable, never the password", () => {
  const base = { TXF_KAFKA_SECURITY_PROTOCOL: "SASL_SSL", TXF_KAFKA_SASL_USERNAME: "u" };
  for (const env of [
    { ...base, TXF_KAFKA_SASL_MECHANISM: "PLAIN" },
    { ...base, TXF_KAFKA_SASL_MECHANISM: "MD5", TXF_KAFKA_SASL_PASSWORD: "hunter2" },
    { ...base, TXF_KAFKA_SASL_MECHANISM: "PLAIN", TXF_KAFKA_SASL_PASSWORD: "hunter2", TXF_KAFKA_SASL_PASSWORD_FILE: pw },
    { TXF_KAFKA_SECURITY_PROTOCOL: "SSL", TXF_KAFKA_SSL_CA_LOCATION: join(dir, "missing") },
  ]) {
    assert.throws(
      () => kafkaSecurity(env),
      (e: Error) => e.name === "SettingsError" && !e.message.includes("hunter2"),
    );
  }
  assert.throws(() => registryAuth({ TXF_REGISTRY_BASIC_AUTH: "no-colon" }), /user:password/);
});

test("the registry login from TXF_REGISTRY_BASIC_AUTH_FILE; both forms or a bad file are refused", () => {
  const login = join(dir, "login");
  writeFileSync(login, "reader:s3cret\n");
  assert.equal(registryAuth({ TXF_REGISTRY_BASIC_AUTH_FILE: login }).basicAuth, "reader:s3cret");
  assert.equal(registryAuth({ TXF_REGISTRY_BASIC_AUTH: "reader:env" }).basicAuth, "reader:env");
  assert.equal(registryAuth({}).basicAuth, undefined);
  for (const env of [
    { TXF_REGISTRY_BASIC_AUTH: "reader:s3cret", TXF_REGISTRY_BASIC_AUTH_FILE: login },
    { TXF_REGISTRY_BASIC_AUTH_FILE: join(dir, "missing") },
  ]) {
    assert.throws(
      () => registryAuth(env),
      (e: Error) =>
        e.name === "SettingsError" && e.message.includes("TXF_REGISTRY_BASIC_AUTH_FILE") && !e.message.includes("s3cret"),
    );
  }
});

test("refusals: a rejected login is 78, an ACL refusal 77, through KafkaJS's wrappers", () => {
  assert.equal(refusalCode({ name: "KafkaJSSASLAuthenticationError" }), EXIT_CONFIG);
  assert.equal(
    refusalCode({ name: "KafkaJSNumberOfRetriesExceeded", originalError: { type: "TOPIC_AUTHORIZATION_FAILED" } }),
    EXIT_NOT_AUTHORIZED,
  );
  assert.equal(refusalCode(new Error("connection refused")), undefined);
  // an untrusted broker certificate, as KafkaJS reports it after its retries
  assert.equal(
    refusalCode({ name: "KafkaJSNonRetriableError", cause: { name: "KafkaJSConnectionError", code: "SELF_SIGNED_CERT_IN_CHAIN" } }),
    EXIT_CONFIG,
  );
  assert.equal(refusalCode({ name: "KafkaJSConnectionError", code: "ECONNREFUSED" }), undefined);
});
