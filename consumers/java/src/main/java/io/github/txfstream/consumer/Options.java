package io.github.txfstream.consumer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Command-line options of {@link TxfConsumer}. */
public record Options(
    String bootstrap,
    String registry,
    String group,
    List<String> topics,
    boolean fromBeginning,
    long maxMessages,
    long idleExitMs,
    Map<String, TxfTypes.MessageType> types,
    Map<String, String> properties) {

  public static final String USAGE = String.join("\n",
      "usage: txf-consumer [--topics t1[,t2...]] [options]",
      "  Reads txf.v1 records (Confluent protobuf wire format) and prints one JSON line per message on stdout:",
      "  {\"topic\":..,\"partition\":..,\"offset\":..,\"schemaId\":..,\"type\":\"txf.v1.Tick\",",
      "   \"message\":{canonical proto3 JSON}}",
      "  --bootstrap HOST:PORT    Kafka bootstrap servers (default: $TXF_KAFKA_BOOTSTRAP or 127.0.0.1:19092)",
      "  --registry URL           Confluent-compatible registry base URL; when given, every schema id is checked",
      "                           once against it (type of the id's message = the topic's type)",
      "  --group ID               consumer group (default: txf-java-consumer); offsets are committed to it",
      "  --topics a,b             topics to subscribe to (default: " + String.join(",", TopicMap.DEFAULT_TOPICS) + ")",
      "  --from-beginning         start at the earliest offset when the group has no committed offset",
      "  --max-messages N         exit 0 after printing N messages (default: no limit)",
      "  --idle-exit-ms M         exit 0 after M ms without any record (default: never)",
      "  --type TOPIC=TYPE        message type of a topic (repeatable), TYPE one of "
          + String.join(", ", new java.util.TreeSet<>(TxfTypes.BY_NAME.keySet())) + ";",
      "                           default by name, also after a prefix ending in '.', '-' or '_':",
      "                           " + TopicMap.MESSAGES.entrySet().stream().sorted(Map.Entry.comparingByKey())
          .map(e -> e.getKey() + " -> " + e.getValue()).collect(java.util.stream.Collectors.joining(", ")),
      "  --property KEY=VALUE     extra Kafka consumer setting (repeatable), e.g. fetch.min.bytes=1; never a",
      "                           password (flags show in ps): use the variables below",
      "  --help                   this text",
      "  secured cluster / registry (environment, the producer's names): TXF_KAFKA_SECURITY_PROTOCOL (SASL_SSL),",
      "    TXF_KAFKA_SASL_MECHANISM (SCRAM-SHA-512), TXF_KAFKA_SASL_USERNAME, TXF_KAFKA_SASL_PASSWORD or",
      "    TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION, TXF_REGISTRY_BASIC_AUTH (user:password) or",
      "    TXF_REGISTRY_BASIC_AUTH_FILE, TXF_REGISTRY_SSL_CA_LOCATION",
      "  exit: 0 done (max messages, idle, or stopped), 1 fatal Kafka error, 2 usage error, 77 not authorized",
      "        (ACLs), 78 credentials rejected or a wrong security setting");

  /** A usage error: the message is printed with {@link #USAGE}. */
  public static final class UsageException extends Exception {
    public UsageException(String message) {
      super(message);
    }
  }

  /** Thrown for --help. */
  public static final class HelpRequested extends Exception {}

  public static Options parse(String[] args, Map<String, String> env) throws UsageException, HelpRequested {
    String bootstrap = env.getOrDefault("TXF_KAFKA_BOOTSTRAP", "127.0.0.1:19092");
    String registry = null;
    String group = "txf-java-consumer";
    List<String> topics = new ArrayList<>();
    boolean topicsGiven = false;
    boolean fromBeginning = false;
    long maxMessages = 0;
    long idleExitMs = 0;
    Map<String, String> typeArgs = new LinkedHashMap<>();
    Map<String, String> properties = new LinkedHashMap<>();

    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String value = null;
      int eq = arg.indexOf('=');
      if (arg.startsWith("--") && eq > 0) { // --flag=value
        value = arg.substring(eq + 1);
        arg = arg.substring(0, eq);
      }
      switch (arg) {
        case "--help", "-h" -> throw new HelpRequested();
        case "--from-beginning" -> {
          if (value != null) {
            throw new UsageException("--from-beginning takes no value");
          }
          fromBeginning = true;
        }
        case "--bootstrap", "--registry", "--group", "--topics", "--max-messages", "--idle-exit-ms", "--type",
            "--property" -> {
          if (value == null) {
            if (i + 1 >= args.length) {
              throw new UsageException(arg + " needs a value");
            }
            value = args[++i];
          }
          switch (arg) {
            case "--bootstrap" -> bootstrap = nonEmpty(arg, value);
            case "--registry" -> registry = nonEmpty(arg, value).replaceAll("/+$", "");
            case "--group" -> group = nonEmpty(arg, value);
            case "--topics" -> {
              topicsGiven = true;
              for (String t : value.split(",")) {
                if (!t.isBlank() && !topics.contains(t.strip())) {
                  topics.add(t.strip());
                }
              }
            }
            case "--max-messages" -> maxMessages = nonNegative(arg, value);
            case "--idle-exit-ms" -> idleExitMs = nonNegative(arg, value);
            case "--type" -> {
              String[] kv = keyValue(arg, value);
              typeArgs.put(kv[0], kv[1]);
            }
            case "--property" -> {
              String[] kv = keyValue(arg, value);
              properties.put(kv[0], kv[1]);
            }
            default -> throw new AssertionError(arg);
          }
        }
        default -> throw new UsageException("unknown argument: " + args[i]);
      }
    }
    if (!topicsGiven) {
      topics.addAll(TopicMap.DEFAULT_TOPICS);
    }
    if (topics.isEmpty()) {
      throw new UsageException("--topics names no topic");
    }
    Map<String, TxfTypes.MessageType> types = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : typeArgs.entrySet()) {
      TxfTypes.MessageType t = TxfTypes.BY_NAME.get(e.getValue());
      if (t == null) {
        throw new UsageException("--type " + e.getKey() + "=" + e.getValue() + ": unknown message type, known: "
            + String.join(", ", new java.util.TreeSet<>(TxfTypes.BY_NAME.keySet())));
      }
      if (!topics.contains(e.getKey())) {
        throw new UsageException("--type " + e.getKey() + "=...: topic not in --topics");
      }
      types.put(e.getKey(), t);
    }
    List<String> unknown = new ArrayList<>();
    for (String t : topics) {
      if (!types.containsKey(t)) {
        TxfTypes.forTopic(t).ifPresentOrElse(mt -> types.put(t, mt), () -> unknown.add(t));
      }
    }
    if (!unknown.isEmpty()) {
      throw new UsageException("no message type for topic(s) " + String.join(", ", unknown)
          + ": give --type TOPIC=txf.v1.Tick|txf.v1.BidAsk");
    }
    return new Options(bootstrap, registry, group, List.copyOf(topics), fromBeginning, maxMessages, idleExitMs,
        Map.copyOf(types), Map.copyOf(properties));
  }

  private static String nonEmpty(String flag, String v) throws UsageException {
    if (v.isBlank()) {
      throw new UsageException(flag + " must not be empty");
    }
    return v.strip();
  }

  private static long nonNegative(String flag, String v) throws UsageException {
    try {
      long n = Long.parseLong(v.strip());
      if (n < 0) {
        throw new NumberFormatException();
      }
      return n;
    } catch (NumberFormatException e) {
      throw new UsageException(flag + " needs a non-negative integer, got '" + v + "'");
    }
  }

  private static String[] keyValue(String flag, String v) throws UsageException {
    int eq = v.indexOf('=');
    if (eq <= 0 || eq == v.length() - 1) {
      throw new UsageException(flag + " needs KEY=VALUE, got '" + v + "'");
    }
    return new String[] {v.substring(0, eq).strip(), v.substring(eq + 1).strip()};
  }
}
