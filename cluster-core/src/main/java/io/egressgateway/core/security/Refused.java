package io.egressgateway.core.security;

/** A message or view entry that failed verification or authorization; {@link #kind} labels the metric. */
public class Refused extends Exception {
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

  /**
   * A message that cannot be checked yet because this member lacks what the check needs (its Node cache has not
   * listed the nodes): dropped, as a refused one is, but it says nothing about the sender, so it is not counted
   * as a refusal ({@code egress_unchecked_messages_total{kind}}). Typically the last messages for a gateway's
   * previous process, which reach its new one at the same address while it starts.
   */
  public static final class NotYet extends Refused {
    public NotYet(String kind, Principal principal, String reason) {
      super(kind, principal, reason);
    }
  }
}
