package io.egressgateway.core.model;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * How the entities and adapters read a failure: a future's wrappers taken off ({@link #unwrap}), or the
 * innermost cause ({@link #root}), and a one-line message of either.
 */
public final class Failures {
  private Failures() {}

  /** {@code err} without the {@link CompletionException}s and {@link ExecutionException}s around it. */
  public static Throwable unwrap(Throwable err) {
    Throwable t = err;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** The innermost cause of {@code err} (itself when it has none). */
  public static Throwable root(Throwable err) {
    Throwable t = err;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t;
  }

  /** {@code t}'s message, or its simple class name when it has none. */
  public static String message(Throwable t) {
    return t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
  }
}
