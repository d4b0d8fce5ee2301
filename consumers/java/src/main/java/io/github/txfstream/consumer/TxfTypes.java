package io.github.txfstream.consumer;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import io.github.txfstream.txf.v1.BidAsk;
import io.github.txfstream.txf.v1.Tick;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The txf.v1 message types this consumer decodes, and which topic carries which. */
public final class TxfTypes {
  /** A decodable message type of the generated binding. */
  public record MessageType(String fullName, Descriptor descriptor, Parser<? extends Message> parser) {
    /** Path of this type inside its .proto file, as the Confluent serializer writes it (e.g. [0]). */
    public int[] indexPath() {
      List<Integer> path = new ArrayList<>();
      for (Descriptor d = descriptor; d != null; d = d.getContainingType()) {
        path.add(0, d.getIndex());
      }
      return path.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public String toString() {
      return fullName;
    }
  }

  public static final MessageType TICK = of(Tick.getDescriptor(), Tick.parser());
  public static final MessageType BIDASK = of(BidAsk.getDescriptor(), BidAsk.parser());

  /** By full protobuf name. */
  public static final Map<String, MessageType> BY_NAME = Map.of(TICK.fullName(), TICK, BIDASK.fullName(), BIDASK);

  /** The contract's topics (schema-registry/subjects.toml). */
  public static final Map<String, MessageType> BY_TOPIC;

  static {
    Map<String, MessageType> m = new LinkedHashMap<>();
    m.put("txf-tick", TICK);
    m.put("txfr2-tick", TICK);
    m.put("txf-bidask", BIDASK);
    BY_TOPIC = Map.copyOf(m);
  }

  private TxfTypes() {}

  private static MessageType of(Descriptor d, Parser<? extends Message> p) {
    return new MessageType(d.getFullName(), d, p);
  }

  /**
   * The type of a topic by name: a contract topic ({@code txf-tick}, {@code txfr2-tick}, {@code txf-bidask}),
   * or one with a prefix ending in '.', '-' or '_' ({@code staging.txf-tick}, {@code e2e-42-txf-bidask}).
   */
  public static Optional<MessageType> forTopic(String topic) {
    for (Map.Entry<String, MessageType> e : BY_TOPIC.entrySet()) {
      String name = e.getKey();
      if (topic.equals(name)) {
        return Optional.of(e.getValue());
      }
      if (topic.endsWith(name) && topic.length() > name.length()) {
        char sep = topic.charAt(topic.length() - name.length() - 1);
        if (sep == '.' || sep == '-' || sep == '_') {
          return Optional.of(e.getValue());
        }
      }
    }
    return Optional.empty();
  }
}
