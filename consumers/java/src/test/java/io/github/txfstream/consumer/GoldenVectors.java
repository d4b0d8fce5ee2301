package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertFalse;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/** tests/vectors/txf_v1.json (path from the txf.vectors system property set by the pom). */
final class GoldenVectors {
  record Vector(String name, String type, byte[] bytes, JsonObject json) {}

  private GoldenVectors() {}

  static List<Vector> load() throws Exception {
    String path = System.getProperty("txf.vectors", "../../tests/vectors/txf_v1.json");
    String text = Files.readString(Path.of(path), StandardCharsets.UTF_8);
    List<Vector> out = new ArrayList<>();
    for (JsonElement e : JsonParser.parseString(text).getAsJsonObject().getAsJsonArray("vectors")) {
      JsonObject v = e.getAsJsonObject();
      out.add(new Vector(v.get("name").getAsString(), v.get("type").getAsString(),
          HexFormat.of().parseHex(v.get("hex").getAsString()), v.getAsJsonObject("json")));
    }
    assertFalse(out.isEmpty(), "no vectors in " + path);
    return out;
  }

  static byte[] concat(byte[] a, byte[] b) {
    byte[] r = new byte[a.length + b.length];
    System.arraycopy(a, 0, r, 0, a.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
