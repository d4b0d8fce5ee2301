package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionsTest {
  private static Options parse(String... args) throws Exception {
    return Options.parse(args, Map.of());
  }

  @Test
  void defaultsAndTypesByTopicName() throws Exception {
    Options o = parse("--topics", "txf-tick,txfr2-tick,txf-bidask,e2e-1-txf-bidask,stage.txf-tick");
    assertEquals("127.0.0.1:19092", o.bootstrap());
    assertNull(o.registry());
    assertEquals("txf-java-consumer", o.group());
    assertFalse(o.fromBeginning());
    assertEquals(0, o.maxMessages());
    assertEquals(0, o.idleExitMs());
    assertEquals(TxfTypes.TICK, o.types().get("txf-tick"));
    assertEquals(TxfTypes.TICK, o.types().get("txfr2-tick"));
    assertEquals(TxfTypes.BIDASK, o.types().get("txf-bidask"));
    assertEquals(TxfTypes.BIDASK, o.types().get("e2e-1-txf-bidask"));
    assertEquals(TxfTypes.TICK, o.types().get("stage.txf-tick"));
  }

  @Test
  void everyFlag() throws Exception {
    Options o = parse("--bootstrap", "h:1", "--registry=http://r/apis/ccompat/v7/", "--group", "g",
        "--topics", "a, b", "--from-beginning", "--max-messages", "7", "--idle-exit-ms=900",
        "--type", "a=txf.v1.BidAsk", "--type=b=txf.v1.Tick", "--property", "fetch.min.bytes=1");
    assertEquals("h:1", o.bootstrap());
    assertEquals("http://r/apis/ccompat/v7", o.registry());
    assertEquals("g", o.group());
    assertEquals(List.of("a", "b"), o.topics());
    assertTrue(o.fromBeginning());
    assertEquals(7, o.maxMessages());
    assertEquals(900, o.idleExitMs());
    assertEquals(Map.of("a", TxfTypes.BIDASK, "b", TxfTypes.TICK), o.types());
    assertEquals(Map.of("fetch.min.bytes", "1"), o.properties());
    assertEquals("1", TxfConsumer.consumerProperties(o).get("fetch.min.bytes"));
    assertEquals("earliest", TxfConsumer.consumerProperties(o).get("auto.offset.reset"));
    assertEquals("false", TxfConsumer.consumerProperties(o).get("enable.auto.commit"));
  }

  @Test
  void typeOverridesTheName() throws Exception {
    assertEquals(TxfTypes.BIDASK, parse("--topics", "txf-tick", "--type", "txf-tick=txf.v1.BidAsk").types()
        .get("txf-tick"));
  }

  @Test
  void bootstrapFromTheEnvironment() throws Exception {
    assertEquals("k:9", Options.parse(new String[] {"--topics", "txf-tick"}, Map.of("TXF_KAFKA_BOOTSTRAP", "k:9"))
        .bootstrap());
  }

  @Test
  void withoutTopicsTheTopicMapsDefaultTopics() throws Exception {
    Options o = parse();
    assertEquals(TopicMap.DEFAULT_TOPICS, o.topics());
    assertEquals(TxfTypes.BY_NAME.get("txf.v1.Gap"), TxfTypes.forTopic("leg-a.txf-gaps").orElseThrow());
  }

  @Test
  void usageErrors() {
    for (String[] args : new String[][] {
        {"--topics"},
        {"--topics", ","},
        {"--topics", "mystery"},
        {"--topics", "txf-tickets"},
        {"--topics", "a", "--type", "a=txf.v1.Nope"},
        {"--topics", "a", "--type", "b=txf.v1.Tick"},
        {"--topics", "txf-tick", "--max-messages", "-1"},
        {"--topics", "txf-tick", "--idle-exit-ms", "x"},
        {"--topics", "txf-tick", "--bogus"},
        {"--topics", "txf-tick", "--from-beginning=yes"},
    }) {
      assertThrows(Options.UsageException.class, () -> parse(args), String.join(" ", args));
    }
    assertThrows(Options.HelpRequested.class, () -> parse("--help"));
  }
}
