package dev.custody.tools;

import dev.custody.registry.Credentials;
import dev.custody.registry.ImageReference;
import dev.custody.registry.Platform;
import dev.custody.registry.RegistryClient;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import picocli.CommandLine.Option;

/**
 * How to reach registries: which hosts may be plain HTTP, which platform of a multi-platform image.
 */
final class RegistryOptions {
  @Option(
      names = "--insecure-registry",
      paramLabel = "HOST[:PORT]",
      description =
          "Talk plain HTTP to this registry "
              + "(repeatable). localhost and 127.0.0.1 always are; every other registry is HTTPS. Logins come from the Docker "
              + "config ($DOCKER_CONFIG or ~/.docker/config.json, credential helpers included)")
  List<String> insecure = new ArrayList<>();

  @Option(
      names = "--platform",
      defaultValue = "linux/amd64",
      description =
          "For a multi-platform image: which one "
              + "(os/arch[/variant]). Default: ${DEFAULT-VALUE}")
  String platform;

  @Option(
      names = "--docker-config",
      paramLabel = "DIR",
      description =
          "The folder of the Docker config.json to take "
              + "registry logins from. Default: $DOCKER_CONFIG, else ~/.docker")
  Path dockerConfig;

  private RegistryClient client;

  RegistryClient client() {
    return client(b -> {});
  }

  /** The client, with {@code more} applied to its builder (the first call decides). */
  RegistryClient client(Consumer<RegistryClient.Builder> more) {
    if (client == null) {
      RegistryClient.Builder b =
          RegistryClient.builder()
              .credentials(
                  dockerConfig != null
                      ? Credentials.dockerConfig(dockerConfig.resolve("config.json"))
                      : Credentials.dockerConfig());
      insecure.forEach(b::insecure);
      more.accept(b);
      client = b.build();
    }
    return client;
  }

  /**
   * The image {@code ref} names, pinned to its manifest digest, with its config read and checked.
   */
  RegistryClient.RemoteImage resolve(String ref) throws IOException {
    return client().image(ImageReference.parse(ref), Platform.parse(platform));
  }
}
