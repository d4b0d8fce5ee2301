package io.github.txfstream.consumer;

import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Command-line consumer of the txf.v1 topics: one JSON line per message on stdout, logs on stderr.
 *
 * <p>Latency: {@code poll} returns as soon as records have arrived (fetch.min.bytes 1), and the lines of
 * each polled batch are written and flushed at once, so a caught-up reader gets every line as it arrives and
 * one catching up from a backlog gets batches of up to max.poll.records.
 *
 * <p>Offsets are committed (explicit per partition) after each polled batch has been written and flushed:
 * asynchronously, so the next poll does not wait a broker round trip (a failed commit puts its offsets back
 * to be committed with the next one), and synchronously when partitions are revoked and on exit:
 * at-least-once output. It stops by itself after --max-messages or --idle-exit-ms, and on SIGINT/SIGTERM
 * (a shutdown hook wakes the poll up; the loop commits and closes).
 *
 * <p>A secured cluster and registry are reached with the producer's variables ({@link Security}); exit 78
 * when Kafka or the registry rejects the credentials or a security setting is wrong, 77 when the principal's
 * ACLs do not allow a topic or the group (a restart cannot help either: systemd RestartPreventExitStatus).
 */
public final class TxfConsumer {
  private static final Logger LOG = LoggerFactory.getLogger(TxfConsumer.class);
  static final int EXIT_OK = 0;
  static final int EXIT_FATAL = 1;
  static final int EXIT_USAGE = 2;

  private final Options options;
  private final Writer out;
  private final Map<String, String> env; // TXF_KAFKA_* / TXF_REGISTRY_* security settings
  private final Object lifecycle = new Object();
  private volatile boolean stopRequested;
  private boolean finished;
  private boolean consumerClosed;
  private KafkaConsumer<byte[], byte[]> consumer;

  private final Map<TopicPartition, OffsetAndMetadata> pending = new HashMap<>();
  private long printed;
  private long skipped;

  TxfConsumer(Options options, Writer out) {
    this(options, out, Map.of());
  }

  TxfConsumer(Options options, Writer out, Map<String, String> env) {
    this.options = options;
    this.out = out;
    this.env = env;
  }

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args, System.getenv());
    } catch (Options.HelpRequested e) {
      System.out.println(Options.USAGE);
      return;
    } catch (Options.UsageException e) {
      System.err.println("txf-consumer: " + e.getMessage());
      System.err.println(Options.USAGE);
      System.exit(EXIT_USAGE);
      return;
    }
    Writer out = new BufferedWriter(
        new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), 1 << 16);
    TxfConsumer app = new TxfConsumer(options, out, System.getenv());
    Thread main = Thread.currentThread();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> app.stopFromSignal(main), "txf-consumer-shutdown"));
    int code = app.run();
    synchronized (app.lifecycle) {
      app.finished = true;
      if (app.stopRequested) {
        return; // the JVM is already shutting down (signal): it exits with 128+signal
      }
    }
    System.exit(code);
  }

  /** Shutdown hook: wake the poll up and wait until the loop has committed and closed. */
  private void stopFromSignal(Thread main) {
    synchronized (lifecycle) {
      if (finished) {
        return;
      }
      stopRequested = true;
      if (consumer != null && !consumerClosed) {
        consumer.wakeup();
      }
    }
    LOG.info("signal: stopping");
    try {
      main.join(15_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  int run() {
    SchemaVerifier verifier;
    Map<String, String> security;
    try {
      security = Security.kafkaProperties(env);
      verifier = options.registry() == null ? null
          : new SchemaVerifier(options.registry(), Security.registryBasicAuth(env), Security.registryTls(env));
    } catch (Security.SettingsException e) {
      LOG.error("{}", e.getMessage());
      return Security.EXIT_CONFIG;
    }
    String who = Security.user(env).isEmpty() ? "this client" : "User:" + Security.user(env);
    JsonLines lines = new JsonLines(options.types(), verifier);
    try {
      synchronized (lifecycle) {
        if (stopRequested) {
          return EXIT_OK;
        }
        consumer = new KafkaConsumer<>(consumerProperties(options, security));
      }
    } catch (KafkaException e) {
      LOG.error("cannot create the Kafka consumer: {}", rootMessage(e));
      return EXIT_FATAL;
    }
    int code = EXIT_OK;
    String why = "stopped";
    long startNs = System.nanoTime();
    try {
      consumer.subscribe(options.topics(), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          commitPending(); // before another member takes them over
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          LOG.info("assigned {}", partitions);
        }
      });
      LOG.info("group {} reading {} from {}{}", options.group(), options.types(), options.bootstrap(),
          verifier == null ? "" : ", checking schema ids at " + options.registry());
      long lastRecordNs = System.nanoTime();
      loop:
      while (!stopRequested) {
        long pollMs = 500;
        if (options.idleExitMs() > 0) {
          long idleMs = (System.nanoTime() - lastRecordNs) / 1_000_000;
          if (idleMs >= options.idleExitMs()) {
            why = "idle for " + idleMs + " ms";
            break;
          }
          pollMs = Math.max(1, Math.min(pollMs, options.idleExitMs() - idleMs));
        }
        ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(pollMs));
        if (records.isEmpty()) {
          continue;
        }
        lastRecordNs = System.nanoTime();
        for (ConsumerRecord<byte[], byte[]> r : records) {
          try {
            out.write(lines.line(r.topic(), r.partition(), r.offset(), r.value()));
            out.write('\n');
            printed++;
          } catch (MalformedFrameException e) {
            skipped++;
            LOG.warn("skipped record topic={} partition={} offset={}: {}", r.topic(), r.partition(), r.offset(),
                e.getMessage());
          }
          pending.put(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1));
          if (options.maxMessages() > 0 && printed >= options.maxMessages()) {
            why = "printed " + printed + " messages (--max-messages)";
            break loop;
          }
        }
        out.flush();
        commitPendingAsync();
      }
    } catch (WakeupException e) {
      if (!stopRequested) {
        LOG.error("unexpected wakeup");
        code = EXIT_FATAL;
      }
    } catch (IOException e) {
      LOG.error("cannot write to stdout: {}", e.getMessage());
      code = EXIT_FATAL;
    } catch (AuthenticationException e) {
      LOG.error("Kafka rejected the login of {}: {}; fix TXF_KAFKA_SASL_USERNAME / TXF_KAFKA_SASL_PASSWORD(_FILE) "
          + "or TXF_KAFKA_SSL_CA_LOCATION (exit 78: a restart would repeat it)", who, e.getMessage());
      code = Security.EXIT_CONFIG;
    } catch (AuthorizationException e) {
      LOG.error("Kafka does not authorize {} ({}): a consumer may read the topics its ACLs grant and use groups "
          + "its ACLs allow (--group {}); exit 77", who, e.getMessage(), options.group());
      code = Security.EXIT_NOT_AUTHORIZED;
    } catch (SchemaVerifier.RegistryRefusedException e) {
      LOG.error("{}", e.getMessage());
      code = Security.EXIT_CONFIG;
    } catch (KafkaException e) {
      LOG.error("fatal Kafka error: {}", rootMessage(e));
      LOG.debug("fatal Kafka error", e);
      code = EXIT_FATAL;
    } finally {
      try {
        out.flush();
      } catch (IOException e) {
        LOG.error("cannot write to stdout: {}", e.getMessage());
        code = EXIT_FATAL;
      }
      try {
        if (code == EXIT_OK || code == EXIT_FATAL) { // a refused client cannot commit either: one line, not two
          commitPending();
        }
      } catch (KafkaException e) {
        LOG.error("final commit failed: {}", rootMessage(e));
      }
      synchronized (lifecycle) { // the shutdown hook must not wake a closed consumer up
        try {
          consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
        } catch (KafkaException e) {
          LOG.warn("close: {}", rootMessage(e));
        }
        consumerClosed = true;
      }
    }
    LOG.info("{}: {} messages printed, {} records skipped in {} ms", why, printed, skipped,
        (System.nanoTime() - startNs) / 1_000_000);
    return code;
  }

  /**
   * Commits the offsets after the records handled so far without waiting for the broker; when the commit
   * fails, its offsets go back to {@code pending} (unless newer ones are there) for the next commit. The
   * callback runs inside a later poll or commit, on this thread.
   */
  private void commitPendingAsync() {
    if (pending.isEmpty()) {
      return;
    }
    Map<TopicPartition, OffsetAndMetadata> sent = new HashMap<>(pending);
    pending.clear();
    consumer.commitAsync(sent, (offsets, error) -> {
      if (error == null) {
        return;
      }
      LOG.warn("commit failed, retried with the next one: {}", rootMessage(error));
      offsets.forEach((tp, om) -> pending.merge(tp, om, (now, failed) -> now.offset() >= failed.offset() ? now : failed));
    });
  }

  /** Commits the offsets after the records handled so far (printed or skipped) and waits for the broker. */
  private void commitPending() {
    if (pending.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(new HashMap<>(pending), Duration.ofSeconds(10));
      pending.clear();
    } catch (WakeupException e) {
      // the signal arrived during the commit: commit again (the wakeup is consumed), then let the loop end
      consumer.commitSync(new HashMap<>(pending), Duration.ofSeconds(10));
      pending.clear();
      throw e;
    }
  }

  static Properties consumerProperties(Options o) {
    return consumerProperties(o, Map.of());
  }

  /** The consumer's properties: ours, then the security settings, then --property (which win). */
  static Properties consumerProperties(Options o, Map<String, String> security) {
    Properties p = new Properties();
    p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, o.bootstrap());
    p.put(ConsumerConfig.GROUP_ID_CONFIG, o.group());
    p.put(ConsumerConfig.CLIENT_ID_CONFIG, "txf-java-consumer");
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, o.fromBeginning() ? "earliest" : "latest");
    p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    p.putAll(security);
    p.putAll(o.properties());
    return p;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? e.toString() : e + " (cause: " + t + ")";
  }
}
