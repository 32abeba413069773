package io.egressgateway.gateway.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The model package imports only java.* (and itself): it stays pure and testable without a kernel or actors. */
class ModelPurityTest {
  @Test
  void modelImportsOnlyJava() throws Exception {
    Path dir = Path.of("src/main/java/io/egressgateway/gateway/model");
    List<String> offending;
    try (Stream<Path> files = Files.list(dir)) {
      offending = files.flatMap(f -> {
        try {
          return Files.readAllLines(f).stream().filter(l -> l.startsWith("import "))
              .filter(l -> !l.matches("import (static )?java\\..*"))
              .map(l -> f.getFileName() + ": " + l);
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).collect(Collectors.toList());
    }
    assertEquals(List.of(), offending);
  }
}
