package io.egressgateway.sandbox;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/** Prerequisites of privileged tests: skip on a laptop without them, fail under CI=true. */
final class Privileged {
  private Privileged() {}

  static void require(String... binaries) {
    List<String> missing = new ArrayList<>();
    if (!"root".equals(System.getProperty("user.name"))) {
      missing.add("root");
    }
    for (String b : binaries) {
      if (Sh.run(List.of("sh", "-c", "command -v " + b), null, 5).exitCode() != 0) {
        missing.add(b);
      }
    }
    if (!Files.exists(Path.of("/dev/net/tun"))) {
      missing.add("/dev/net/tun");
    }
    if (missing.isEmpty()) {
      return;
    }
    String msg = "privileged test prerequisites missing: " + missing;
    if ("true".equalsIgnoreCase(System.getenv("CI"))) {
      Assertions.fail(msg + " (CI=true: this is a failure, not a skip)");
    }
    Assumptions.abort(msg);
  }
}
