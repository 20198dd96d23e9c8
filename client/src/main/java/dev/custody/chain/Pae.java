package dev.custody.chain;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** DSSE pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
public final class Pae {
  private Pae() {}

  public static byte[] encode(String payloadType, byte[] body) {
    byte[] type = payloadType.getBytes(StandardCharsets.UTF_8);
    byte[] head = ("DSSEv1 " + type.length + " ").getBytes(StandardCharsets.US_ASCII);
    byte[] middle = (" " + body.length + " ").getBytes(StandardCharsets.US_ASCII);
    // Sized once: this runs for every signature checked, and a growing buffer copied each link
    // twice.
    return ByteBuffer.allocate(head.length + type.length + middle.length + body.length)
        .put(head)
        .put(type)
        .put(middle)
        .put(body)
        .array();
  }
}
