package dev.custody.server.explorer;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.custody.serving.HttpResponse;
import gg.jte.ContentType;
import gg.jte.TemplateEngine;
import gg.jte.output.Utf8ByteOutput;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.Map;

/**
 * A page's view as HTML from its precompiled, auto-escaping JTE template, or as JSON (Jackson),
 * with the headers every page carries. Thread-safe.
 */
final class Rendering {
  /**
   * Scripts only from this origin's own files, no inline script or style, no frames, no plugins,
   * forms only to this origin: a repository name holding markup can do nothing even if a template
   * ever failed to escape it.
   */
  static final String CSP =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
          + "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

  private static final ObjectMapper JSON = new ObjectMapper();
  private final TemplateEngine templates = TemplateEngine.createPrecompiled(ContentType.Html);

  HttpResponse html(int status, String template, Object view) {
    Utf8ByteOutput out = new Utf8ByteOutput();
    templates.render(template, view, out);
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(out.getContentLength());
    try {
      out.writeTo(bytes);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return new HttpResponse(
        status,
        "text/html; charset=utf-8",
        bytes.toByteArray(),
        Map.of(
            "Cache-Control",
            "no-cache",
            "Content-Security-Policy",
            CSP,
            "X-Content-Type-Options",
            "nosniff",
            "Referrer-Policy",
            "no-referrer"));
  }

  static HttpResponse json(int status, Object view) {
    try {
      return new HttpResponse(
          status,
          "application/json",
          JSON.writeValueAsBytes(view),
          Map.of("Cache-Control", "no-cache", "X-Content-Type-Options", "nosniff"));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] resource(String name) {
    try (InputStream in = Rendering.class.getResourceAsStream("/explorer/" + name)) {
      if (in == null)
        throw new IllegalStateException("explorer resource " + name + " is missing from the jar");
      return in.readAllBytes();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
