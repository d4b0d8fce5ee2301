package io.github.txfstream.consumer;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.util.Arrays;
import java.util.Map;

/**
 * Turns one record value into its output line:
 * {@code {"topic":..,"partition":..,"offset":..,"schemaId":..,"type":..,"message":{..}}} where message is the
 * canonical proto3 JSON of {@link JsonFormat#printer()} (lowerCamelCase names, 64-bit integers as strings, enums
 * by name, default values omitted), without insignificant whitespace.
 */
public final class JsonLines {
  private static final JsonFormat.Printer PRINTER = JsonFormat.printer().omittingInsignificantWhitespace();

  private final Map<String, TxfTypes.MessageType> types;
  private final SchemaVerifier verifier; // null: no registry check

  public JsonLines(Map<String, TxfTypes.MessageType> types, SchemaVerifier verifier) {
    this.types = types;
    this.verifier = verifier;
  }

  /** The JSON line (without newline) of a record value. */
  public String line(String topic, int partition, long offset, byte[] value) throws MalformedFrameException {
    TxfTypes.MessageType type = types.get(topic);
    if (type == null) {
      throw new MalformedFrameException("no message type for topic " + topic);
    }
    ConfluentFrame frame = ConfluentFrame.parse(value);
    if (verifier != null) {
      String[] why = new String[1];
      if (verifier.check(topic, frame.schemaId(), frame.messageIndexes(), type, why)
          == SchemaVerifier.Verdict.MISMATCH) {
        throw new MalformedFrameException(why[0]);
      }
    } else if (!Arrays.equals(frame.messageIndexes(), type.indexPath())) {
      // Without a registry the path can only be compared with where the contract's .proto file has the type.
      throw new MalformedFrameException("message-index path " + Arrays.toString(frame.messageIndexes())
          + " is not " + type.fullName() + "'s " + Arrays.toString(type.indexPath())
          + " (give --registry to resolve it against the writer's schema)");
    }
    Message msg;
    try {
      msg = type.parser().parseFrom(value, frame.payloadOffset(), frame.payloadLength());
    } catch (InvalidProtocolBufferException e) {
      throw new MalformedFrameException("payload is not a valid " + type.fullName() + ": " + e.getMessage());
    }
    String json;
    try {
      json = PRINTER.print(msg);
    } catch (InvalidProtocolBufferException e) { // only for Any without a type registry: not in the contract
      throw new MalformedFrameException("cannot print " + type.fullName() + " as JSON: " + e.getMessage());
    }
    StringBuilder sb = new StringBuilder(json.length() + topic.length() + 96);
    sb.append("{\"topic\":");
    appendJsonString(sb, topic);
    sb.append(",\"partition\":").append(partition)
        .append(",\"offset\":").append(offset)
        .append(",\"schemaId\":").append(Integer.toUnsignedLong(frame.schemaId()))
        .append(",\"type\":");
    appendJsonString(sb, type.fullName());
    sb.append(",\"message\":").append(json).append('}');
    return sb.toString();
  }

  static void appendJsonString(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
