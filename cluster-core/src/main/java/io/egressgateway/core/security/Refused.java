package io.egressgateway.core.security;

/** A message or view entry that failed verification or authorization; {@link #kind} labels the metric. */
public final class Refused extends Exception {
  private final String kind;
  private final Principal principal;

  public Refused(String kind, Principal principal, String reason) {
    super(reason);
    this.kind = kind;
    this.principal = principal;
  }

  public String kind() {
    return kind;
  }

  public Principal principal() {
    return principal;
  }
}
