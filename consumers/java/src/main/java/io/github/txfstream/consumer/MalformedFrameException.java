package io.github.txfstream.consumer;

/** A record value that is not in the Confluent protobuf wire format (or not decodable as the expected type). */
public final class MalformedFrameException extends Exception {
  public MalformedFrameException(String message) {
    super(message);
  }
}
