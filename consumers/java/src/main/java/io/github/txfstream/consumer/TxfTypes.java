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

  /** By full protobuf name: every message the topic map names, found in the generated binding. */
  public static final Map<String, MessageType> BY_NAME;

  /** The topic map's topics (kit/txf_kit/subjects.toml, generated into {@link TopicMap}). */
  public static final Map<String, MessageType> BY_TOPIC;

  static {
    Map<String, MessageType> byName = new LinkedHashMap<>();
    byName.put(TICK.fullName(), TICK);
    byName.put(BIDASK.fullName(), BIDASK);
    Map<String, MessageType> byTopic = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : TopicMap.MESSAGES.entrySet()) {
      MessageType t = byName.containsKey(e.getValue()) ? byName.get(e.getValue()) : generated(e.getValue());
      if (t != null) { // a message newer than the installed txf-contracts: its topics need --type or an upgrade
        byName.put(t.fullName(), t);
        byTopic.put(e.getKey(), t);
      }
    }
    BY_NAME = Map.copyOf(byName);
    BY_TOPIC = Map.copyOf(byTopic);
  }

  private TxfTypes() {}

  private static MessageType of(Descriptor d, Parser<? extends Message> p) {
    return new MessageType(d.getFullName(), d, p);
  }

  /**
   * The generated class of a txf.v1 message (txf.v1.Gap -> io.github.txfstream.txf.v1.Gap); null when the
   * installed txf-contracts is older than the message.
   */
  private static MessageType generated(String fullName) {
    String prefix = "txf.v1.";
    if (!fullName.startsWith(prefix)) {
      throw new IllegalStateException("the topic map names " + fullName + ", not a txf.v1 message");
    }
    Class<?> cls;
    try {
      cls = Class.forName(Tick.class.getPackageName() + "." + fullName.substring(prefix.length()));
    } catch (ClassNotFoundException e) {
      return null;
    }
    try {
      Descriptor d = (Descriptor) cls.getMethod("getDescriptor").invoke(null);
      @SuppressWarnings("unchecked")
      Parser<? extends Message> p = (Parser<? extends Message>) cls.getMethod("parser").invoke(null);
      return of(d, p);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(
          "the topic map names " + fullName + ", which the installed txf-contracts does not have", e);
    }
  }

  /**
   * The type of a topic by name: a topic-map topic ({@code txf-tick}, {@code txf-bidask}, {@code txf-gaps}, ...),
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
