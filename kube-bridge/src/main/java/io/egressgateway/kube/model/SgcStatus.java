package io.egressgateway.kube.model;

import io.egressgateway.core.CborSerializable;
import java.util.List;
import java.util.Optional;

/**
 * The SGC status as a plain value: upstream fields plus conditions, observedGeneration, per-node profiles
 * and how many of the configuration's pods run its current generation. Compared as a whole to decide whether
 * a status write is needed.
 */
public record SgcStatus(
    String egressIpPrefix,
    String ilbIp,
    int port,
    String publicKey,
    String secretName,
    String secretNamespace,
    long observedGeneration,
    List<Condition> conditions,
    List<NodeProfile> gatewayProfiles,
    Pods pods)
    implements CborSerializable {

  public static final String ACCEPTED = "Accepted";
  public static final String READY = "Ready";
  /** Present only while prefix grants are enforced and the spec names a bring-your-own prefix. */
  public static final String PREFIX_GRANTED = "PrefixGranted";
  /** Whether every running pod of the configuration runs its current generation ({@link #pods}). */
  public static final String PODS_UP_TO_DATE = "PodsUpToDate";
  public static final SgcStatus EMPTY = new SgcStatus("", "", 0, "", "", "", 0, List.of(), List.of(), null);

  public SgcStatus {
    egressIpPrefix = nz(egressIpPrefix);
    ilbIp = nz(ilbIp);
    publicKey = nz(publicKey);
    secretName = nz(secretName);
    secretNamespace = nz(secretNamespace);
    conditions = conditions == null ? List.of() : List.copyOf(conditions);
    gatewayProfiles = gatewayProfiles == null ? List.of() : List.copyOf(gatewayProfiles);
  }

  /** Without a pod count (a status written before there was one). */
  public SgcStatus(String egressIpPrefix, String ilbIp, int port, String publicKey, String secretName,
      String secretNamespace, long observedGeneration, List<Condition> conditions, List<NodeProfile> gatewayProfiles) {
    this(egressIpPrefix, ilbIp, port, publicKey, secretName, secretNamespace, observedGeneration, conditions,
        gatewayProfiles, null);
  }

  /**
   * The configuration's running pods (those with an established tunnel, on nodes whose agent is up): {@code
   * total}, and {@code current} of them run the generation the status was computed from.
   */
  public record Pods(int current, int total) implements CborSerializable {
    public static final Pods NONE = new Pods(0, 0);

    public boolean upToDate() {
      return current >= total;
    }
  }

  /** A Kubernetes-style condition; {@code status} is "True", "False" or "Unknown". */
  public record Condition(
      String type, String status, String reason, String message, long observedGeneration, String lastTransitionTime)
      implements CborSerializable {
    public Condition {
      reason = nz(reason);
      message = nz(message);
      lastTransitionTime = nz(lastTransitionTime);
    }

    public boolean isTrue() {
      return "True".equals(status);
    }
  }

  public record NodeProfile(String nodeName, String primaryIp, String secondaryIp) implements CborSerializable {}

  public Optional<Condition> condition(String type) {
    return conditions.stream().filter(c -> c.type().equals(type)).findFirst();
  }

  public boolean isReady() {
    return condition(READY).map(Condition::isTrue).orElse(false);
  }

  private static String nz(String s) {
    return s == null ? "" : s;
  }
}
