package io.github.txfstream.consumer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A secured cluster and registry, from the producer's variables (one vocabulary in every language):
 * TXF_KAFKA_SECURITY_PROTOCOL, TXF_KAFKA_SASL_MECHANISM, TXF_KAFKA_SASL_USERNAME, TXF_KAFKA_SASL_PASSWORD or
 * TXF_KAFKA_SASL_PASSWORD_FILE, TXF_KAFKA_SSL_CA_LOCATION; TXF_REGISTRY_BASIC_AUTH (user:password) or
 * TXF_REGISTRY_BASIC_AUTH_FILE, TXF_REGISTRY_SSL_CA_LOCATION. Passwords come from the environment or a file,
 * never a flag (flags show in ps); errors name the variable, never a password.
 */
final class Security {
  /** Exit codes that tell a service manager a restart cannot help (systemd RestartPreventExitStatus=77 78). */
  static final int EXIT_NOT_AUTHORIZED = 77;
  static final int EXIT_CONFIG = 78;

  /** A wrong or missing security setting (exit 78). */
  static final class SettingsException extends Exception {
    SettingsException(String message) {
      super(message);
    }
  }

  private static final Map<String, String> LOGIN_MODULES = Map.of(
      "PLAIN", "org.apache.kafka.common.security.plain.PlainLoginModule",
      "SCRAM-SHA-256", "org.apache.kafka.common.security.scram.ScramLoginModule",
      "SCRAM-SHA-512", "org.apache.kafka.common.security.scram.ScramLoginModule");

  private Security() {}

  /** Kafka client properties for the protocol in {@code env} (only security.protocol for PLAINTEXT). */
  static Map<String, String> kafkaProperties(Map<String, String> env) throws SettingsException {
    String protocol = env.getOrDefault("TXF_KAFKA_SECURITY_PROTOCOL", "").toUpperCase(Locale.ROOT);
    if (protocol.isEmpty()) {
      protocol = "PLAINTEXT";
    }
    if (!List.of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL").contains(protocol)) {
      throw new SettingsException("TXF_KAFKA_SECURITY_PROTOCOL=" + protocol
          + ": not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    }
    Map<String, String> p = new LinkedHashMap<>();
    p.put("security.protocol", protocol);
    String ca = env.getOrDefault("TXF_KAFKA_SSL_CA_LOCATION", "");
    if (!ca.isEmpty()) {
      if (!Files.isRegularFile(Path.of(ca))) {
        throw new SettingsException("TXF_KAFKA_SSL_CA_LOCATION=" + ca + ": no such file (PEM CA certificates)");
      }
      p.put("ssl.truststore.type", "PEM");
      p.put("ssl.truststore.location", ca);
    }
    if (!protocol.startsWith("SASL_")) {
      return p;
    }
    String password = secretFromEnv(env, "TXF_KAFKA_SASL_PASSWORD");
    String mechanism = env.getOrDefault("TXF_KAFKA_SASL_MECHANISM", "").toUpperCase(Locale.ROOT);
    String user = env.getOrDefault("TXF_KAFKA_SASL_USERNAME", "");
    List<String> missing = new ArrayList<>();
    if (mechanism.isEmpty()) {
      missing.add("TXF_KAFKA_SASL_MECHANISM");
    }
    if (user.isEmpty()) {
      missing.add("TXF_KAFKA_SASL_USERNAME");
    }
    if (password.isEmpty()) {
      missing.add("TXF_KAFKA_SASL_PASSWORD or TXF_KAFKA_SASL_PASSWORD_FILE");
    }
    if (!missing.isEmpty()) {
      throw new SettingsException("TXF_KAFKA_SECURITY_PROTOCOL=" + protocol + " needs " + String.join(", ", missing));
    }
    String module = LOGIN_MODULES.get(mechanism);
    if (module == null) {
      throw new SettingsException("TXF_KAFKA_SASL_MECHANISM=" + mechanism
          + ": not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512");
    }
    p.put("sasl.mechanism", mechanism);
    p.put("sasl.jaas.config", module + " required username=\"" + jaasEscape(user) + "\" password=\""
        + jaasEscape(password) + "\";");
    return p;
  }

  /** The SASL user in {@code env}, "" without one (for messages). */
  static String user(Map<String, String> env) {
    return env.getOrDefault("TXF_KAFKA_SASL_USERNAME", "");
  }

  private static String jaasEscape(String s) {
    return s.replace("\\", "\\\\").replace("\"", "\\\"");
  }

  /**
   * The secret in the variable {@code name}, or in the file {@code name_FILE} names (a systemd credential, a
   * mounted secret: never in the process environment); "" when neither is set. Both set is an error.
   */
  static String secretFromEnv(Map<String, String> env, String name) throws SettingsException {
    String value = env.getOrDefault(name, "");
    String path = env.getOrDefault(name + "_FILE", "");
    if (!value.isEmpty() && !path.isEmpty()) {
      throw new SettingsException(name + " and " + name + "_FILE are both set: keep one");
    }
    return path.isEmpty() ? value : readSecret(path, name + "_FILE");
  }

  private static String readSecret(String path, String variable) throws SettingsException {
    String text;
    try {
      text = Files.readString(Path.of(path), StandardCharsets.UTF_8).replaceAll("[\\r\\n]+$", "");
    } catch (IOException | RuntimeException e) {
      throw new SettingsException(variable + "=" + path + ": cannot read it");
    }
    if (text.isEmpty()) {
      throw new SettingsException(variable + "=" + path + ": the file is empty");
    }
    return text;
  }

  /** The registry's basic auth ("user:password") from {@code env} (or the file it names), or null. */
  static String registryBasicAuth(Map<String, String> env) throws SettingsException {
    String v = secretFromEnv(env, "TXF_REGISTRY_BASIC_AUTH");
    if (v.isEmpty()) {
      return null;
    }
    if (!v.contains(":")) {
      throw new SettingsException("TXF_REGISTRY_BASIC_AUTH: want user:password");
    }
    return v;
  }

  /** An SSLContext trusting the CAs of TXF_REGISTRY_SSL_CA_LOCATION, or null for the JDK's defaults. */
  static SSLContext registryTls(Map<String, String> env) throws SettingsException {
    String path = env.getOrDefault("TXF_REGISTRY_SSL_CA_LOCATION", "");
    if (path.isEmpty()) {
      return null;
    }
    try (InputStream in = Files.newInputStream(Path.of(path))) {
      KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
      trust.load(null, null);
      int i = 0;
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        trust.setCertificateEntry("ca-" + i++, c);
      }
      if (i == 0) {
        throw new SettingsException("TXF_REGISTRY_SSL_CA_LOCATION=" + path + ": no PEM certificate in it");
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new SettingsException("TXF_REGISTRY_SSL_CA_LOCATION=" + path + ": cannot use it (" + e.getMessage() + ")");
    }
  }
}
