package dev.custody.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;

/**
 * Builds real OCI image layouts for tests: ustar layers, gzip blobs, a config with rootfs.diff_ids,
 * manifests and index.json, one tag per step ("step0" has layer 0, "step1" layers 0-1, ...), each
 * image built on the last as teams do.
 */
public final class OciLayouts {
  private OciLayouts() {}

  public static void build(Path dir, int layers, String seed) throws Exception {
    Files.createDirectories(dir.resolve("blobs/sha256"));
    Files.writeString(dir.resolve("oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}");
    List<String> layerDescs = new ArrayList<>();
    List<String> diffIds = new ArrayList<>();
    List<String> manifests = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      byte[] tar =
          tar(
              "layer" + i + "/file.txt",
              (seed + " layer " + i + " content\n").repeat(20).getBytes(StandardCharsets.UTF_8));
      ByteArrayOutputStream gz = new ByteArrayOutputStream();
      try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
        g.write(tar);
      }
      String digest = blob(dir, gz.toByteArray());
      diffIds.add("\"sha256:" + sha256(tar) + "\"");
      layerDescs.add(
          "{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\""
              + digest
              + "\",\"size\":"
              + gz.size()
              + "}");
      String config =
          "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
              + String.join(",", diffIds)
              + "]}}";
      String configDigest = blob(dir, config.getBytes(StandardCharsets.UTF_8));
      String manifest =
          "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\","
              + "\"config\":{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\""
              + configDigest
              + "\",\"size\":"
              + config.length()
              + "},\"layers\":["
              + String.join(",", layerDescs)
              + "]}";
      byte[] mb = manifest.getBytes(StandardCharsets.UTF_8);
      manifests.add(
          "{\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"digest\":\""
              + blob(dir, mb)
              + "\",\"size\":"
              + mb.length
              + ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"step"
              + i
              + "\"}}");
    }
    Files.writeString(
        dir.resolve("index.json"),
        "{\"schemaVersion\":2,\"manifests\":[" + String.join(",", manifests) + "]}");
  }

  private static String blob(Path dir, byte[] b) throws Exception {
    String hex = sha256(b);
    Files.write(dir.resolve("blobs/sha256/" + hex), b);
    return "sha256:" + hex;
  }

  public static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  /** One regular file in a POSIX ustar archive. */
  public static byte[] tar(String name, byte[] content) throws IOException {
    byte[] h = new byte[512];
    put(h, 0, name);
    put(h, 100, "0000644");
    put(h, 108, "0000000");
    put(h, 116, "0000000");
    put(h, 124, String.format("%011o", content.length));
    put(h, 136, String.format("%011o", 1_764_288_000L));
    Arrays.fill(h, 148, 156, (byte) ' ');
    h[156] = '0';
    put(h, 257, "ustar");
    put(h, 263, "00");
    int sum = 0;
    for (byte b : h) sum += b & 0xff;
    put(h, 148, String.format("%06o", sum));
    h[154] = 0;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(h);
    out.write(content);
    out.write(new byte[(512 - content.length % 512) % 512]);
    out.write(new byte[1024]);
    return out.toByteArray();
  }

  private static void put(byte[] h, int at, String s) {
    byte[] b = s.getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(b, 0, h, at, b.length);
  }
}
