#!/usr/bin/env node
// txf-consume (TypeScript): reads txf.v1 topics with a Kafka consumer group
// and prints one JSON line per record on stdout:
//
//   {"topic":"txf-tick","partition":0,"offset":12,"schemaId":2,"type":"txf.v1.Tick","message":{...}}
//
// "message" is the canonical proto3 JSON of the value. Logs go to stderr.
//
// Malformed values (not the Confluent protobuf framing, truncated, invalid
// protobuf, or a schema id the registry names as another type) are reported on
// stderr with topic/partition/offset and skipped; their offsets are committed
// like any other, so a poison record never blocks the group.
// Exit status: 0 after --max-messages records (printed or skipped), after
// --idle-exit-ms without records, or on SIGINT/SIGTERM; 1 on a Kafka or
// registry error or a failed write to stdout; 2 on a usage error; 77 when the
// principal's ACLs do not allow a topic or the group; 78 when Kafka or the
// registry rejects the credentials, or a security setting is wrong.
// A secured cluster and registry: the TXF_KAFKA_* and TXF_REGISTRY_* variables (security.ts).
import kafkajs from "kafkajs";

import { parseArgs, USAGE, UsageError, type Config } from "./cli.js";
import { registerCodecs } from "./codecs.js";
import { RegistryRefusedError, Verifier } from "./registry.js";
import { processRecord } from "./record.js";
import {
  EXIT_CONFIG,
  EXIT_NOT_AUTHORIZED,
  kafkaSecurity,
  refusalCode,
  registryAuth,
  SettingsError,
} from "./security.js";
import { topicTypes } from "./types.js";

const { Kafka, logLevel } = kafkajs;

function log(msg: string): void {
  process.stderr.write(`txf-consume: ${msg}\n`);
}

const LEVEL_NAMES: Record<number, string> = {
  [logLevel.ERROR]: "ERROR",
  [logLevel.WARN]: "WARN",
  [logLevel.INFO]: "INFO",
  [logLevel.DEBUG]: "DEBUG",
};

// The last error a broker answered with, as KafkaJS logged it: some of its errors (a group the ACLs deny)
// reach the application only as "Failed to find group coordinator", the broker's reason only in the log.
let lastBrokerError = "";

// KafkaJS logs to stdout by default; stdout carries only the JSON lines.
const kafkaLogCreator: kafkajs.logCreator =
  () =>
  ({ namespace, level, log: entry }) => {
    const { message, timestamp: _t, logger: _l, stack: _s, ...extra } = entry as Record<string, unknown>;
    if (typeof extra.error === "string") {
      lastBrokerError = extra.error;
    }
    const name = LEVEL_NAMES[level] ?? String(level);
    log(`kafkajs ${name} [${namespace}] ${String(message)}${Object.keys(extra).length ? " " + JSON.stringify(extra) : ""}`);
  };

async function consume(cfg: Config): Promise<number> {
  let types;
  try {
    types = topicTypes(cfg.types, cfg.topics);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  for (const t of cfg.topics) {
    if (!types.has(t)) {
      throw new UsageError(`no message type for topic ${t}: add --type ${t}=txf.v1.Tick (or txf.v1.BidAsk)`);
    }
  }
  const security = kafkaSecurity();
  const verifier = cfg.registry ? new Verifier(cfg.registry, 10_000, registryAuth()) : undefined;
  const who = security.user ? `User:${security.user}` : "this client";
  // One line that says why and what to fix, and the exit code that keeps a service manager from retrying.
  const failed = (e: unknown, what: string): void => {
    const denied = /authorization failed/i.test(lastBrokerError);
    const code = refusalCode(e) ?? (denied ? EXIT_NOT_AUTHORIZED : undefined);
    const text = `${what}: ${(e as Error).message}${denied ? ` (${lastBrokerError})` : ""}`;
    if (code === EXIT_CONFIG) {
      stop(code, `Kafka rejected the login of ${who} (${text}); fix TXF_KAFKA_SASL_USERNAME / ` +
        "TXF_KAFKA_SASL_PASSWORD(_FILE) or TXF_KAFKA_SSL_CA_LOCATION (exit 78: a restart would repeat it)");
    } else if (code === EXIT_NOT_AUTHORIZED) {
      stop(code, `Kafka does not authorize ${who} (${text}): a consumer may read the topics its ACLs grant ` +
        `and use groups its ACLs allow (--group ${cfg.group}); exit 77`);
    } else {
      stop(1, text);
    }
  };

  let stopping: { code: number; why: string } | undefined;
  let wake!: () => void;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const stop = (code: number, why: string): void => {
    if (!stopping) {
      stopping = { code, why };
      wake();
    }
  };
  // A second signal while closing gets the default action (the listener is gone).
  process.once("SIGINT", () => stop(0, "SIGINT received"));
  process.once("SIGTERM", () => stop(0, "SIGTERM received"));
  process.stdout.on("error", (e) => stop(1, `stdout: ${e.message}`));
  // Node writes to a pipe asynchronously: a reader that falls behind while we catch up from a backlog
  // would have every line buffered in memory. Wait for it instead (or for a stop).
  const drained = (): Promise<void> =>
    Promise.race([new Promise<void>((resolve) => process.stdout.once("drain", resolve)), stopped]);

  let consumed = 0;
  let lastActivity = performance.now();
  const idleTimer =
    cfg.idleExitMs > 0
      ? setInterval(() => {
          if (performance.now() - lastActivity >= cfg.idleExitMs) {
            stop(0, `no records for ${cfg.idleExitMs} ms (--idle-exit-ms)`);
          }
        }, Math.min(100, cfg.idleExitMs))
      : undefined;

  registerCodecs();
  const kafka = new Kafka({
    clientId: "txf-consume",
    brokers: cfg.bootstrap.split(",").map((b) => b.trim()),
    ssl: security.ssl,
    sasl: security.sasl,
    logLevel: logLevel.WARN,
    logCreator: kafkaLogCreator,
  });
  const consumer = kafka.consumer({
    groupId: cfg.group,
    allowAutoTopicCreation: false,
    // KafkaJS waits for the running fetch when stopping: keep the long poll
    // short (librdkafka's fetch.wait.max.ms default), not KafkaJS's 5 s.
    maxWaitTimeInMs: 500,
  });
  // Joining the group is activity: the idle clock restarts once partitions are assigned.
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    lastActivity = performance.now();
    log(`joined group ${payload.groupId}: ${JSON.stringify(payload.memberAssignment)}`);
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart || refusalCode(payload.error) !== undefined) {
      failed(payload.error, "kafka");
    }
  });

  const start = async (): Promise<void> => {
    await consumer.connect();
    await consumer.subscribe({ topics: cfg.topics, fromBeginning: cfg.fromBeginning }).catch((e: Error) => {
      throw new Error(`subscribe ${cfg.topics.join(",")}: ${e.message}`);
    });
    await consumer.run({
      // At least once: an offset is resolved only after its line is written
      // (or the record is reported as skipped); KafkaJS commits the resolved
      // offsets after every batch and on the interval.
      autoCommit: true,
      autoCommitInterval: 1000,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        for (const m of batch.messages) {
          if (stopping || !isRunning() || isStale()) {
            return; // the rest stays unresolved: read again by the next consumer
          }
          lastActivity = performance.now();
          consumed++;
          const rec = { topic: batch.topic, partition: batch.partition, offset: m.offset, value: m.value };
          try {
            const out = await processRecord(rec, types.get(batch.topic)!, verifier);
            if (out.kind === "line") {
              if (!process.stdout.write(out.text)) {
                await drained();
              }
            } else {
              log(out.reason);
            }
          } catch (e) {
            stop(e instanceof RegistryRefusedError ? EXIT_CONFIG : 1, (e as Error).message);
            return;
          }
          resolveOffset(m.offset);
          if (cfg.maxMessages > 0 && consumed >= cfg.maxMessages) {
            stop(0, `read ${consumed} records (--max-messages)`);
            return;
          }
          await heartbeat();
        }
      },
    });
  };

  try {
    await Promise.race([start(), stopped]);
    await stopped;
  } catch (e) {
    failed(e, "kafka");
  } finally {
    clearInterval(idleTimer);
    log(`${stopping?.why ?? "stopping"}; ${consumed} records read, closing`);
    await consumer.disconnect().catch((e: Error) => log(`disconnect: ${e.message}`));
  }
  return stopping?.code ?? 0;
}

async function main(argv: string[]): Promise<number> {
  let cfg: Config;
  try {
    cfg = parseArgs(argv);
  } catch (e) {
    log((e as Error).message);
    process.stderr.write(USAGE);
    return 2;
  }
  if (cfg.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    return await consume(cfg);
  } catch (e) {
    log((e as Error).message);
    return e instanceof UsageError ? 2 : e instanceof SettingsError ? EXIT_CONFIG : 1;
  }
}

// Never end with a stack trace: whatever escapes is one line on stderr.
process.on("uncaughtException", (e) => {
  log(`fatal: ${e.message}`);
  process.exit(1);
});
process.on("unhandledRejection", (e) => {
  log(`fatal: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});

// process.exit() does not wait for stdout: to a pipe, Node writes asynchronously, and exiting at once
// cut the last JSON lines short (seen with 1,500 lines). Exit only once everything written is flushed.
main(process.argv.slice(2)).then((code) => process.stdout.write("", () => process.exit(code)));
