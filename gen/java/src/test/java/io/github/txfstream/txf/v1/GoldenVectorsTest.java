package io.github.txfstream.txf.v1;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Golden-vector test of the Java binding: every vector in tests/vectors/txf_v1.json decodes to its
 * canonical JSON and re-encodes to the same bytes.
 */
class GoldenVectorsTest {
  private static List<JsonObject> vectors() throws Exception {
    String path = System.getProperty("txf.vectors", "../../tests/vectors/txf_v1.json");
    String text = Files.readString(Path.of(path), StandardCharsets.UTF_8);
    List<JsonObject> out = new ArrayList<>();
    for (JsonElement e : JsonParser.parseString(text).getAsJsonObject().getAsJsonArray("vectors")) {
      out.add(e.getAsJsonObject());
    }
    assertFalse(out.isEmpty(), "no vectors in " + path);
    return out;
  }

  /**
   * The generated class of a vector's message (txf.v1.Gap -> io.github.txfstream.txf.v1.Gap), found by
   * name: a message added to the contract needs no change here.
   */
  private static Message.Builder builderFor(String type) {
    String prefix = "txf.v1.";
    if (!type.startsWith(prefix)) {
      throw new IllegalArgumentException("not a txf.v1 message: " + type);
    }
    try {
      Class<?> cls = Class.forName(Tick.class.getPackageName() + "." + type.substring(prefix.length()));
      return (Message.Builder) cls.getMethod("newBuilder").invoke(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalArgumentException("message type " + type + " is not in gen/java", e);
    }
  }

  @TestFactory
  Stream<DynamicTest> everyVectorRoundTrips() throws Exception {
    HexFormat hex = HexFormat.of();
    return vectors().stream()
        .map(
            v ->
                DynamicTest.dynamicTest(
                    v.get("name").getAsString(),
                    () -> {
                      String type = v.get("type").getAsString();
                      byte[] raw = hex.parseHex(v.get("hex").getAsString());
                      Message msg = builderFor(type).mergeFrom(raw).build();
                      JsonElement got = JsonParser.parseString(JsonFormat.printer().print(msg));
                      assertEquals(v.get("json"), got, "canonical JSON");
                      assertEquals(v.get("hex").getAsString(), hex.formatHex(msg.toByteArray()), "re-encoded bytes");
                      Message.Builder fromJson = builderFor(type);
                      JsonFormat.parser().merge(v.get("json").toString(), fromJson);
                      assertEquals(msg, fromJson.build(), "message parsed from JSON");
                    }));
  }
}
