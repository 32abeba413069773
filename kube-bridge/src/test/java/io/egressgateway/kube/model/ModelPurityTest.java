package io.egressgateway.kube.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The model package stays pure: java.* plus the cluster's serialization marker, nothing else. */
class ModelPurityTest {
  @Test
  void modelImportsOnlyJavaAndTheSerializationMarker() throws IOException {
    try (Stream<Path> files = Files.walk(Path.of("src/main/java/io/egressgateway/kube/model"))) {
      List<String> bad = files.filter(f -> f.toString().endsWith(".java")).flatMap(f -> {
        try {
          return Files.readAllLines(f).stream().filter(l -> l.startsWith("import "))
              .filter(l -> !l.startsWith("import java.") && !l.equals("import io.egressgateway.core.CborSerializable;"))
              .map(l -> f.getFileName() + ": " + l);
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).toList();
      assertEquals(List.of(), bad);
    }
  }
}
