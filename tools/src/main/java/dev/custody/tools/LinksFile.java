package dev.custody.tools;

import dev.custody.chain.LinkException;
import dev.custody.chain.SignedLink;
import dev.custody.note.Base64s;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Signed links as {@code custody sign} writes them: one base64 SignedLink a line, lowest layer
 * first.
 */
final class LinksFile {
  private LinksFile() {}

  static void write(Path file, List<SignedLink> links) throws IOException {
    StringBuilder b = new StringBuilder();
    for (SignedLink l : links) b.append(Base64s.encode(l.encoded())).append('\n');
    Files.writeString(file, b.toString(), StandardCharsets.UTF_8);
  }

  static List<SignedLink> read(Path file) throws IOException, LinkException {
    List<SignedLink> out = new ArrayList<>();
    int n = 0;
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      int lineNo = ++n;
      if (line.isBlank()) continue;
      byte[] b =
          Base64s.decodeStrict(line.strip())
              .orElseThrow(() -> new LinkException(file + " line " + lineNo + ": not base64"));
      try {
        out.add(SignedLink.parse(b));
      } catch (LinkException e) {
        throw new LinkException(file + " line " + n + ": " + e.getMessage());
      }
    }
    if (out.isEmpty()) throw new LinkException(file + " holds no links");
    return out;
  }
}
