import { strict as assert } from "node:assert";
import { test } from "node:test";

import { parseArgs, UsageError } from "../src/cli.js";
import { DEFAULT_TOPICS } from "../src/topicmap.gen.js";

test("all flags", () => {
  const cfg = parseArgs(
    [
      "--bootstrap", "h:1", "--registry=http://r/", "--group", "g", "--topics", "a, b,,c",
      "--from-beginning", "--max-messages", "5", "--idle-exit-ms", "1500",
      "--type", "a=txf.v1.Tick", "--type", "b=txf.v1.BidAsk",
    ],
    {},
  );
  assert.deepEqual(cfg, {
    bootstrap: "h:1",
    registry: "http://r/",
    group: "g",
    topics: ["a", "b", "c"],
    fromBeginning: true,
    maxMessages: 5,
    idleExitMs: 1500,
    types: { a: "txf.v1.Tick", b: "txf.v1.BidAsk" },
    help: false,
  });
});

test("defaults and environment", () => {
  const cfg = parseArgs(["--topics", "txf-tick"], { TXF_KAFKA_BOOTSTRAP: "k:9" });
  assert.equal(cfg.bootstrap, "k:9");
  assert.equal(cfg.registry, "");
  assert.equal(cfg.group, "txf-consume-ts");
  assert.equal(cfg.fromBeginning, false);
  assert.equal(cfg.maxMessages, 0);
  assert.equal(cfg.idleExitMs, 0);
  assert.equal(parseArgs(["--topics", "x"], { TXF_REGISTRY_URL: "http://r" }).registry, "http://r");
});

test("usage errors", () => {
  for (const argv of [
    ["--topics", ","],
    ["--topics", "a", "--type", "a"],
    ["--topics", "a", "--type", "=txf.v1.Tick"],
    ["--topics", "a", "--max-messages", "-1"],
    ["--topics", "a", "--idle-exit-ms", "1.5"],
    ["--topics", "a", "extra"],
    ["--topics", "a", "--nope"],
  ]) {
    assert.throws(() => parseArgs(argv, {}), UsageError, JSON.stringify(argv));
  }
  assert.equal(parseArgs(["--help"], {}).help, true);
});

test("no --topics: the topic map's default topics", () => {
  assert.deepEqual(parseArgs([], {}).topics, [...DEFAULT_TOPICS]);
  assert.ok(DEFAULT_TOPICS.length > 0);
});
