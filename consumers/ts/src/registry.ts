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
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto } from "@bufbuild/protobuf/wkt";

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

  constructor(baseUrl: string, private readonly timeoutMs = 10_000) {
    this.base = baseUrl.replace(/\/+$/, "");
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
    let resp: Response;
    try {
      resp = await fetch(url, {
        headers: { Accept: "application/vnd.schemaregistry.v1+json, application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const cause = (e as { cause?: Error }).cause;
      throw new RegistryError(`registry: GET ${url}: ${(e as Error).message}${cause ? ` (${cause.message})` : ""}`);
    }
    const text = await resp.text().catch(() => "");
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
