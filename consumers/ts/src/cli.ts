// Command-line flags; the same names as the Go consumer (consumers/go).
import { parseArgs as parseNodeArgs } from "node:util";

import { DEFAULT_TOPICS } from "./topicmap.gen.js";
import { DEFAULT_TOPIC_TYPES } from "./types.js";

export interface Config {
  bootstrap: string;
  /** Empty: no schema-id check. */
  registry: string;
  group: string;
  topics: string[];
  fromBeginning: boolean;
  /** 0: no limit. */
  maxMessages: number;
  /** 0: never. */
  idleExitMs: number;
  types: Record<string, string>;
  help: boolean;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const USAGE = `usage: txf-consume [--topics a,b] [flags]
  --bootstrap HOSTS     Kafka bootstrap servers (env TXF_KAFKA_BOOTSTRAP, default 127.0.0.1:19092)
  --registry URL        schema registry (Confluent API); when set, each schema id is checked once (env TXF_REGISTRY_URL)
  --group ID            consumer group id (default txf-consume-ts)
  --topics A,B          comma-separated topics (default ${DEFAULT_TOPICS.join(",")})
  --from-beginning      start at the earliest offsets when the group has no committed offset
  --max-messages N      exit 0 after N records, printed or skipped (0 = no limit)
  --idle-exit-ms M      exit 0 after M ms without records (0 = never)
  --type TOPIC=TYPE     message type of a topic, repeatable; defaults: ${Object.entries(DEFAULT_TOPIC_TYPES)
    .map(([t, m]) => `${t}=${m}`)
    .join(", ")}
`;

function count(flag: string, value: string | undefined): number {
  if (value === undefined) {
    return 0;
  }
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag}: want a non-negative integer, got "${value}"`);
  }
  return Number(value);
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  let values;
  try {
    ({ values } = parseNodeArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        bootstrap: { type: "string" },
        registry: { type: "string" },
        group: { type: "string" },
        topics: { type: "string" },
        "from-beginning": { type: "boolean" },
        "max-messages": { type: "string" },
        "idle-exit-ms": { type: "string" },
        type: { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const types: Record<string, string> = {};
  for (const t of values.type ?? []) {
    const eq = t.indexOf("=");
    if (eq <= 0 || eq === t.length - 1) {
      throw new UsageError(`--type: want topic=message.Type, got "${t}"`);
    }
    types[t.slice(0, eq)] = t.slice(eq + 1);
  }
  const cfg: Config = {
    bootstrap: values.bootstrap ?? (env.TXF_KAFKA_BOOTSTRAP || "127.0.0.1:19092"),
    registry: values.registry ?? env.TXF_REGISTRY_URL ?? "",
    group: values.group ?? "txf-consume-ts",
    topics: (values.topics ?? DEFAULT_TOPICS.join(","))
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== ""),
    fromBeginning: values["from-beginning"] ?? false,
    maxMessages: count("--max-messages", values["max-messages"]),
    idleExitMs: count("--idle-exit-ms", values["idle-exit-ms"]),
    types,
    help: values.help ?? false,
  };
  if (!cfg.help && cfg.topics.length === 0) {
    throw new UsageError("--topics names no topic");
  }
  return cfg;
}
