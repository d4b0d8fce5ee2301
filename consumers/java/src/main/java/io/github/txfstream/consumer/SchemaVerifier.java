package io.github.txfstream.consumer;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.protobuf.DescriptorProtos.DescriptorProto;
import com.google.protobuf.DescriptorProtos.FileDescriptorProto;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks a record's schema id against a Confluent-compatible registry: {@code GET {registry}/schemas/ids/{id}}
 * is asked once per id, then the record's message-index path is resolved in that schema to a full message
 * name, which must equal the type the consumer decodes the topic with.
 *
 * <p>The schema comes as stored: Apicurio's ccompat API answers the base64 FileDescriptorProto that
 * confluent-kafka registered (its {@code ?format=serialized} answers HTTP 500, so it is not used); Confluent's
 * registry answers .proto text. Both are understood. A registry that cannot be reached (or answers 5xx) makes the
 * check "unavailable": a warning once per id, and the records are still decoded with the generated binding.
 */
public final class SchemaVerifier {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaVerifier.class);

  /** The outcome for one record. */
  public enum Verdict {
    OK,
    /** The id is unknown to the registry, not protobuf, or names another message type: skip the record. */
    MISMATCH,
    /** The registry could not answer: decode anyway. */
    UNAVAILABLE
  }

  /** A schema fetched (or failed to fetch) for one id. */
  private record Fetched(String schemaType, String schema, Verdict failure, String reason) {}

  /** The registry refused our credentials (401/403) or its certificate is not trusted: exit 78. */
  public static final class RegistryRefusedException extends RuntimeException {
    RegistryRefusedException(String message) {
      super(message);
    }
  }

  private final String baseUrl;
  private final HttpClient http;
  private final String authorization; // "Basic ..." or null
  private final Map<Integer, Fetched> byId = new HashMap<>();
  private final Map<String, Verdict> reported = new HashMap<>();

  public SchemaVerifier(String baseUrl) {
    this(baseUrl, null, null);
  }

  /**
   * A verifier for a registry behind basic auth ({@code basicAuth} "user:password", or null) and/or TLS with
   * a private CA ({@code tls}, or null for the JDK's trust store).
   */
  public SchemaVerifier(String baseUrl, String basicAuth, javax.net.ssl.SSLContext tls) {
    this.baseUrl = baseUrl;
    HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5));
    if (tls != null) {
      b.sslContext(tls);
    }
    this.http = b.build();
    this.authorization = basicAuth == null ? null
        : "Basic " + java.util.Base64.getEncoder().encodeToString(basicAuth.getBytes(StandardCharsets.UTF_8));
  }

  /** Number of ids asked from the registry so far. */
  public int fetchedIds() {
    return byId.size();
  }

  /**
   * The verdict for a record of {@code topic} framed with {@code schemaId}/{@code indexes} and decoded as
   * {@code expected}; a problem is logged once per (topic, id, path) and {@code reason[0]} gets it.
   */
  public Verdict check(String topic, int schemaId, int[] indexes, TxfTypes.MessageType expected, String[] reason) {
    Fetched f = byId.computeIfAbsent(schemaId, this::fetch);
    Verdict verdict;
    String why;
    if (f.failure != null) {
      verdict = f.failure;
      why = f.reason;
    } else {
      try {
        String name = messageName(f.schemaType, f.schema, indexes);
        if (name.equals(expected.fullName())) {
          verdict = Verdict.OK;
          why = "schema id " + schemaId + " " + Arrays.toString(indexes) + " is " + name;
        } else {
          verdict = Verdict.MISMATCH;
          why = "schema id " + schemaId + " " + Arrays.toString(indexes) + " is " + name + ", topic " + topic
              + " is read as " + expected.fullName();
        }
      } catch (IllegalArgumentException e) {
        verdict = Verdict.MISMATCH;
        why = "schema id " + schemaId + ": " + e.getMessage();
      }
    }
    reason[0] = why;
    String key = topic + "/" + schemaId + "/" + Arrays.toString(indexes);
    if (reported.put(key, verdict) == null) {
      switch (verdict) {
        case OK -> LOG.info("verified {} on topic {}", why, topic);
        case MISMATCH -> LOG.error("registry check failed: {}; such records are skipped", why);
        case UNAVAILABLE -> LOG.warn("registry check unavailable: {}; decoding records as {} anyway", why,
            expected.fullName());
      }
    }
    return verdict;
  }

  private Fetched fetch(int id) {
    URI uri = URI.create(baseUrl + "/schemas/ids/" + Integer.toUnsignedString(id));
    HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10))
        .header("Accept", "application/vnd.schemaregistry.v1+json, application/json");
    if (authorization != null) {
      rb.header("Authorization", authorization);
    }
    HttpRequest req = rb.GET().build();
    HttpResponse<String> resp;
    try {
      resp = http.send(req, HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
    } catch (javax.net.ssl.SSLHandshakeException e) {
      throw new RegistryRefusedException("registry " + baseUrl + ": TLS certificate not trusted (" + e.getMessage()
          + "); fix TXF_REGISTRY_SSL_CA_LOCATION");
    } catch (IOException e) {
      return new Fetched(null, null, Verdict.UNAVAILABLE, "GET " + uri + ": " + e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Fetched(null, null, Verdict.UNAVAILABLE, "GET " + uri + ": interrupted");
    }
    int status = resp.statusCode();
    if (status == 401 || status == 403) {
      throw new RegistryRefusedException("registry refused GET " + uri + " (HTTP " + status
          + "); fix TXF_REGISTRY_BASIC_AUTH (user:password) or TXF_REGISTRY_BASIC_AUTH_FILE");
    }
    if (status == 404) {
      return new Fetched(null, null, Verdict.MISMATCH, "unknown to the registry (GET " + uri + " -> 404)");
    }
    if (status != 200) {
      return new Fetched(null, null, Verdict.UNAVAILABLE, "GET " + uri + " -> HTTP " + status);
    }
    try {
      JsonObject body = JsonParser.parseString(resp.body()).getAsJsonObject();
      JsonElement type = body.get("schemaType");
      JsonElement schema = body.get("schema");
      if (schema == null || !schema.isJsonPrimitive()) {
        return new Fetched(null, null, Verdict.UNAVAILABLE, "GET " + uri + ": no 'schema' in the answer");
      }
      // Confluent omits schemaType for AVRO.
      return new Fetched(type == null ? "AVRO" : type.getAsString(), schema.getAsString(), null, null);
    } catch (RuntimeException e) {
      return new Fetched(null, null, Verdict.UNAVAILABLE, "GET " + uri + ": unreadable answer: " + e.getMessage());
    }
  }

  /**
   * The full name of the message at {@code indexes} in a registry schema: a base64 FileDescriptorProto
   * (as stored by Apicurio) or .proto text (as Confluent answers).
   *
   * @throws IllegalArgumentException when the schema is not protobuf or has no message at that path
   */
  public static String messageName(String schemaType, String schema, int[] indexes) {
    if (!"PROTOBUF".equals(schemaType)) {
      throw new IllegalArgumentException("schema type is " + schemaType + ", not PROTOBUF");
    }
    FileDescriptorProto file = null;
    try {
      byte[] raw = Base64.getDecoder().decode(schema.strip());
      file = FileDescriptorProto.parseFrom(raw);
    } catch (IllegalArgumentException | InvalidProtocolBufferException e) {
      // not base64: .proto text
    }
    if (file != null) {
      return nameIn(file, indexes);
    }
    return nameInProtoText(schema, indexes);
  }

  static String nameIn(FileDescriptorProto file, int[] indexes) {
    StringBuilder name = new StringBuilder(file.getPackage());
    List<DescriptorProto> level = file.getMessageTypeList();
    for (int i : indexes) {
      if (i < 0 || i >= level.size()) {
        throw new IllegalArgumentException("no message at index path " + Arrays.toString(indexes) + " in "
            + file.getName());
      }
      DescriptorProto m = level.get(i);
      if (name.length() > 0) {
        name.append('.');
      }
      name.append(m.getName());
      level = m.getNestedTypeList();
    }
    return name.toString();
  }

  /** A message declaration found in .proto text. */
  private static final class Node {
    final String name;
    final List<Node> children = new ArrayList<>();

    Node(String name) {
      this.name = name;
    }
  }

  /** Resolves the path in .proto text with a small tokenizer (comments, strings, blocks; no full parser). */
  static String nameInProtoText(String text, int[] indexes) {
    List<String> tokens = tokenize(text);
    String pkg = "";
    Node root = new Node("");
    List<Node> stack = new ArrayList<>(); // null = a non-message block (enum, oneof, service, option value)
    stack.add(root);
    for (int i = 0; i < tokens.size(); i++) {
      String t = tokens.get(i);
      Node scope = stack.get(stack.size() - 1);
      if (t.equals("package") && stack.size() == 1) {
        StringBuilder p = new StringBuilder();
        for (i++; i < tokens.size() && !tokens.get(i).equals(";"); i++) {
          p.append(tokens.get(i));
        }
        pkg = p.toString();
      } else if (t.equals("message") && i + 2 < tokens.size() && tokens.get(i + 2).equals("{") && scope != null
          && isIdent(tokens.get(i + 1))) {
        Node n = new Node(tokens.get(i + 1));
        scope.children.add(n);
        stack.add(n);
        i += 2;
      } else if (t.equals("{")) {
        stack.add(null);
      } else if (t.equals("}")) {
        if (stack.size() == 1) {
          throw new IllegalArgumentException("unbalanced braces in .proto text");
        }
        stack.remove(stack.size() - 1);
      }
    }
    StringBuilder name = new StringBuilder(pkg);
    Node at = root;
    for (int i : indexes) {
      if (i < 0 || i >= at.children.size()) {
        throw new IllegalArgumentException("no message at index path " + Arrays.toString(indexes));
      }
      at = at.children.get(i);
      if (name.length() > 0) {
        name.append('.');
      }
      name.append(at.name);
    }
    return name.toString();
  }

  private static boolean isIdent(String t) {
    return !t.isEmpty() && (Character.isLetter(t.charAt(0)) || t.charAt(0) == '_');
  }

  private static List<String> tokenize(String s) {
    List<String> out = new ArrayList<>();
    int n = s.length();
    for (int i = 0; i < n; ) {
      char c = s.charAt(i);
      if (Character.isWhitespace(c)) {
        i++;
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '/') {
        while (i < n && s.charAt(i) != '\n') {
          i++;
        }
      } else if (c == '/' && i + 1 < n && s.charAt(i + 1) == '*') {
        int end = s.indexOf("*/", i + 2);
        i = end < 0 ? n : end + 2;
      } else if (c == '"' || c == '\'') {
        int j = i + 1;
        while (j < n && s.charAt(j) != c) {
          j += s.charAt(j) == '\\' ? 2 : 1;
        }
        out.add("\"\"");
        i = Math.min(n, j + 1);
      } else if (Character.isLetterOrDigit(c) || c == '_' || c == '.') {
        int j = i;
        while (j < n && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_' || s.charAt(j) == '.')) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      } else {
        out.add(String.valueOf(c));
        i++;
      }
    }
    return out;
  }
}
