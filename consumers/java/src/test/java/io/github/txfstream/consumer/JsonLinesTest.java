package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.github.txfstream.txf.v1.Tick;
import io.github.txfstream.txf.v1.TickType;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonLinesTest {
  private final JsonLines lines = new JsonLines(Map.of("t", TxfTypes.TICK, "we\"ird\\", TxfTypes.TICK), null);

  @Test
  void canonicalJsonOfATick() throws Exception {
    Tick tick = Tick.newBuilder().setCode("TXFK6").setClose(234_560_000L).setTickType(TickType.TICK_TYPE_BUY)
        .setSequence(-1L).build();
    byte[] value = GoldenVectors.concat(ConfluentFrame.header(5, 0), tick.toByteArray());
    String line = lines.line("t", 0, 12, value);
    assertEquals("{\"topic\":\"t\",\"partition\":0,\"offset\":12,\"schemaId\":5,\"type\":\"txf.v1.Tick\","
        + "\"message\":{\"code\":\"TXFK6\",\"close\":\"234560000\",\"tickType\":\"TICK_TYPE_BUY\","
        + "\"sequence\":\"18446744073709551615\"}}", line);
  }

  @Test
  void topicNameIsJsonEscaped() throws Exception {
    String line = lines.line("we\"ird\\", 1, 2, ConfluentFrame.header(5, 0));
    JsonObject o = JsonParser.parseString(line).getAsJsonObject();
    assertEquals("we\"ird\\", o.get("topic").getAsString());
    assertEquals(new JsonObject(), o.getAsJsonObject("message"));
  }

  @Test
  void garbagePayloadIsMalformed() {
    byte[] value = GoldenVectors.concat(ConfluentFrame.header(5, 0), HexFormat.of().parseHex("0aff"));
    MalformedFrameException e = assertThrows(MalformedFrameException.class, () -> lines.line("t", 0, 0, value));
    assertTrue(e.getMessage().startsWith("payload is not a valid txf.v1.Tick"), e.getMessage());
  }

  @Test
  void withoutARegistryTheIndexPathMustBeTheContractsPath() {
    byte[] value = ConfluentFrame.header(5, 1);
    MalformedFrameException e = assertThrows(MalformedFrameException.class, () -> lines.line("t", 0, 0, value));
    assertTrue(e.getMessage().startsWith("message-index path [1] is not txf.v1.Tick's [0]"), e.getMessage());
  }

  @Test
  void indexPathOfTheGeneratedTypes() {
    assertEquals("[0]", java.util.Arrays.toString(TxfTypes.TICK.indexPath()));
    assertEquals("[0]", java.util.Arrays.toString(TxfTypes.BIDASK.indexPath()));
  }
}
