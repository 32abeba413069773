package io.egressgateway.azure.model;

import java.time.Duration;

/** An ARM call that did not succeed, classified by what the caller should do about it. */
public final class ArmFailure extends RuntimeException {
  /**
   * CONFLICT: re-read and retry at once; THROTTLED/TRANSIENT: back off; OPERATION_FAILED (a long-running
   * operation ARM accepted ended Failed): report, and back off like TRANSIENT; REJECTED: report, do not retry soon.
   */
  public enum Kind { CONFLICT, THROTTLED, TRANSIENT, OPERATION_FAILED, REJECTED }

  private final Kind kind;
  private final String code;
  private final Duration retryAfter;

  public ArmFailure(Kind kind, String code, String message, Throwable cause) {
    this(kind, code, message, Duration.ZERO, cause);
  }

  public ArmFailure(Kind kind, String code, String message, Duration retryAfter, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.code = code;
    this.retryAfter = retryAfter;
  }

  /** What the service asked us to wait (Retry-After), zero when it did not say. */
  public Duration retryAfter() {
    return retryAfter;
  }

  public Kind kind() {
    return kind;
  }

  public String code() {
    return code;
  }
}
