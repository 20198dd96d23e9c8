package dev.custody.server.guard;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import javax.net.ssl.SSLException;

/**
 * TLS for both endpoints, from PEM files: the server's certificate chain and PKCS#8 private key,
 * and optionally the CA whose client certificates identify submitters.
 *
 * @param clientCa when present, clients may present a certificate signed by it (and Submit needs
 *     one)
 */
public record ServerTls(Path certChain, Path privateKey, Optional<Path> clientCa) {
  /**
   * For gRPC: client certificates are asked for but optional at the handshake, so that reads stay
   * open.
   */
  public ServerCredentials grpc() throws IOException {
    TlsServerCredentials.Builder b =
        TlsServerCredentials.newBuilder().keyManager(certChain.toFile(), privateKey.toFile());
    if (clientCa.isPresent()) {
      b.trustManager(clientCa.get().toFile()).clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL);
    }
    return b.build();
  }

  /** For the read-only HTTP tile server: server authentication only. */
  public SslContext http() throws SSLException {
    return SslContextBuilder.forServer(certChain.toFile(), privateKey.toFile())
        .clientAuth(ClientAuth.NONE)
        .build();
  }
}
