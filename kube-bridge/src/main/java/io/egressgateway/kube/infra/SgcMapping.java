package io.egressgateway.kube.infra;

import io.egressgateway.core.model.Failures;
import io.egressgateway.kube.crd.DefaultRoute;
import io.egressgateway.kube.crd.GatewayNodeProfile;
import io.egressgateway.kube.crd.GatewayServerProfile;
import io.egressgateway.kube.crd.GatewayVmssProfile;
import io.egressgateway.kube.crd.PodCounts;
import io.egressgateway.kube.crd.StaticGatewayConfiguration;
import io.egressgateway.kube.crd.StaticGatewayConfigurationSpec;
import io.egressgateway.kube.crd.StaticGatewayConfigurationStatus;
import io.egressgateway.kube.model.GatewayNodeInfo;
import io.egressgateway.kube.model.ObservedSgc;
import io.egressgateway.kube.model.SgcSpec;
import io.egressgateway.kube.model.SgcStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.ObjectMeta;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.util.List;
import java.util.Optional;

/** Converts between the CRD classes and the controller's plain values. */
public final class SgcMapping {
  private SgcMapping() {}

  public static String key(StaticGatewayConfiguration sgc) {
    return sgc.getMetadata().getNamespace() + "/" + sgc.getMetadata().getName();
  }

  public static ObservedSgc observe(
      StaticGatewayConfiguration sgc, Optional<String> secretPublicKey, List<GatewayNodeInfo> nodes) {
    return observed(sgc.getMetadata(), spec(sgc.getSpec()), status(sgc.getStatus()), secretPublicKey, nodes);
  }

  /**
   * The snapshot of an SGC held as a generic object, mapped field by field as Kubernetes clients do: fields this
   * version does not know are ignored; a spec that cannot be mapped at all (a field of the wrong type) becomes
   * {@link SgcSpec#unreadable} with the reason, so only this object is rejected; a status that cannot be
   * mapped counts as empty (the controller writes it anew).
   */
  public static ObservedSgc observe(GenericKubernetesResource sgc, KubernetesSerialization serialization,
      Optional<String> secretPublicKey, List<GatewayNodeInfo> nodes) {
    Object rawSpec = sgc.getAdditionalProperties().get("spec");
    SgcSpec spec;
    try {
      spec = spec(rawSpec == null ? null : serialization.convertValue(rawSpec, StaticGatewayConfigurationSpec.class));
    } catch (RuntimeException e) {
      spec = SgcSpec.unreadable(mappingError(e));
    }
    return observed(sgc.getMetadata(), spec, status(sgc, serialization), secretPublicKey, nodes);
  }

  /** The status of a generic SGC, or the empty status when it cannot be mapped. */
  public static SgcStatus status(GenericKubernetesResource sgc, KubernetesSerialization serialization) {
    Object rawStatus = sgc.getAdditionalProperties().get("status");
    try {
      return status(rawStatus == null ? null : serialization.convertValue(rawStatus, StaticGatewayConfigurationStatus.class));
    } catch (RuntimeException e) {
      return SgcStatus.EMPTY;
    }
  }

  private static ObservedSgc observed(ObjectMeta meta, SgcSpec spec, SgcStatus status, Optional<String> secretPublicKey,
      List<GatewayNodeInfo> nodes) {
    return new ObservedSgc(
        meta.getNamespace() + "/" + meta.getName(),
        true,
        meta.getUid(),
        meta.getGeneration() == null ? 0 : meta.getGeneration(),
        meta.getDeletionTimestamp() != null,
        meta.getFinalizers() != null && meta.getFinalizers().contains(StaticGatewayConfiguration.FINALIZER),
        spec,
        status,
        secretPublicKey.orElse(""),
        nodes);
  }

  /** A one-line reason for the status: the innermost message, without the JSON parser's source dump. */
  static String mappingError(Throwable e) {
    Throwable t = Failures.root(e);
    String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
    m = m.lines().findFirst().orElse(m).replaceAll("\\s+\\(through reference chain.*$", "");
    return m.length() > 300 ? m.substring(0, 300) + "..." : m;
  }

  public static SgcSpec spec(StaticGatewayConfigurationSpec s) {
    if (s == null) {
      return new SgcSpec("", null, null, true, "", List.of());
    }
    GatewayVmssProfile p = s.getGatewayVmssProfile();
    SgcSpec.Vmss vmss = p == null ? null
        : new SgcSpec.Vmss(p.getVmssResourceGroup(), p.getVmssName(),
            p.getPublicIpPrefixSize() == null ? 0 : p.getPublicIpPrefixSize());
    DefaultRoute route = s.getDefaultRoute();
    return new SgcSpec(s.getGatewayNodepoolName(), vmss, route == null ? null : route.wireName(),
        s.isProvisionPublicIps(), s.getPublicIpPrefixId(), s.getExcludeCidrs());
  }

  public static SgcStatus status(StaticGatewayConfigurationStatus s) {
    if (s == null) {
      return SgcStatus.EMPTY;
    }
    GatewayServerProfile p = s.getGatewayServerProfile();
    var ref = p == null ? null : p.getPrivateKeySecretRef();
    List<SgcStatus.Condition> conds = s.getConditions() == null ? List.of()
        : s.getConditions().stream()
            .map(c -> new SgcStatus.Condition(c.getType(), c.getStatus(), c.getReason(), c.getMessage(),
                c.getObservedGeneration() == null ? 0 : c.getObservedGeneration(), c.getLastTransitionTime()))
            .toList();
    List<SgcStatus.NodeProfile> profiles = s.getGatewayProfiles() == null ? List.of()
        : s.getGatewayProfiles().stream()
            .map(g -> new SgcStatus.NodeProfile(g.getNodeName(), g.getPrimaryIP(), g.getSecondaryIP()))
            .toList();
    return new SgcStatus(
        s.getEgressIpPrefix(),
        p == null ? "" : p.getIp(),
        p == null || p.getPort() == null ? 0 : p.getPort(),
        p == null ? "" : p.getPublicKey(),
        ref == null ? "" : ref.getName(),
        ref == null ? "" : ref.getNamespace(),
        s.getObservedGeneration() == null ? 0 : s.getObservedGeneration(),
        conds,
        profiles,
        s.getPods() == null ? null : new SgcStatus.Pods(nz(s.getPods().getCurrent()), nz(s.getPods().getTotal())));
  }

  public static StaticGatewayConfigurationStatus toCrd(SgcStatus s) {
    StaticGatewayConfigurationStatus out = new StaticGatewayConfigurationStatus();
    out.setEgressIpPrefix(emptyToNull(s.egressIpPrefix()));
    GatewayServerProfile p = new GatewayServerProfile();
    p.setIp(emptyToNull(s.ilbIp()));
    p.setPort(s.port() == 0 ? null : s.port());
    p.setPublicKey(emptyToNull(s.publicKey()));
    if (!s.secretName().isEmpty()) {
      p.setPrivateKeySecretRef(new ObjectReferenceBuilder()
          .withApiVersion("v1").withKind("Secret").withName(s.secretName()).withNamespace(s.secretNamespace()).build());
    }
    out.setGatewayServerProfile(p);
    out.setObservedGeneration(s.observedGeneration());
    out.setConditions(s.conditions().stream().map(SgcMapping::toCrd).toList());
    out.setGatewayProfiles(s.gatewayProfiles().isEmpty() ? null
        : s.gatewayProfiles().stream()
            .map(g -> new GatewayNodeProfile(g.nodeName(), g.primaryIp(), g.secondaryIp()))
            .toList());
    out.setPods(s.pods() == null ? null : new PodCounts(s.pods().current(), s.pods().total()));
    return out;
  }

  private static int nz(Integer i) {
    return i == null ? 0 : i;
  }

  private static Condition toCrd(SgcStatus.Condition c) {
    return new ConditionBuilder()
        .withType(c.type())
        .withStatus(c.status())
        .withReason(c.reason())
        .withMessage(c.message())
        .withObservedGeneration(c.observedGeneration())
        .withLastTransitionTime(c.lastTransitionTime())
        .build();
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
