package io.github.txfstream.consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecurityTest {
  @TempDir Path dir;

  @Test
  void plaintextByDefault() throws Exception {
    assertEquals(Map.of("security.protocol", "PLAINTEXT"), Security.kafkaProperties(Map.of()));
  }

  @Test
  void saslSslWithPasswordFileAndCa() throws Exception {
    Path ca = Files.writeString(dir.resolve("ca.pem"), "pem");
    Path pw = Files.writeString(dir.resolve("pw"), "from\"file\n");
    Map<String, String> p = Security.kafkaProperties(Map.of(
        "TXF_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM", "scram-sha-512",
        "TXF_KAFKA_SASL_USERNAME", "reader-a", "TXF_KAFKA_SASL_PASSWORD_FILE", pw.toString(),
        "TXF_KAFKA_SSL_CA_LOCATION", ca.toString()));
    assertEquals("SASL_SSL", p.get("security.protocol"));
    assertEquals("SCRAM-SHA-512", p.get("sasl.mechanism"));
    assertEquals("PEM", p.get("ssl.truststore.type"));
    assertEquals(ca.toString(), p.get("ssl.truststore.location"));
    assertEquals("org.apache.kafka.common.security.scram.ScramLoginModule required username=\"reader-a\" "
        + "password=\"from\\\"file\";", p.get("sasl.jaas.config"));
  }

  @Test
  void wrongSettingsNameTheVariableNeverThePassword() {
    for (Map<String, String> env : new Map[] {
        Map.of("TXF_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM", "PLAIN",
            "TXF_KAFKA_SASL_USERNAME", "u"),
        Map.of("TXF_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "TXF_KAFKA_SASL_MECHANISM", "MD5",
            "TXF_KAFKA_SASL_USERNAME", "u", "TXF_KAFKA_SASL_PASSWORD", "hunter2"),
        Map.of("TXF_KAFKA_SECURITY_PROTOCOL", "TLS"),
        Map.of("TXF_KAFKA_SECURITY_PROTOCOL", "SSL", "TXF_KAFKA_SSL_CA_LOCATION", dir.resolve("nope").toString())}) {
      Security.SettingsException e = assertThrows(Security.SettingsException.class, () -> Security.kafkaProperties(env));
      assertFalse(e.getMessage().contains("hunter2"), e.getMessage());
      assertTrue(e.getMessage().startsWith("TXF_KAFKA_"), e.getMessage());
    }
    assertThrows(Security.SettingsException.class,
        () -> Security.registryBasicAuth(Map.of("TXF_REGISTRY_BASIC_AUTH", "no-colon")));
  }

  @Test
  void registryLoginFromAFileNeverBothForms() throws Exception {
    Path login = Files.writeString(dir.resolve("login"), "reader:s3cret\n");
    assertEquals("reader:s3cret",
        Security.registryBasicAuth(Map.of("TXF_REGISTRY_BASIC_AUTH_FILE", login.toString())));
    assertEquals("reader:env", Security.registryBasicAuth(Map.of("TXF_REGISTRY_BASIC_AUTH", "reader:env")));
    assertEquals(null, Security.registryBasicAuth(Map.of()));
    for (Map<String, String> env : new Map[] {
        Map.of("TXF_REGISTRY_BASIC_AUTH", "reader:s3cret", "TXF_REGISTRY_BASIC_AUTH_FILE", login.toString()),
        Map.of("TXF_REGISTRY_BASIC_AUTH_FILE", dir.resolve("nope").toString())}) {
      Security.SettingsException e =
          assertThrows(Security.SettingsException.class, () -> Security.registryBasicAuth(env));
      assertTrue(e.getMessage().contains("TXF_REGISTRY_BASIC_AUTH_FILE"), e.getMessage());
      assertFalse(e.getMessage().contains("s3cret"), e.getMessage());
    }
  }
}
