package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.HexFormat;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfluentFrameTest {
  private static final HexFormat HEX = HexFormat.of();
  private static final Map<String, TxfTypes.MessageType> TYPES = TxfTypes.BY_TOPIC;

  /** Every golden vector behind a real header decodes to the vector's canonical JSON inside the output line. */
  @TestFactory
  Stream<DynamicTest> goldenVectorsFramedDecodeToTheirCanonicalJson() throws Exception {
    JsonLines lines = new JsonLines(TYPES, null);
    return GoldenVectors.load().stream().map(v -> DynamicTest.dynamicTest(v.name(), () -> {
      String topic = TopicMap.MESSAGES.entrySet().stream().filter(e -> e.getValue().equals(v.type()))
          .map(Map.Entry::getKey).sorted().findFirst().orElseThrow(() -> new AssertionError("no topic for " + v.type()));
      int schemaId = 1 + v.name().length();
      byte[] header = ConfluentFrame.header(schemaId, 0);
      assertEquals("00" + String.format("%08x", schemaId) + "00", HEX.formatHex(header));
      byte[] value = GoldenVectors.concat(header, v.bytes());

      ConfluentFrame f = ConfluentFrame.parse(value);
      assertEquals(schemaId, f.schemaId());
      assertArrayEquals(new int[] {0}, f.messageIndexes());
      assertEquals(6, f.headerLength());
      assertEquals(v.bytes().length, f.payloadLength());

      String line = lines.line(topic, 3, 1234567890123L, value);
      assertTrue(!line.contains("\n") && !line.contains(": "), "one compact line: " + line);
      JsonObject got = JsonParser.parseString(line).getAsJsonObject();
      JsonObject want = new JsonObject();
      want.addProperty("topic", topic);
      want.addProperty("partition", 3);
      want.addProperty("offset", 1234567890123L);
      want.addProperty("schemaId", schemaId);
      want.addProperty("type", v.type());
      want.add("message", v.json());
      assertEquals(want, got);
    }));
  }

  /** Header bytes as confluent-kafka 2.16's ProtobufSerializer writes them (magic, id, _encode_varints(path)). */
  @ParameterizedTest
  @CsvSource({
    "00 00000002 00,         0,       2",
    "00 00000007 0202,       1,       7",
    "00 00000001 040002,     0 1,     1",
    "00 00000001 0604068001, 2 3 64,  1",
    "00 80000001 060200d804, 1 0 300, -2147483647",
  })
  void headerBytesMatchConfluentKafka(String hex, String path, int schemaId) {
    int[] indexes = Stream.of(path.split(" ")).mapToInt(Integer::parseInt).toArray();
    assertArrayEquals(HEX.parseHex(hex.replace(" ", "")), ConfluentFrame.header(schemaId, indexes));
  }

  @Test
  void parsesHeadersWrittenByConfluentKafka() throws Exception {
    ConfluentFrame f = ConfluentFrame.parse(HEX.parseHex("00" + "80000001" + "060200d804" + "0a0154"));
    assertEquals(0x80000001, f.schemaId());
    assertArrayEquals(new int[] {1, 0, 300}, f.messageIndexes());
    assertEquals(10, f.headerLength());
    assertEquals(3, f.payloadLength());

    ConfluentFrame g = ConfluentFrame.parse(HEX.parseHex("00000000070202"));
    assertEquals(7, g.schemaId());
    assertArrayEquals(new int[] {1}, g.messageIndexes());
    assertEquals(0, g.payloadLength());
  }

  @Test
  void randomHeadersRoundTrip() throws Exception {
    Random rnd = new Random(42);
    for (int n = 0; n < 2000; n++) {
      int[] path = new int[1 + rnd.nextInt(4)];
      for (int i = 0; i < path.length; i++) {
        path[i] = rnd.nextBoolean() ? rnd.nextInt(3) : rnd.nextInt(Integer.MAX_VALUE);
      }
      int id = rnd.nextInt();
      byte[] payload = new byte[rnd.nextInt(4)];
      rnd.nextBytes(payload);
      byte[] header = ConfluentFrame.header(id, path);
      ConfluentFrame f = ConfluentFrame.parse(GoldenVectors.concat(header, payload));
      assertEquals(id, f.schemaId());
      assertArrayEquals(path, f.messageIndexes());
      assertEquals(header.length, f.headerLength());
      assertEquals(payload.length, f.payloadLength());
    }
  }

  @ParameterizedTest(name = "[{index}] {1}")
  @CsvSource({
    "'',                      empty value",
    "01000000020a0154,        'bad magic byte 0x01 (expected 0x00): GUID-prefixed'",
    "ff000000020a,            bad magic byte 0xff",
    "7b22636f6465223a317d,    bad magic byte 0x7b",
    "00,                      truncated schema id",
    "00000000,                truncated schema id",
    "0000000002,              truncated message-index count at byte 5",
    "000000000280,            truncated message-index count at byte 6",
    "00000000020280,          truncated message index 0 at byte 7",
    "000000000201,            invalid message-index count -1",
    "00000000021400,          invalid message-index count 10",
    "0000000002ffffffffff01,  message-index count varint longer than 5 bytes",
    "00000000020201,          negative message index -1",
  })
  void malformedValuesAreRejectedWithAReason(String hex, String reason) {
    MalformedFrameException e =
        assertThrows(MalformedFrameException.class, () -> ConfluentFrame.parse(HEX.parseHex(hex)));
    assertTrue(e.getMessage().startsWith(reason), e.getMessage());
  }

  @Test
  void nullValueIsATombstone() {
    MalformedFrameException e = assertThrows(MalformedFrameException.class, () -> ConfluentFrame.parse(null));
    assertEquals("null value (tombstone)", e.getMessage());
  }
}
