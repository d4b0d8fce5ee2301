// Checks a record's schema id against the schema registry: the message that
// the id and the message indexes name must be the type the topic is decoded
// with. One request per schema id, cached.
//
// It reads GET /schemas/ids/{id} in the default form. Apicurio answers with
// the schema as confluent-kafka registered it (base64 FileDescriptorProto);
// Confluent's registry answers with .proto text there and with the base64
// form under ?format=serialized, which is then asked for. Apicurio 3.3.3
// answers ?format=serialized with HTTP 500 for base64-stored schemas, hence
// this order (stack/README.md).
//
// A registry behind basic auth and/or TLS with a private CA (TXF_REGISTRY_BASIC_AUTH,
// TXF_REGISTRY_SSL_CA_LOCATION) is asked through node:https with that CA: Node's fetch
// takes no CA of its own.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";

import type { RegistryAuth } from "./security.js";

/** The record's schema is not the expected type (unknown id, not protobuf, other message). */
export class SchemaMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SchemaMismatchError";
  }
}

/** The registry could not be asked (network, HTTP 5xx, unreadable answer). */
export class RegistryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryError";
  }
}

/** The registry refused our credentials (401/403) or its certificate is not trusted: settings to fix (exit 78). */
export class RegistryRefusedError extends RegistryError {
  constructor(message: string) {
    super(message);
    this.name = "RegistryRefusedError";
  }
}

const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "CERT_HAS_EXPIRED",
]);

/** GET `url`: status and body text, within `timeoutMs`. */
function httpGet(
  url: string,
  headers: Record<string, string>,
  auth: RegistryAuth,
  timeoutMs: number,
): Promise<{ status: number; text: string }> {
  const https = url.startsWith("https:");
  return new Promise((resolve, reject) => {
    const req = (https ? httpsRequest : httpRequest)(
      url,
      { method: "GET", headers, timeout: timeoutMs, ...(https && auth.ca ? { ca: auth.ca } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/** Resolves a message-index path inside a file descriptor to a full message name. */
export function messageName(fd: FileDescriptorProto, indexes: readonly number[]): string {
  let name = fd.package;
  let messages: DescriptorProto[] = fd.messageType;
  for (const i of indexes) {
    const m = messages[i];
    if (!m) {
      throw new SchemaMismatchError(`message index path [${indexes.join(",")}] not in ${fd.name}`);
    }
    name = name ? `${name}.${m.name}` : m.name;
    messages = m.nestedType;
  }
  return name;
}

function parseSerialized(schema: unknown): FileDescriptorProto | undefined {
  if (typeof schema !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(schema.trim())) {
    return undefined;
  }
  try {
    const fd = fromBinary(FileDescriptorProtoSchema, Buffer.from(schema.trim(), "base64"));
    return fd.messageType.length > 0 ? fd : undefined;
  } catch {
    return undefined;
  }
}

export class Verifier {
  private readonly base: string;
  private readonly files = new Map<number, FileDescriptorProto>();
  private readonly bad = new Map<number, SchemaMismatchError>();

  private readonly headers: Record<string, string>;

  constructor(
    baseUrl: string,
    private readonly timeoutMs = 10_000,
    private readonly auth: RegistryAuth = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
    this.headers = { Accept: "application/vnd.schemaregistry.v1+json, application/json" };
    if (auth.basicAuth) {
      this.headers.Authorization = `Basic ${Buffer.from(auth.basicAuth).toString("base64")}`;
    }
  }

  /** Resolves when id + indexes name `want` (e.g. "txf.v1.Tick"); rejects with SchemaMismatchError or RegistryError. */
  async verify(id: number, indexes: readonly number[], want: string): Promise<void> {
    const known = this.bad.get(id);
    if (known) {
      throw known;
    }
    let fd = this.files.get(id);
    if (!fd) {
      try {
        fd = await this.fetchFile(id);
      } catch (e) {
        if (e instanceof SchemaMismatchError) {
          this.bad.set(id, e);
        }
        throw e;
      }
      this.files.set(id, fd);
    }
    let got: string;
    try {
      got = messageName(fd, indexes);
    } catch (e) {
      throw new SchemaMismatchError(`schema id ${id}: ${(e as Error).message}`);
    }
    if (got !== want) {
      throw new SchemaMismatchError(`schema id ${id} [${indexes.join(",")}] is ${got}, not ${want}`);
    }
  }

  private async fetchFile(id: number): Promise<FileDescriptorProto> {
    let last = "";
    for (const query of ["", "?format=serialized"]) {
      const body = await this.get(`${this.base}/schemas/ids/${id}${query}`);
      const type = body.schemaType ?? "";
      if (type !== "" && type !== "PROTOBUF") {
        throw new SchemaMismatchError(`schema id ${id} is ${String(type)}, not PROTOBUF`);
      }
      const fd = parseSerialized(body.schema);
      if (fd) {
        return fd;
      }
      last = String(body.schema);
    }
    throw new RegistryError(
      `registry: schema id ${id} is neither a base64 FileDescriptorProto nor available as one: ${JSON.stringify(last.slice(0, 60))}`,
    );
  }

  private async get(url: string): Promise<{ schema?: unknown; schemaType?: unknown }> {
    let resp: { status: number; text: string };
    try {
      resp = await httpGet(url, this.headers, this.auth, this.timeoutMs);
    } catch (e) {
      const code = (e as { code?: string }).code ?? "";
      if (UNTRUSTED.has(code)) {
        throw new RegistryRefusedError(
          `registry: GET ${url}: TLS certificate not trusted (${code}); fix TXF_REGISTRY_SSL_CA_LOCATION`,
        );
      }
      throw new RegistryError(`registry: GET ${url}: ${(e as Error).message}${code ? ` (${code})` : ""}`);
    }
    const text = resp.text;
    if (resp.status === 401 || resp.status === 403) {
      throw new RegistryRefusedError(
        `registry: GET ${url}: HTTP ${resp.status}; fix TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE`,
      );
    }
    if (resp.status === 404) {
      throw new SchemaMismatchError(`GET ${url}: 404 ${text.trim()}`);
    }
    if (resp.status !== 200) {
      throw new RegistryError(`registry: GET ${url}: HTTP ${resp.status} ${text.trim().slice(0, 300)}`);
    }
    try {
      return JSON.parse(text) as { schema?: unknown; schemaType?: unknown };
    } catch (e) {
      throw new RegistryError(`registry: GET ${url}: ${(e as Error).message}`);
    }
  }
}
