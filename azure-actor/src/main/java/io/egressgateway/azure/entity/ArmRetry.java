package io.egressgateway.azure.entity;

import io.egressgateway.azure.infra.AzureSettings;
import io.egressgateway.azure.model.ArmFailure;
import io.egressgateway.core.model.Failures;
import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * {@link GatewayPool}'s retry policy for failed ARM calls, in memory only: exponential backoff with jitter
 * (at least Retry-After), a bounded number of immediate re-reads after ETag conflicts, and how long ARM has been
 * failing transiently (past {@code transient-deadline} callers are told). A converged round resets it.
 */
final class ArmRetry {
  static final int MAX_CONFLICT_RETRIES = 5;

  private final AzureSettings settings;
  private int failures;
  private int conflicts;
  private long failingSince;

  ArmRetry(AzureSettings settings) {
    this.settings = settings;
  }

  void converged() {
    failures = 0;
    conflicts = 0;
    failingSince = 0;
  }

  /** One more conflict: whether to re-read at once (else after {@link #backoff()}). */
  boolean rereadNow() {
    conflicts++;
    return conflicts <= MAX_CONFLICT_RETRIES;
  }

  /** The delay before retrying a throttled or transient failure: the backoff, or Retry-After if longer. */
  Duration afterTransient(ArmFailure f) {
    Duration d = backoff();
    return f.retryAfter().compareTo(d) > 0 ? f.retryAfter() : d;
  }

  /** Records a transient failure now; true once ARM has been failing for longer than the transient deadline. */
  boolean pastTransientDeadline() {
    long now = System.nanoTime();
    if (failingSince == 0) {
      failingSince = now;
      return false;
    }
    return now - failingSince > settings.transientDeadline().toNanos();
  }

  /**
   * What the pool's callers are told about a throttled, transient or failed-operation failure (which is
   * retried after {@code retryIn}), or null while they need not be: a failed operation at once, so that a
   * configuration's condition says why it is not ready yet; the others once ARM has been failing for longer
   * than the transient deadline.
   */
  String callersToBeTold(ArmFailure f, String target, Duration retryIn) {
    if (pastTransientDeadline()) {
      return "Azure has been failing for over " + settings.transientDeadline() + ": " + f.getMessage();
    }
    return f.kind() == ArmFailure.Kind.OPERATION_FAILED
        ? "Azure's operation on " + target + " failed (" + f.getMessage() + "); retrying in " + retryIn.toMillis() + " ms" : null;
  }

  Duration backoff() {
    failures++;
    long min = settings.backoffMin().toMillis();
    long max = settings.backoffMax().toMillis();
    long d = Math.min(max, min << Math.min(20, failures - 1));
    return Duration.ofMillis(d / 2 + ThreadLocalRandom.current().nextLong(d / 2 + 1));
  }

  /** What a blocking call's future failed with, as an {@link ArmFailure} (anything unexpected is transient). */
  static ArmFailure failure(Throwable err) {
    if (err == null) {
      return null;
    }
    Throwable t = Failures.unwrap(err);
    return t instanceof ArmFailure f ? f : new ArmFailure(ArmFailure.Kind.TRANSIENT, t.getClass().getSimpleName(), String.valueOf(t.getMessage()), t);
  }
}
