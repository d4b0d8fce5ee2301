package io.github.txfstream.consumer;

import java.util.Arrays;

/**
 * One record value in the Confluent Schema Registry protobuf wire format, as written by
 * confluent-kafka's {@code ProtobufSerializer} (and Confluent's Java {@code KafkaProtobufSerializer}):
 *
 * <pre>
 *   byte 0      magic byte 0x00
 *   bytes 1..4  schema id, 32-bit big-endian
 *   then        message-index array: zig-zag varint count, then that many zig-zag varints
 *               (the path of the message type inside the schema's .proto file); the common case
 *               "first message of the file", i.e. [0], is written as the single byte 0x00
 *   rest        the protobuf-encoded message (may be empty: a message with all fields at default)
 * </pre>
 *
 * <p>Why a hand-written decoder: Confluent's Java serde ({@code io.confluent:kafka-protobuf-serializer})
 * is published only on packages.confluent.io, not on Maven Central, and that repository is not reachable
 * from this project's build machines ({@code mvn dependency:get} fails: "Could not transfer artifact
 * io.confluent:kafka-protobuf-serializer:pom:8.0.0 ... transfer failed"). The format is small and fixed;
 * this class is unit-tested against the golden vectors and against header bytes taken from
 * confluent-kafka 2.16's serializer. Magic byte 1 (the newer GUID-prefixed form) is rejected as unsupported.
 *
 * @param schemaId the registry schema id
 * @param messageIndexes the message-index path, never empty ([0] = first top-level message)
 * @param value the whole record value (not copied)
 * @param payloadOffset where the protobuf bytes start in {@code value}
 */
public record ConfluentFrame(int schemaId, int[] messageIndexes, byte[] value, int payloadOffset) {
  public static final byte MAGIC = 0;
  /** Upper bound for the index-array length (as in confluent-kafka); the remaining bytes bound it too. */
  static final int MAX_INDEXES = 100_000;

  /** Decodes the header of {@code value}; the payload is not parsed. */
  public static ConfluentFrame parse(byte[] value) throws MalformedFrameException {
    if (value == null) {
      throw new MalformedFrameException("null value (tombstone)");
    }
    if (value.length == 0) {
      throw new MalformedFrameException("empty value");
    }
    if (value[0] != MAGIC) {
      throw new MalformedFrameException(
          String.format("bad magic byte 0x%02x (expected 0x00)%s", value[0] & 0xff,
              value[0] == 1 ? ": GUID-prefixed schema ids are not supported" : ""));
    }
    if (value.length < 5) {
      throw new MalformedFrameException("truncated schema id: " + value.length + " bytes in value");
    }
    int schemaId =
        ((value[1] & 0xff) << 24) | ((value[2] & 0xff) << 16) | ((value[3] & 0xff) << 8) | (value[4] & 0xff);
    int[] pos = {5};
    int count = readZigZagVarint(value, pos, "message-index count");
    int[] indexes;
    if (count == 0) {
      indexes = new int[] {0};
    } else {
      // Each index takes at least one byte: a larger count cannot be genuine.
      if (count < 0 || count > MAX_INDEXES || count > value.length - pos[0]) {
        throw new MalformedFrameException("invalid message-index count " + count);
      }
      indexes = new int[count];
      for (int i = 0; i < count; i++) {
        indexes[i] = readZigZagVarint(value, pos, "message index " + i);
        if (indexes[i] < 0) {
          throw new MalformedFrameException("negative message index " + indexes[i]);
        }
      }
    }
    return new ConfluentFrame(schemaId, indexes, value, pos[0]);
  }

  /** The header bytes for {@code schemaId} and {@code indexes}, exactly as the Confluent serializers write them. */
  public static byte[] header(int schemaId, int... indexes) {
    if (indexes.length == 0) {
      throw new IllegalArgumentException("message-index path must not be empty");
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(16);
    out.write(MAGIC);
    out.write(schemaId >>> 24);
    out.write(schemaId >>> 16);
    out.write(schemaId >>> 8);
    out.write(schemaId);
    if (indexes.length == 1 && indexes[0] == 0) {
      out.write(0);
    } else {
      writeZigZagVarint(out, indexes.length);
      for (int i : indexes) {
        writeZigZagVarint(out, i);
      }
    }
    return out.toByteArray();
  }

  /** Length of the protobuf payload. */
  public int payloadLength() {
    return value.length - payloadOffset;
  }

  /** Bytes of the header (magic, id and index array). */
  public int headerLength() {
    return payloadOffset;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof ConfluentFrame f
        && schemaId == f.schemaId
        && payloadOffset == f.payloadOffset
        && Arrays.equals(messageIndexes, f.messageIndexes)
        && Arrays.equals(value, f.value);
  }

  @Override
  public int hashCode() {
    return 31 * (31 * schemaId + Arrays.hashCode(messageIndexes)) + Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return "ConfluentFrame[schemaId=" + schemaId + ", messageIndexes=" + Arrays.toString(messageIndexes)
        + ", payloadLength=" + payloadLength() + "]";
  }

  /** Reads one zig-zag varint (at most 5 bytes, 32-bit) at pos[0] and advances pos[0]. */
  private static int readZigZagVarint(byte[] b, int[] pos, String what) throws MalformedFrameException {
    int raw = 0;
    for (int shift = 0, i = pos[0]; ; shift += 7, i++) {
      if (i >= b.length) {
        throw new MalformedFrameException("truncated " + what + " at byte " + i);
      }
      if (shift > 28) {
        throw new MalformedFrameException(what + " varint longer than 5 bytes at byte " + pos[0]);
      }
      int cur = b[i] & 0xff;
      raw |= (cur & 0x7f) << shift;
      if ((cur & 0x80) == 0) {
        pos[0] = i + 1;
        return (raw >>> 1) ^ -(raw & 1);
      }
    }
  }

  private static void writeZigZagVarint(java.io.ByteArrayOutputStream out, int v) {
    int raw = (v << 1) ^ (v >> 31);
    while ((raw & ~0x7f) != 0) {
      out.write((raw & 0x7f) | 0x80);
      raw >>>= 7;
    }
    out.write(raw);
  }
}
