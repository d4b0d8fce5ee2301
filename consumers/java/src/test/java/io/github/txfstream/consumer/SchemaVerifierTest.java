package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.sun.net.httpserver.HttpServer;
import io.github.txfstream.txf.v1.BidAsk;
import io.github.txfstream.txf.v1.Tick;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class SchemaVerifierTest {
  private static String b64(FileDescriptorProto f) {
    return Base64.getEncoder().encodeToString(f.toByteArray());
  }

  @Test
  void base64FileDescriptorAsApicurioStoresIt() {
    assertEquals("txf.v1.Tick",
        SchemaVerifier.messageName("PROTOBUF", b64(Tick.getDescriptor().getFile().toProto()), new int[] {0}));
    assertEquals("txf.v1.BidAsk",
        SchemaVerifier.messageName("PROTOBUF", b64(BidAsk.getDescriptor().getFile().toProto()), new int[] {0}));
    FileDescriptorProto nested = FileDescriptorProto.newBuilder().setName("n.proto").setPackage("p")
        .addMessageType(DescriptorProto.newBuilder().setName("A"))
        .addMessageType(DescriptorProto.newBuilder().setName("B")
            .addNestedType(DescriptorProto.newBuilder().setName("C"))
            .addNestedType(DescriptorProto.newBuilder().setName("D")))
        .build();
    assertEquals("p.B.D", SchemaVerifier.messageName("PROTOBUF", b64(nested), new int[] {1, 1}));
    assertThrows(IllegalArgumentException.class,
        () -> SchemaVerifier.messageName("PROTOBUF", b64(nested), new int[] {2}));
    assertThrows(IllegalArgumentException.class,
        () -> SchemaVerifier.messageName("AVRO", b64(nested), new int[] {0}));
  }

  @Test
  void protoTextAsConfluentAnswers() throws Exception {
    Path repo = Path.of(System.getProperty("txf.vectors", "../../tests/vectors/txf_v1.json")).getParent()
        .getParent().getParent();
    for (String file : List.of("tick", "bidask")) {
      String text = Files.readString(repo.resolve("proto/txf/v1/" + file + ".proto"), StandardCharsets.UTF_8);
      assertEquals(file.equals("tick") ? "txf.v1.Tick" : "txf.v1.BidAsk",
          SchemaVerifier.messageName("PROTOBUF", text, new int[] {0}));
    }
    String tricky = String.join("\n",
        "syntax = \"proto3\";",
        "// message Commented {",
        "/* message Block { */",
        "package a.b;",
        "import \"x/message Y {.proto\";",
        "enum E { E_UNSPECIFIED = 0; }",
        "message First { string message = 1; oneof o { int32 x = 2; } message Inner { } }",
        "service S { rpc M(First) returns (First) { option (x) = { a: 1 }; } }",
        "message Second { message N1 { } message N2 { message Deep { } } }");
    assertEquals("a.b.First", SchemaVerifier.messageName("PROTOBUF", tricky, new int[] {0}));
    assertEquals("a.b.First.Inner", SchemaVerifier.messageName("PROTOBUF", tricky, new int[] {0, 0}));
    assertEquals("a.b.Second.N2.Deep", SchemaVerifier.messageName("PROTOBUF", tricky, new int[] {1, 1, 0}));
    assertThrows(IllegalArgumentException.class,
        () -> SchemaVerifier.messageName("PROTOBUF", tricky, new int[] {2}));
  }

  @Test
  void asksTheRegistryOncePerIdAndJudges() throws Exception {
    Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    String tick = b64(Tick.getDescriptor().getFile().toProto());
    HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/ccompat/schemas/ids/", ex -> {
      String id = ex.getRequestURI().getPath().replaceAll(".*/", "");
      hits.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
      String body;
      int status = 200;
      switch (id) {
        case "1" -> body = "{\"schema\":\"" + tick + "\",\"schemaType\":\"PROTOBUF\",\"references\":[]}";
        case "2" -> body = "{\"schema\":\"{\\\"type\\\":\\\"string\\\"}\"}"; // AVRO: no schemaType
        case "3" -> {
          status = 500;
          body = "{\"error_code\":500}";
        }
        default -> {
          status = 404;
          body = "{\"error_code\":40403}";
        }
      }
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.sendResponseHeaders(status, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    server.start();
    try {
      SchemaVerifier v = new SchemaVerifier("http://127.0.0.1:" + server.getAddress().getPort() + "/ccompat");
      String[] why = new String[1];
      for (int i = 0; i < 3; i++) {
        assertEquals(SchemaVerifier.Verdict.OK, v.check("t", 1, new int[] {0}, TxfTypes.TICK, why));
      }
      assertEquals(SchemaVerifier.Verdict.MISMATCH, v.check("b", 1, new int[] {0}, TxfTypes.BIDASK, why));
      assertTrue(why[0].contains("is txf.v1.Tick, topic b is read as txf.v1.BidAsk"), why[0]);
      assertEquals(SchemaVerifier.Verdict.MISMATCH, v.check("t", 1, new int[] {4}, TxfTypes.TICK, why));
      assertEquals(SchemaVerifier.Verdict.MISMATCH, v.check("t", 2, new int[] {0}, TxfTypes.TICK, why));
      assertTrue(why[0].contains("not PROTOBUF"), why[0]);
      assertEquals(SchemaVerifier.Verdict.UNAVAILABLE, v.check("t", 3, new int[] {0}, TxfTypes.TICK, why));
      assertEquals(SchemaVerifier.Verdict.MISMATCH, v.check("t", 9, new int[] {0}, TxfTypes.TICK, why));
      assertTrue(why[0].contains("404"), why[0]);
      assertEquals(SchemaVerifier.Verdict.MISMATCH, v.check("t", 9, new int[] {0}, TxfTypes.TICK, why));
      assertEquals(Map.of("1", 1, "2", 1, "3", 1, "9", 1),
          Map.of("1", hits.get("1").get(), "2", hits.get("2").get(), "3", hits.get("3").get(),
              "9", hits.get("9").get()));
      assertEquals(4, v.fetchedIds());
    } finally {
      server.stop(0);
    }
  }

  @Test
  void unreachableRegistryIsUnavailableNotFatal() throws Exception {
    int port;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    SchemaVerifier v = new SchemaVerifier("http://127.0.0.1:" + port);
    String[] why = new String[1];
    assertEquals(SchemaVerifier.Verdict.UNAVAILABLE, v.check("t", 1, new int[] {0}, TxfTypes.TICK, why));
  }
}
