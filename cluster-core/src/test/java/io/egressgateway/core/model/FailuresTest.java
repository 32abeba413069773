package io.egressgateway.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

class FailuresTest {
  @Test
  void unwrapTakesOffOnlyTheFuturesWrappers() {
    IOException io = new IOException("disk", new IllegalStateException("inner"));
    assertSame(io, Failures.unwrap(new CompletionException(new ExecutionException(io))));
    assertSame(io, Failures.unwrap(io));
    CompletionException bare = new CompletionException("no cause", null);
    assertSame(bare, Failures.unwrap(bare));
  }

  @Test
  void rootIsTheInnermostCause() {
    IllegalStateException inner = new IllegalStateException("inner");
    assertSame(inner, Failures.root(new CompletionException(new IOException("disk", inner))));
    assertSame(inner, Failures.root(inner));
  }

  @Test
  void messageFallsBackToTheClassName() {
    assertEquals("boom", Failures.message(new IOException("boom")));
    assertEquals("IOException", Failures.message(new IOException()));
  }
}
