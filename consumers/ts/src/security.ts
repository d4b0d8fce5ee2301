// A secured cluster, from the producer's variables (one vocabulary in every language):
// TXF_KAFKA_SECURITY_PROTOCOL, TXF_KAFKA_SASL_MECHANISM, TXF_KAFKA_SASL_USERNAME,
// TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION; and a
// registry behind basic auth or TLS: TXF_REGISTRY_BASIC_AUTH (user:password) or
// TXF_REGISTRY_BASIC_AUTH_FILE, TXF_REGISTRY_SSL_CA_LOCATION. Passwords come from the environment or a
// file, never a flag (flags show in ps). Errors name the variable, never a password.
import { readFileSync, statSync } from "node:fs";

import type { SASLOptions } from "kafkajs";

/** Exit codes that tell a service manager a restart cannot help (systemd RestartPreventExitStatus=77 78). */
export const EXIT_NOT_AUTHORIZED = 77;
export const EXIT_CONFIG = 78;

/** A wrong or missing security setting: exit 78. */
export class SettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SettingsError";
  }
}

export interface KafkaSecurity {
  ssl?: { ca?: string[] } | boolean;
  sasl?: SASLOptions;
  /** For messages: the SASL user, "" without SASL. */
  user: string;
}

const MECHANISMS: Record<string, "plain" | "scram-sha-256" | "scram-sha-512"> = {
  PLAIN: "plain",
  "SCRAM-SHA-256": "scram-sha-256",
  "SCRAM-SHA-512": "scram-sha-512",
};

/** The PEM text of a CA file named by `variable`, or a SettingsError. */
export function readCa(path: string, variable: string): string {
  try {
    if (statSync(path).isFile()) {
      return readFileSync(path, "utf8");
    }
  } catch {
    // reported below
  }
  throw new SettingsError(`${variable}=${path}: no such file (PEM CA certificates)`);
}

/**
 * The secret in the variable `name`, or in the file `${name}_FILE` names (a systemd credential, a mounted
 * secret: never in the process environment); "" when neither is set, a SettingsError when both are.
 */
export function secretFromEnv(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name] || "";
  const path = env[`${name}_FILE`] || "";
  if (value && path) {
    throw new SettingsError(`${name} and ${name}_FILE are both set: keep one`);
  }
  return path ? readSecret(path, `${name}_FILE`) : value;
}

function readSecret(path: string, variable: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8").replace(/[\r\n]+$/, "");
  } catch {
    throw new SettingsError(`${variable}=${path}: cannot read it`);
  }
  if (text === "") {
    throw new SettingsError(`${variable}=${path}: the file is empty`);
  }
  return text;
}

/** KafkaJS's ssl and sasl options from the environment; PLAINTEXT gives neither. */
export function kafkaSecurity(env: NodeJS.ProcessEnv = process.env): KafkaSecurity {
  const protocol = (env.TXF_KAFKA_SECURITY_PROTOCOL || "PLAINTEXT").toUpperCase();
  if (!["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"].includes(protocol)) {
    throw new SettingsError(
      `TXF_KAFKA_SECURITY_PROTOCOL=${protocol}: not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL`,
    );
  }
  const out: KafkaSecurity = { user: "" };
  const caPath = env.TXF_KAFKA_SSL_CA_LOCATION || "";
  const ca = caPath ? readCa(caPath, "TXF_KAFKA_SSL_CA_LOCATION") : undefined;
  if (protocol === "SSL" || protocol === "SASL_SSL") {
    out.ssl = ca ? { ca: [ca] } : true;
  }
  if (!protocol.startsWith("SASL_")) {
    return out;
  }
  const password = secretFromEnv(env, "TXF_KAFKA_SASL_PASSWORD");
  const mechanism = (env.TXF_KAFKA_SASL_MECHANISM || "").toUpperCase();
  const user = env.TXF_KAFKA_SASL_USERNAME || "";
  const missing = [
    ["TXF_KAFKA_SASL_MECHANISM", mechanism],
    ["TXF_KAFKA_SASL_USERNAME", user],
    ["TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE", password],
  ]
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missing.length) {
    throw new SettingsError(`TXF_KAFKA_SECURITY_PROTOCOL=${protocol} needs ${missing.join(", ")}`);
  }
  const kind = MECHANISMS[mechanism];
  if (!kind) {
    throw new SettingsError(`TXF_KAFKA_SASL_MECHANISM=${mechanism}: not one of ${Object.keys(MECHANISMS).join(", ")}`);
  }
  out.sasl = { mechanism: kind, username: user, password } as SASLOptions;
  out.user = user;
  return out;
}

/** How a registry that is not plain HTTP without a login is reached. */
export interface RegistryAuth {
  /** "user:password" for HTTP basic auth. */
  basicAuth?: string;
  /** PEM text of the CAs to trust for an https URL. */
  ca?: string;
}

export function registryAuth(env: NodeJS.ProcessEnv = process.env): RegistryAuth {
  const basicAuth = secretFromEnv(env, "TXF_REGISTRY_BASIC_AUTH") || undefined;
  if (basicAuth !== undefined && !basicAuth.includes(":")) {
    throw new SettingsError("TXF_REGISTRY_BASIC_AUTH: want user:password");
  }
  const caPath = env.TXF_REGISTRY_SSL_CA_LOCATION || "";
  return { basicAuth, ca: caPath ? readCa(caPath, "TXF_REGISTRY_SSL_CA_LOCATION") : undefined };
}

/** Node's TLS verification failures (KafkaJS keeps them as the connection error's `code`): the broker's
 * certificate is not one TXF_KAFKA_SSL_CA_LOCATION trusts, a setting to fix like a rejected password. */
const UNTRUSTED_CERT = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "CERT_UNTRUSTED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/**
 * Whether a KafkaJS error means "this client is refused": a rejected login or an untrusted certificate (78),
 * or an ACL that does not allow the topic or the group (77). Looks through KafkaJS's wrappers (retries
 * exceeded, crash payloads).
 */
export function refusalCode(e: unknown): number | undefined {
  type Link = { name?: string; type?: string; code?: string; originalError?: unknown; cause?: unknown };
  for (let err = e as Link | undefined; err; ) {
    if (err.name === "KafkaJSSASLAuthenticationError" || (err.code !== undefined && UNTRUSTED_CERT.has(err.code))) {
      return EXIT_CONFIG;
    }
    if (err.type === "TOPIC_AUTHORIZATION_FAILED" || err.type === "GROUP_AUTHORIZATION_FAILED") {
      return EXIT_NOT_AUTHORIZED;
    }
    err = (err.originalError ?? err.cause) as typeof err;
  }
  return undefined;
}
